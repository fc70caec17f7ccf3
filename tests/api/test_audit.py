"""Audit events: reads and changes of a resident's personal data, who/what/when/which device, and
never the values themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.clock import clock
from domain.enums import ConsentRecipient, Role
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

SECRET_VALUES = ("佐藤 ハナ", "サトウ", "東町9-9-9", "090-1111-2222", "長男", "認知症の疑い")


async def test_reads_and_changes_leave_events_without_personal_data(client, db) -> None:
    clock.set(datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        coord_user = await make_user(s, org, Role.COORDINATOR, "coord")
        vol_user = await make_user(s, org, Role.VOLUNTEER, "vol")
        other = await make_org(s, "よそ市")
        await make_user(s, other, Role.COORDINATOR, "coord-other")
        ids = {"org": org.id, "district": district.id, "coord": coord_user.id, "vol": vol_user.id}
    coord = await login(client, "coord", device_id="office-pc")
    created = await client.post(
        "/api/v1/residents",
        json={
            "name": SECRET_VALUES[0],
            "kana": SECRET_VALUES[1],
            "address": SECRET_VALUES[2],
            "district_id": ids["district"],
            "support_needs": SECRET_VALUES[5],
            "emergency_contacts": [
                {"name": "佐藤 一郎", "relation": SECRET_VALUES[4], "phone": SECRET_VALUES[3]}
            ],
        },
        headers=coord,
    )
    rid = created.json()["id"]
    clock.advance(timedelta(minutes=5))
    await client.patch(f"/api/v1/residents/{rid}", json={"support_needs": "通院支援"}, headers=coord)
    await client.put(f"/api/v1/residents/{rid}/consents/volunteers", json={"status": "given"}, headers=coord)
    await client.post(f"/api/v1/residents/{rid}/assignments", json={"user_id": ids["vol"]}, headers=coord)
    clock.advance(timedelta(minutes=5))
    volunteer = await login(client, "vol", device_id="vol-phone")
    assert (await client.get(f"/api/v1/residents/{rid}", headers=volunteer)).status_code == 200
    listed = await client.get("/api/v1/residents", headers=volunteer)
    assert listed.json()["total"] == 1

    response = await client.get("/api/v1/audit", params={"entity_id": rid, "page_size": 100}, headers=coord)
    assert response.status_code == 200, response.text
    for value in (*SECRET_VALUES, "通院支援"):
        assert value not in response.text
    events = response.json()["items"]
    summary = {(e["action"], e["entity"]) for e in events}
    assert {
        ("create", "resident"),
        ("update", "resident"),
        ("update", "emergency_contact"),
        ("read", "resident"),
    } <= summary
    update = next(e for e in events if e["action"] == "update" and e["entity"] == "resident")
    assert update["detail"]["fields"] == ["support_needs"] and update["actor_id"] == ids["coord"]
    read = next(e for e in events if e["action"] == "read")
    assert read["actor_id"] == ids["vol"] and read["device_id"] is not None
    assert "birth_year" not in read["detail"]["fields"] and "name" in read["detail"]["fields"]

    # A list read is one event carrying the ids it returned.
    lists = (
        await client.get(
            "/api/v1/audit", params={"actor_id": ids["vol"], "entity": "resident"}, headers=coord
        )
    ).json()["items"]
    listing = [e for e in lists if e["action"] == "list"]
    assert len(listing) == 1 and listing[0]["detail"]["resident_ids"] == [rid]

    consent = (await client.get("/api/v1/audit", params={"entity": "consent"}, headers=coord)).json()["items"]
    assert consent[0]["action"] == "create" and "status" in consent[0]["detail"]["fields"]
    assignment = (await client.get("/api/v1/audit", params={"entity": "assignment"}, headers=coord)).json()
    assert assignment["total"] == 1

    # Date range: only the first minutes hold the creation.
    first_hour = (
        await client.get(
            "/api/v1/audit",
            params={"since": "2026-11-01T00:00:00Z", "until": "2026-11-01T00:04:00Z", "entity": "resident"},
            headers=coord,
        )
    ).json()
    assert [(e["action"], e["entity_id"]) for e in first_hour["items"]] == [("create", rid)]
    reversed_range = await client.get(
        "/api/v1/audit",
        params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=coord,
    )
    assert reversed_range.status_code == 400 and reversed_range.json()["errors"][0]["field"] == "until"
    naive = await client.get("/api/v1/audit", params={"since": "2026-11-01T09:00:00"}, headers=coord)
    assert naive.status_code == 400 and naive.json()["errors"][0]["field"] == "since"
    tokyo = await client.get(
        "/api/v1/audit", params={"until": "2026-11-01T09:04:00+09:00", "entity": "resident"}, headers=coord
    )
    assert [e["action"] for e in tokyo.json()["items"]] == ["create"]

    # Newest first, paginated; another organisation's coordinator sees none of it.
    page = (await client.get("/api/v1/audit", params={"page_size": 2}, headers=coord)).json()
    assert len(page["items"]) == 2 and page["total"] > 2 and page["items"][0]["at"] >= page["items"][1]["at"]
    elsewhere = await login(client, "coord-other")
    theirs = (await client.get("/api/v1/audit", headers=elsewhere)).json()["items"]
    assert [(e["action"], e["entity"]) for e in theirs] == [("sign_in", "user")]  # only their own sign-in
    assert (await client.get("/api/v1/audit", headers=volunteer)).status_code == 403


async def test_withdrawal_and_hand_over_are_audited(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        a = await make_user(s, org, Role.VOLUNTEER, "a")
        b = await make_user(s, org, Role.VOLUNTEER, "b")
        r = await make_resident(s, org, district)
        await give_consent(s, r, ConsentRecipient.VOLUNTEERS)
        await assign(s, r, a)
        rid, a_id, b_id = r.id, a.id, b.id
    coord = await login(client, "coord")
    await client.post(f"/api/v1/residents/{rid}/consents/volunteers/withdraw", headers=coord)
    await client.post(
        "/api/v1/assignments/hand-over",
        json={"from_user_id": a_id, "to_user_id": b_id, "reason": "交代"},
        headers=coord,
    )
    events = (await client.get("/api/v1/audit", headers=coord)).json()["items"]
    withdraw = next(e for e in events if e["action"] == "withdraw")
    assert withdraw["entity"] == "consent" and withdraw["detail"]["resident_id"] == rid
    hand_over = next(e for e in events if e["action"] == "hand_over")
    assert hand_over["detail"]["resident_ids"] == [rid]
    assert (hand_over["detail"]["from_user_id"], hand_over["detail"]["to_user_id"]) == (a_id, b_id)


async def test_entity_names_are_one_vocabulary_and_actors_are_named(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        coordinator = await make_user(session, org, Role.COORDINATOR, "coord")
    coord = await login(client, "coord")
    created = await client.post("/api/v1/districts", json={"name": "南地区"}, headers=coord)
    assert created.status_code == 201
    unknown = await client.get("/api/v1/audit", params={"entity": "plna"}, headers=coord)
    assert unknown.status_code == 400
    error = unknown.json()["errors"][0]
    assert error["field"] == "entity" and "visit_plan" in error["message"] and "resident" in error["message"]
    # The API's word for a plan finds the plans' events.
    assert (await client.get("/api/v1/audit", params={"entity": "plan"}, headers=coord)).status_code == 200
    district = (await client.get("/api/v1/audit", params={"entity": "district"}, headers=coord)).json()
    assert [(e["action"], e["entity_id"]) for e in district["items"]] == [("create", created.json()["id"])]
    assert district["items"][0]["actor_name"] == coordinator.display_name
    sign_ins = (await client.get("/api/v1/audit", params={"entity": "user"}, headers=coord)).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in sign_ins] == [("sign_in", coordinator.id)]
    assert sign_ins[0]["device_id"] is not None
