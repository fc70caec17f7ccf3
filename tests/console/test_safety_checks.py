"""The safety-checks page (安否確認): a coordinator starts a check for chosen districts (twice
pressed: one check), progress per district (done / remaining) comes as a fragment the page polls,
closing keeps the final tally; commissioners follow their districts and may not start or close;
volunteers are refused; another organisation sees nothing; a post without the CSRF token changes
nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from domain.enums import VisitStatus
from domain.models import AuditEvent, SafetyCheckCampaign, Visit
from tests.console.conftest import csrf_from, sign_in
from tests.factories import login

PAGE = "/console/safety-checks"
KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


async def _start(client, token: str, district_ids: list[str], key: str = KEY, title: str = "地震") -> object:
    return await client.post(
        PAGE,
        data={"_csrf": token, "key": key, "title": title, "district_ids": district_ids, "hours": ""},
        follow_redirects=False,
    )


async def _campaigns(db) -> list[SafetyCheckCampaign]:
    async with db() as session:
        return list((await session.scalars(select(SafetyCheckCampaign))).all())


def progress_cells(fragment: str) -> list[str]:
    return re.findall(r'data-figure="(?:done|remaining)">([^<]*)<', fragment)


async def test_coordinator_starts_once_follows_and_closes(client, world, db):
    await sign_in(client, "coord")
    page = (await client.get(PAGE)).text
    assert 'href="/console/safety-checks" aria-current="page"' in page
    assert "実施中の安否確認はありません。" in page and 'name="key"' in page
    token = await csrf_from(client, PAGE)
    both = [world.resident.district_id, world.other_resident.district_id]
    first = await _start(client, token, both)
    assert first.status_code == 303, first.text
    again = await _start(client, token, both)  # pressed twice: the same form, the same check
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    [campaign] = await _campaigns(db)
    assert campaign.title == "地震" and sorted(campaign.district_ids) == sorted(both)
    assert first.headers["location"] == f"{PAGE}?done=started#check-{campaign.id}"

    page = (await client.get(first.headers["location"])).text
    assert "安否確認を始めました。" in page and "実施中の安否確認（1件）" in page
    assert f'hx-get="/console/safety-checks/{campaign.id}/progress"' in page
    fragment = (await client.get(f"{PAGE}/{campaign.id}/progress")).text
    assert "<html" not in fragment and progress_cells(fragment) == ["0人", "1人", "0人", "1人"]

    # The office phones 山田 花子 (through the API): her district's progress moves.
    api = await login(client, "coord")
    note = await client.post(
        f"/api/v1/residents/{world.resident.id}/contact-notes",
        json={"method": "phone", "outcome": "met_well"},
        headers=api,
    )
    assert note.status_code == 201, note.text
    fragment = (await client.get(f"{PAGE}/{campaign.id}/progress")).text
    assert progress_cells(fragment) == ["1人", "0人", "0人", "1人"]

    token = await csrf_from(client, PAGE)
    for _ in range(2):  # closing twice keeps the first close
        closed = await client.post(
            f"{PAGE}/{campaign.id}/close", data={"_csrf": token}, follow_redirects=False
        )
        assert closed.status_code == 303
    page = (await client.get(closed.headers["location"])).text
    assert "安否確認を締め切りました。" in page and "終了した安否確認（1件）" in page
    assert "最終集計：無事 1人、要支援 0人、連絡つかず 0人、未確認 1人" in page
    assert "hx-trigger" not in page  # nothing left to poll
    stopped = await client.get(f"{PAGE}/{campaign.id}/progress")  # a page still polling stops
    assert stopped.status_code == 286 and progress_cells(stopped.text) == ["1人", "0人", "0人", "1人"]
    async with db() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.entity == "safety_check"))).all()
        open_visits = await session.scalar(
            select(func.count()).where(Visit.campaign_id == campaign.id, Visit.status == VisitStatus.PLANNED)
        )
    assert [e.action for e in events].count("create") == 1 and [e.action for e in events].count("close") == 2
    assert open_visits == 0


async def test_without_the_csrf_token_nothing_changes(client, world, db):
    await sign_in(client, "coord")
    refused = await _start(client, "0" * 40, [world.resident.district_id])
    assert refused.status_code == 403 and await _campaigns(db) == []
    token = await csrf_from(client, PAGE)
    await _start(client, token, [world.resident.district_id])
    [campaign] = await _campaigns(db)
    no_token = await client.post(f"{PAGE}/{campaign.id}/close", data={}, follow_redirects=False)
    assert no_token.status_code == 403
    [campaign] = await _campaigns(db)
    assert campaign.closed_at is None


async def test_bad_forms_are_named_and_start_nothing(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PAGE)
    no_district = await _start(client, token, [])
    assert no_district.status_code == 400 and "district_ids" in no_district.text
    no_title = await _start(client, token, [world.resident.district_id], title="  ")
    assert no_title.status_code == 400 and "title" in no_title.text
    bad_key = await _start(client, token, [world.resident.district_id], key="short")
    assert bad_key.status_code == 400 and "key" in bad_key.text
    unknown = await _start(client, token, ["nosuchdistrict"])
    assert unknown.status_code == 400
    # A NUL reached PostgreSQL (its refusal answered as the API's problem+json) and SQLite stored it.
    nul_title = await _start(client, token, [world.resident.district_id], title="地\x00震")
    assert nul_title.status_code == 400 and "title" in nul_title.text
    assert nul_title.headers["content-type"].startswith("text/html")
    nul_district = await _start(client, token, [world.resident.district_id + "\x00"])
    assert nul_district.status_code == 400 and "district_ids" in nul_district.text
    assert nul_district.headers["content-type"].startswith("text/html")
    assert await _campaigns(db) == []


async def test_commissioner_follows_their_district_and_may_not_start_or_close(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PAGE)
    await _start(client, token, [world.other_resident.district_id], key=KEY, title="北の確認")
    await _start(client, token, [world.resident.district_id], key=KEY[::-1], title="中央の確認")
    campaigns = {c.title: c for c in await _campaigns(db)}
    await client.post("/console/sign-out", data={"_csrf": await csrf_from(client, PAGE)})

    await sign_in(client, "comm")
    page = (await client.get(PAGE)).text
    assert "中央の確認" in page and "北の確認" not in page  # only checks covering their district
    assert 'name="key"' not in page and "/close" not in page  # nothing to start or close
    assert "Coordinators start and close safety checks." in page
    theirs = await client.get(f"{PAGE}/{campaigns['中央の確認'].id}/progress")
    assert theirs.status_code == 200 and progress_cells(theirs.text) == ["0", "1"]
    other = await client.get(f"{PAGE}/{campaigns['北の確認'].id}/progress")
    assert other.status_code == 404
    token = await csrf_from(client, PAGE)
    assert (await _start(client, token, [world.resident.district_id], key="f" * 32)).status_code == 403
    close = await client.post(
        f"{PAGE}/{campaigns['中央の確認'].id}/close", data={"_csrf": token}, follow_redirects=False
    )
    assert close.status_code == 403
    assert len(await _campaigns(db)) == 2 and all(c.closed_at is None for c in await _campaigns(db))


async def test_volunteer_and_another_organisation_are_refused(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PAGE)
    await _start(client, token, [world.resident.district_id])
    [campaign] = await _campaigns(db)
    await client.post("/console/sign-out", data={"_csrf": token})

    await sign_in(client, "vol")
    assert (await client.get(PAGE, follow_redirects=False)).status_code == 303
    assert (await client.get(f"{PAGE}/{campaign.id}/progress")).status_code == 403
    token = await csrf_from(client, "/console")
    assert (await _start(client, token, [world.resident.district_id], key="e" * 32)).status_code == 403
    await client.post("/console/sign-out", data={"_csrf": token})

    await sign_in(client, "outsider")
    page = (await client.get(PAGE)).text
    assert campaign.id not in page and "実施中の安否確認はありません。" in page
    assert world.resident.district_id not in page
    assert (await client.get(f"{PAGE}/{campaign.id}/progress")).status_code == 404
    token = await csrf_from(client, PAGE)
    close = await client.post(f"{PAGE}/{campaign.id}/close", data={"_csrf": token}, follow_redirects=False)
    assert close.status_code == 404
    assert (await _start(client, token, [world.resident.district_id], key="d" * 32)).status_code == 400
    [campaign] = await _campaigns(db)
    assert campaign.closed_at is None


async def test_a_resident_ended_during_a_check_is_not_left_to_reach(client, db, world):
    """Ending a resident cancels their check visit: nobody is left to call, on the console (残り)
    as in the API's per-district figures; before, both still counted them as not reached."""
    coord = await login(client, "coord")
    started = await client.post(
        "/api/v1/safety-checks",
        json={"title": "台風", "district_ids": [world.resident.district_id]},
        headers=coord,
    )
    assert started.status_code == 201, started.text
    campaign = started.json()["id"]
    ended = await client.post(
        f"/api/v1/residents/{world.resident.id}/status",
        json={"status": "ended", "reason": "転居"},
        headers=coord,
    )
    assert ended.status_code == 200, ended.text
    progress = (await client.get(f"/api/v1/safety-checks/{campaign}", headers=coord)).json()["progress"]
    in_district = progress["by_district"][world.resident.district_id]
    assert progress["not_reached"] == 0 and in_district.get("not_reached", 0) == 0
    assert in_district["cancelled"] == 1
    await sign_in(client, "coord")
    page = (await client.get("/console/safety-checks")).text
    assert re.findall(r'data-figure="remaining">([^<]*)<', page) == ["0人"]
