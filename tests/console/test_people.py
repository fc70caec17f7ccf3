"""People and phones (/console/people): the API's user and device services under the cookie session
— coordinators only, their organisation only, the same audit events; CSRF on every change."""

from __future__ import annotations

from sqlalchemy import func, select

from api.auth import throttle
from domain.models import AuditEvent, Device, User
from domain.settings import get_settings
from tests.console.conftest import csrf_from, sign_in
from tests.factories import login

PEOPLE = "/console/people"


async def _device(db, user_id: str) -> Device:
    async with db() as session:
        return (await session.scalars(select(Device).where(Device.user_id == user_id))).one()


async def test_coordinator_sees_own_people_and_phones_never_another_organisations(client, world):
    await sign_in(client, "coord")
    page = await client.get(PEOPLE)
    assert page.status_code == 200
    text = page.text
    assert "利用者（3人）" in text  # coordinator, commissioner, volunteer: nobody from elsewhere
    assert "奉仕 次郎" in text and "調整 花子" in text and "outsider" not in text
    assert "android" in text and "最終同期: 2026/11/27 07:00" in text  # Tokyo time
    assert 'href="/console/people" aria-current="page"' in text


async def test_create_a_user_shows_the_code_once_and_is_audited(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PEOPLE)
    form = {
        "_csrf": token,
        "display_name": "新人 三郎",
        "login": "newbie",
        "role": "volunteer",
        "locale": "ja",
        "district_ids": [world.resident.district_id],
    }
    created = await client.post(PEOPLE, data=form)
    assert created.status_code == 200, created.text
    assert "新人 三郎 さんを追加しました。利用開始コード:" in created.text
    async with db() as session:
        user = (await session.scalars(select(User).where(User.login == "newbie"))).one()
        assert user.org_id == world.org.id and user.activation_code_hash is not None
        event = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.entity_id == user.id)
            )
        ).one()
        assert event.actor_id == world.coordinator.id
    code = created.text.split('id="activation-code">', 1)[1].split("<", 1)[0]
    assert code and code not in (await client.get(PEOPLE)).text  # shown once, never again

    again = await client.post(PEOPLE, data=form)  # pressed twice: the login is taken now
    assert again.status_code == 409
    assert "このログインIDは使えません" in again.text and 'value="newbie"' in again.text
    bad = await client.post(PEOPLE, data={**form, "login": "x"})
    assert bad.status_code == 400 and "ログインID" in bad.text
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(User).where(User.login == "newbie")) == 1


async def test_reissue_a_code_unlock_a_slowed_person_and_deactivate(client, world, db):
    settings = get_settings()
    async with db() as session:
        for _ in range(settings.login_max_failures + 1):
            await throttle.record_failure(session, settings, throttle.keys_for("comm", "192.0.2.9"))
    await sign_in(client, "coord")
    page = (await client.get(PEOPLE)).text
    assert page.count("ログイン失敗が続いたため制限中") == 1
    token = await csrf_from(client, PEOPLE)
    unlocked = await client.post(f"{PEOPLE}/{world.commissioner.id}/unlock", data={"_csrf": token})
    assert unlocked.status_code == 200 and "comm さんのログイン制限を解除しました。" in unlocked.text
    assert "制限中" not in unlocked.text
    twice = await client.post(f"{PEOPLE}/{world.commissioner.id}/unlock", data={"_csrf": token})
    assert "制限されていません" in twice.text  # harmless, and says so
    async with db() as session:
        assert await throttle.slowed(session, settings, ["comm"]) == set()

    reissued = await client.post(f"{PEOPLE}/{world.volunteer.id}/activation-code", data={"_csrf": token})
    assert reissued.status_code == 200 and "奉仕 次郎 さんの新しい利用開始コード:" in reissued.text

    refused = await client.post(f"{PEOPLE}/{world.volunteer.id}/deactivate", data={"_csrf": token})
    assert refused.status_code == 409 and "現在1件の担当があります" in refused.text
    done = await client.post(f"{PEOPLE}/{world.commissioner.id}/deactivate", data={"_csrf": token})
    assert done.status_code == 200 and "comm さんを無効にしました。" in done.text
    async with db() as session:
        assert (await session.get_one(User, world.commissioner.id)).active is False
        assert (await session.get_one(User, world.volunteer.id)).active is True
        actions = set(
            (await session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "user"))).all()
        )
    assert {"unlock", "reissue_activation_code", "update"} <= actions


