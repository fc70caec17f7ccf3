"""Users and devices as coordinators manage them: creation with a one-time activation code, sign-in,
reissue, lost-phone revocation and deactivation that leaves no resident without a watcher."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import clock
from domain.enums import ConsentRecipient, Role
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user


async def _coordinator(db, client, *, volunteer: str | None = None):
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord", districts=[district])
        district_id = district.id
        volunteer_id = (await make_user(s, org, Role.VOLUNTEER, volunteer)).id if volunteer else None
    return await login(client, "coord"), district_id, volunteer_id


async def test_create_user_activate_and_sign_in(client, db) -> None:
    coord, district_id, _ = await _coordinator(db, client)
    created = await client.post(
        "/api/v1/users",
        json={
            "login": "tanaka",
            "display_name": "田中 一郎",
            "role": "commissioner",
            "district_ids": [district_id],
        },
        headers=coord,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    code = body["activation_code"]
    assert len(code.replace("-", "")) == 8 and body["activated"] is False
    assert body["district_ids"] == [district_id]

    # Before activation there is no password to sign in with.
    early = await client.post(
        "/api/v1/auth/login",
        json={"login": "tanaka", "password": "x" * 10, "device": {"id": "p", "platform": "ios"}},
    )
    assert early.status_code == 401

    activated = await client.post(
        "/api/v1/auth/activate", json={"login": "tanaka", "code": code.lower(), "password": "yama-kawa-2026"}
    )
    assert activated.status_code == 204, activated.text
    headers = await login(client, "tanaka", "yama-kawa-2026")
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["role"] == "commissioner" and me["district_ids"] == [district_id]

    # Single use: the same code does not work twice.
    again = await client.post(
        "/api/v1/auth/activate", json={"login": "tanaka", "code": code, "password": "another-password"}
    )
    assert again.status_code == 400
    listed = (await client.get("/api/v1/users", params={"role": "commissioner"}, headers=coord)).json()
    assert [u["login"] for u in listed["items"]] == ["tanaka"] and listed["items"][0]["activated"] is True

    async def logins(**params):
        page = (await client.get("/api/v1/users", params=params, headers=coord)).json()
        return sorted(u["login"] for u in page["items"])

    assert await logins(q="田中") == ["tanaka"]
    assert await logins(q="TANA") == ["tanaka"]
    assert await logins(district_id=district_id) == ["coord", "tanaka"]
    assert await logins(q="nobody") == []


async def test_reissued_code_replaces_the_old_one_and_codes_expire(client, db) -> None:
    coord, _, _ = await _coordinator(db, client)
    user = (
        await client.post(
            "/api/v1/users",
            json={"login": "suzuki", "display_name": "鈴木", "role": "volunteer"},
            headers=coord,
        )
    ).json()
    first = user["activation_code"]
    reissued = await client.post(f"/api/v1/users/{user['id']}/activation-code", headers=coord)
    assert reissued.status_code == 201
    second = reissued.json()["activation_code"]
    old = await client.post(
        "/api/v1/auth/activate", json={"login": "suzuki", "code": first, "password": "haru-no-ogawa-sarasara"}
    )
    assert old.status_code == 400

    clock.advance(timedelta(hours=73))  # the code lives 72 hours
    late = await client.post(
        "/api/v1/auth/activate",
        json={"login": "suzuki", "code": second, "password": "haru-no-ogawa-sarasara"},
    )
    assert late.status_code == 400
    assert "期限切れ" in late.json()["title"]


async def test_user_input_errors_name_the_field(client, db) -> None:
    coord, _, _ = await _coordinator(db, client)
    duplicate = await client.post(
        "/api/v1/users", json={"login": "coord", "display_name": "重複", "role": "volunteer"}, headers=coord
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "login"
    unknown = await client.post(
        "/api/v1/users",
        json={"login": "new-one", "display_name": "新人", "role": "volunteer", "district_ids": ["nope"]},
        headers={**coord, "Accept-Language": "en"},
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "district_ids"
    assert "Not a district" in unknown.json()["errors"][0]["message"]
    bad_role = await client.post(
        "/api/v1/users", json={"login": "new-two", "display_name": "x", "role": "admin"}, headers=coord
    )
    assert bad_role.status_code == 400 and "role" in bad_role.json()["errors"][0]["field"]


async def test_revoked_device_is_cut_off_and_told_to_wipe(client, db) -> None:
    coord, _, volunteer_id = await _coordinator(db, client, volunteer="vol")
    phone = await login(client, "vol", device_id="lost-phone")
    refresh = (
        await client.post(
            "/api/v1/auth/login",
            json={
                "login": "vol",
                "password": "correct-horse-battery",
                "device": {"id": "lost-phone", "platform": "android"},
            },
        )
    ).json()["refresh_token"]
    assert (await client.get("/api/v1/me", headers=phone)).status_code == 200

    devices = (await client.get(f"/api/v1/users/{volunteer_id}/devices", headers=coord)).json()
    assert [d["client_id"] for d in devices] == ["lost-phone"] and devices[0]["revoked_at"] is None
    revoked = await client.post(
        f"/api/v1/users/{volunteer_id}/devices/{devices[0]['id']}/revoke", headers=coord
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None and revoked.json()["refresh_tokens_revoked"] >= 1

    cut_off = await client.get("/api/v1/me", headers={**phone, "Accept-Language": "en"})
    assert cut_off.status_code == 401
    assert cut_off.json()["wipe"] is True and cut_off.json()["action"] == "wipe_local_data"
    # a phone whose access token has expired only refreshes: it must be told to wipe there too
    refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert refused.status_code == 401 and refused.json()["wipe"] is True, refused.text
    after = (await client.get(f"/api/v1/users/{volunteer_id}/devices", headers=coord)).json()
    assert after[0]["revoked_at"] is not None and after[0]["revoked_by"] is not None


async def test_deactivation_needs_a_hand_over_first_and_wipes_the_phone(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        leaving = await make_user(s, org, Role.COMMISSIONER, "leaving", districts=[district])
        incoming = await make_user(s, org, Role.COMMISSIONER, "incoming", districts=[district])
        resident = await make_resident(s, org, district)
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await assign(s, resident, leaving)
        leaving_id, incoming_id = leaving.id, incoming.id
    coord = await login(client, "coord")
    phone = await login(client, "leaving", device_id="old-phone")

    refused = await client.patch(f"/api/v1/users/{leaving_id}", json={"active": False}, headers=coord)
    assert refused.status_code == 409
    assert refused.json()["current_assignments"] == 1 and "引き継いで" in refused.json()["title"]
    assert (await client.get("/api/v1/me", headers=phone)).status_code == 200  # nothing happened

    handed = await client.post(
        "/api/v1/assignments/hand-over",
        json={"from_user_id": leaving_id, "to_user_id": incoming_id, "reason": "任期満了"},
        headers=coord,
    )
    assert handed.status_code == 200
    done = await client.patch(f"/api/v1/users/{leaving_id}", json={"active": False}, headers=coord)
    assert done.status_code == 200, done.text
    assert done.json()["active"] is False and done.json()["devices_revoked"] == 1
    gone = await client.get("/api/v1/me", headers=phone)
    assert gone.status_code == 401 and gone.json()["wipe"] is True
    inactive = (await client.get("/api/v1/users", params={"active": "false"}, headers=coord)).json()
    assert [u["id"] for u in inactive["items"]] == [leaving_id]


async def test_districts_with_counts_for_coordinators_only(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east])
        await make_resident(s, org, east)
        await make_resident(s, org, east, status="ended")
    coord = await login(client, "coord")
    rows = {d["name"]: d for d in (await client.get("/api/v1/districts", headers=coord)).json()}
    assert rows["東地区"]["residents"] == 1 and rows["東地区"]["watchers"] == 1
    assert rows["西地区"]["residents"] == 0
    comm = await login(client, "comm")
    plain = (await client.get("/api/v1/districts", headers=comm)).json()
    assert {d["name"] for d in plain} == {"東地区", "西地区"} and all(d["residents"] is None for d in plain)

    taken = await client.post("/api/v1/districts", json={"name": "東地区"}, headers=coord)
    assert taken.status_code == 409
    renamed = await client.patch(
        f"/api/v1/districts/{rows['西地区']['id']}", json={"name": "西部地区"}, headers=coord
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "西部地区"