async def test_a_revoked_phone_gets_401_from_the_sync_api(client, world, db):
    phone = await login(client, "vol", device_id="phone-1")
    assert (await client.get("/api/v1/sync/pull", headers=phone)).status_code == 200
    device = await _device(db, world.volunteer.id)
    await sign_in(client, "coord")
    token = await csrf_from(client, PEOPLE)
    path = f"{PEOPLE}/{world.volunteer.id}/devices/{device.id}/revoke"
    revoked = await client.post(path, data={"_csrf": token})
    assert revoked.status_code == 200 and "奉仕 次郎 さんの端末を停止しました。" in revoked.text
    assert (await client.post(path, data={"_csrf": token})).status_code == 200  # twice: no harm
    cut_off = await client.get("/api/v1/sync/pull", headers=phone)
    assert cut_off.status_code == 401 and cut_off.json()["wipe"] is True
    assert (await _device(db, world.volunteer.id)).revoked_by == world.coordinator.id


async def test_without_the_csrf_token_nothing_changes(client, world, db):
    device = await _device(db, world.volunteer.id)
    await sign_in(client, "coord")
    attempts = [
        (PEOPLE, {"display_name": "x", "login": "sneaky", "role": "coordinator"}),
        (f"{PEOPLE}/{world.commissioner.id}/deactivate", {}),
        (f"{PEOPLE}/{world.volunteer.id}/devices/{device.id}/revoke", {}),
        (f"{PEOPLE}/{world.volunteer.id}/activation-code", {}),
    ]
    for path, data in attempts:
        response = await client.post(path, data={**data, "_csrf": "forged"})
        assert response.status_code == 403, path
    async with db() as session:
        assert await session.scalar(select(User.id).where(User.login == "sneaky")) is None
        assert (await session.get_one(User, world.commissioner.id)).active is True
        assert (await session.get_one(User, world.volunteer.id)).activation_code_hash is None
    assert (await _device(db, world.volunteer.id)).revoked_at is None


async def test_a_commissioner_is_refused_as_the_api_refuses_and_a_volunteer_sent_away(client, world, db):
    await sign_in(client, "comm")
    refused = await client.get(PEOPLE)
    assert refused.status_code == 403 and "奉仕 次郎" not in refused.text
    token = await csrf_from(client, "/console")
    unlock = await client.post(f"{PEOPLE}/{world.volunteer.id}/unlock", data={"_csrf": token})
    assert unlock.status_code == 403
    assert "/console/people" not in (await client.get("/console")).text  # no menu entry either
    async with db() as session:
        assert await session.scalar(select(AuditEvent.id).where(AuditEvent.action == "unlock")) is None

    await client.post("/console/sign-out", data={"_csrf": token})
    await sign_in(client, "vol")
    away = await client.get(PEOPLE, follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/console"


async def test_another_organisations_user_is_not_found(client, world, db):
    async with db() as session:
        outsider = (await session.scalars(select(User).where(User.login == "outsider"))).one()
    await sign_in(client, "coord")
    token = await csrf_from(client, PEOPLE)
    for action in ("unlock", "deactivate", "activation-code"):
        response = await client.post(f"{PEOPLE}/{outsider.id}/{action}", data={"_csrf": token})
        assert response.status_code == 404, action
        assert "outsider" not in response.text
    async with db() as session:
        assert (await session.get_one(User, outsider.id)).active is True


async def test_in_english_when_the_coordinators_setting_is_english(client, world, db):
    async with db() as session:
        (await session.get_one(User, world.coordinator.id)).locale = "en"
    await sign_in(client, "coord")
    page = (await client.get(PEOPLE)).text
    assert '<html lang="en">' in page and "People (3)" in page and "last synced: 27 Nov 2026 07:00" in page
    for path, heading in (("/console/quarantine", "Held records (0)"), ("/console/audit", "Audit log")):
        assert heading in (await client.get(path)).text, path


async def test_a_user_with_no_district_ticked_is_created_not_a_server_error(client, world, db):
    """A coordinator needs no district: the form without any district box ticked sends no
    `district_ids` at all."""
    await sign_in(client, "coord")
    token = await csrf_from(client, PEOPLE)
    form = {"_csrf": token, "display_name": "本部 四郎", "login": "office4", "role": "coordinator"}
    created = await client.post(PEOPLE, data=form)
    assert created.status_code == 200, created.text
    assert "本部 四郎 さんを追加しました" in created.text
    refused = await client.post(PEOPLE, data={**form, "login": "office5", "role": "superuser"})
    assert refused.status_code == 400 and "本部 四郎" in refused.text


async def test_a_district_that_cannot_be_an_id_is_named_not_sent_to_the_database(client, world, db):
    """A NUL in a district id reached PostgreSQL (its refusal answered as the API's problem+json)."""
    await sign_in(client, "coord")
    token = await csrf_from(client, PEOPLE)
    form = {
        "_csrf": token,
        "display_name": "新人",
        "login": "nulid",
        "role": "volunteer",
        "district_ids": "a\x00b",
    }
    refused = await client.post(PEOPLE, data=form)
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(User).where(User.login == "nulid")) == 0
