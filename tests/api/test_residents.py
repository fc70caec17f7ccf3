"""Residents as coordinators keep them and watchers find them: create, edit with emergency contacts,
search, filter, status, consent withdrawal, hand-over, and errors that name the field."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from api.residents.schemas import AssignmentIn
from api.residents.service import create_assignment
from domain.access import Principal
from domain.clock import clock, utcnow
from domain.enums import AssignmentRole, ConsentRecipient, Role, VisitStatus
from domain.errors import Conflict
from domain.models import Assignment, EmergencyContact, Resident, Visit, VisitPlan
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user


async def _town(db):
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        coord = await make_user(s, org, Role.COORDINATOR, "coord")
        vol = await make_user(s, org, Role.VOLUNTEER, "vol")
        return org, east, west, coord.id, vol


async def test_create_read_update_with_emergency_contacts(client, db) -> None:
    _, east_d, west_d, _, _ = await _town(db)
    east, west = east_d.id, west_d.id
    coord = await login(client, "coord")
    created = await client.post(
        "/api/v1/residents",
        json={
            "name": "佐藤 ハナ",
            "kana": "ｻﾄｳ ﾊﾅ",
            "birth_year": 1938,
            "district_id": east,
            "address": "東町1-2-3",
            "risk_level": "high",
            "household": "alone",
            "emergency_contacts": [
                {"name": "佐藤 一郎", "relation": "長男", "phone": "090-1111-2222", "priority": 1},
                {"name": "佐藤 二郎", "relation": "次男", "phone": "090-3333-4444", "priority": 2},
            ],
        },
        headers=coord,
    )
    assert created.status_code == 201, created.text
    resident = created.json()
    assert [c["relation"] for c in resident["emergency_contacts"]] == ["長男", "次男"]
    assert resident["kana"] == "サトウ ハナ"  # half-width kana is stored full-width, so search finds it
    rid = resident["id"]
    async with db() as s:
        first_seq = (await s.get(Resident, rid)).feed_seq
        assert first_seq > 0  # the change feed stamped the ORM write

    eldest = resident["emergency_contacts"][0]
    updated = await client.patch(
        f"/api/v1/residents/{rid}",
        json={
            "district_id": west,
            "risk_level": "medium",
            "emergency_contacts": [
                {**eldest, "phone": "080-5555-6666"},
                {"name": "東 民生", "relation": "近所", "phone": "03-1234-5678"},
            ],
        },
        headers=coord,
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["district_id"] == west and body["risk_level"] == "medium" and body["birth_year"] == 1938
    assert {c["name"]: c["phone"] for c in body["emergency_contacts"]} == {
        "佐藤 一郎": "080-5555-6666",
        "東 民生": "03-1234-5678",
    }
    async with db() as s:
        assert (await s.get(Resident, rid)).feed_seq > first_seq
        contacts = (
            await s.scalars(select(EmergencyContact).where(EmergencyContact.resident_id == rid))
        ).all()
        # The left-out contact is tombstoned (phones are told to drop it), never deleted.
        assert len(contacts) == 3
        assert [c.name for c in contacts if c.deleted_at is not None] == ["佐藤 二郎"]

    fetched = (await client.get(f"/api/v1/residents/{rid}", headers=coord)).json()
    assert len(fetched["emergency_contacts"]) == 2


async def test_search_by_name_or_kana_and_filters(client, db) -> None:
    org, east_d, west_d, _, vol = await _town(db)
    west, vol_id = west_d.id, vol.id
    async with db() as s:
        a = await make_resident(s, org, east_d, name="山田 花子", kana="ヤマダ ハナコ", risk_level="high")
        b = await make_resident(s, org, west_d, name="田中 太郎", kana="タナカ タロウ", risk_level="low")
        c = await make_resident(s, org, west_d, name="Smith Anna", kana="スミス アンナ", status="paused")
        await assign(s, b, vol)
        ids = {"a": a.id, "b": b.id, "c": c.id}
    coord = await login(client, "coord")

    async def names(**params):
        response = await client.get("/api/v1/residents", params=params, headers=coord)
        assert response.status_code == 200, response.text
        return sorted(i["id"] for i in response.json()["items"])

    assert await names(q="やまだ") == [ids["a"]]  # hiragana finds katakana kana
    assert await names(q="ﾔﾏﾀﾞ") == [ids["a"]]  # half-width katakana too
    assert await names(q="山田花子") == [ids["a"]]  # spaces do not matter
    assert await names(q="田") == sorted([ids["a"], ids["b"]])
    assert await names(q="smith") == [ids["c"]]  # case-insensitive
    assert await names(q="%") == []  # wildcards are literal
    assert await names(district_id=west) == sorted([ids["b"], ids["c"]])
    assert await names(risk_level="high") == [ids["a"]]
    assert await names(status="paused") == [ids["c"]]
    assert await names(assignee_id=vol_id) == [ids["b"]]
    page = (await client.get("/api/v1/residents", params={"page_size": 2, "page": 2}, headers=coord)).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    past = (await client.get("/api/v1/residents", params={"page_size": 2, "page": 5}, headers=coord)).json()
    assert past["total"] == 3 and past["items"] == []  # a page past the end still tells the total
    assert (await client.get("/api/v1/residents", params={"q": "該当なし"}, headers=coord)).json()[
        "total"
    ] == 0
    bad = await client.get("/api/v1/residents", params={"risk_level": "extreme"}, headers=coord)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "risk_level"


async def test_invalid_input_is_a_400_naming_the_field_in_japanese_or_english(client, db) -> None:
    _, east_d, _, _, _ = await _town(db)
    east = east_d.id
    coord = await login(client, "coord")
    body = {"name": "", "district_id": east}
    ja = await client.post("/api/v1/residents", json=body, headers=coord)
    assert ja.status_code == 400
    assert ja.headers["content-type"].startswith("application/problem+json")
    assert ja.json()["errors"][0]["field"] == "name"
    assert ja.json()["title"] == "入力内容に誤りがあります。"
    assert ja.json()["errors"][0]["message"] == "必須項目です。"  # an empty name is a missing one
    en = await client.post("/api/v1/residents", json=body, headers={**coord, "Accept-Language": "en"})
    assert en.status_code == 400 and en.json()["title"] == "Some fields are not valid."
    assert en.json()["errors"][0]["message"] == "This field is required."

    phone = await client.post(
        "/api/v1/residents",
        json={"name": "電話 不正", "district_id": east, "phone": "call me"},
        headers=coord,
    )
    assert phone.status_code == 400 and phone.json()["errors"][0]["field"] == "phone"
    district = await client.post(
        "/api/v1/residents", json={"name": "地区 不明", "district_id": "nowhere"}, headers=coord
    )
    assert district.status_code == 400 and district.json()["errors"][0]["field"] == "district_id"
    unknown = await client.post(
        "/api/v1/residents", json={"name": "余計", "district_id": east, "ssn": "1"}, headers=coord
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "ssn"
    not_json = await client.post(
        "/api/v1/residents", content=b"{oops", headers={**coord, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


async def test_status_change_needs_a_reason_and_ending_hides_from_volunteers(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        vol = await make_user(s, org, Role.VOLUNTEER, "vol")
        r = await make_resident(s, org, district)
        await give_consent(s, r, ConsentRecipient.VOLUNTEERS)
        await assign(s, r, vol)
        rid = r.id
    coord, volunteer = await login(client, "coord"), await login(client, "vol")
    no_reason = await client.post(f"/api/v1/residents/{rid}/status", json={"status": "paused"}, headers=coord)
    assert no_reason.status_code == 400 and no_reason.json()["errors"][0]["field"] == "reason"
    paused = await client.post(
        f"/api/v1/residents/{rid}/status", json={"status": "paused", "reason": "入院"}, headers=coord
    )
    assert paused.status_code == 200 and paused.json()["status_reason"] == "入院"
    assert (await client.get(f"/api/v1/residents/{rid}", headers=volunteer)).status_code == 200
    ended = await client.post(
        f"/api/v1/residents/{rid}/status", json={"status": "ended", "reason": "転居"}, headers=coord
    )
    assert ended.status_code == 200
    assert (await client.get(f"/api/v1/residents/{rid}", headers=volunteer)).status_code == 404
    assert (await client.get("/api/v1/residents", headers=volunteer)).json()["total"] == 0
    resumed = await client.post(f"/api/v1/residents/{rid}/status", json={"status": "active"}, headers=coord)
    assert resumed.json()["status_reason"] is None


async def test_consent_withdrawal_removes_the_resident_from_the_volunteer(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        vol = await make_user(s, org, Role.VOLUNTEER, "vol")
        kept = await make_resident(s, org, district, name="残る 人", kana="ノコル ヒト")
        leaving = await make_resident(s, org, district, name="撤回 人", kana="テッカイ ヒト")
        for r in (kept, leaving):
            await assign(s, r, vol)
        await give_consent(s, kept, ConsentRecipient.VOLUNTEERS)
        ids = (kept.id, leaving.id)
    coord, volunteer = await login(client, "coord"), await login(client, "vol")
    # Not shared before consent is recorded, even though assigned.
    assert [i["id"] for i in (await client.get("/api/v1/residents", headers=volunteer)).json()["items"]] == [
        ids[0]
    ]

    given = await client.put(
        f"/api/v1/residents/{ids[1]}/consents/volunteers",
        json={"status": "given", "purpose": "見守り訪問のため", "expires_on": "2030-03-31"},
        headers=coord,
    )
    assert given.status_code == 200, given.text
    assert given.json()["covers"] is True and given.json()["given_on"] is not None
    assert (await client.get("/api/v1/residents", headers=volunteer)).json()["total"] == 2

    withdrawn = await client.post(f"/api/v1/residents/{ids[1]}/consents/volunteers/withdraw", headers=coord)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["covers"] is False
    listed = (await client.get("/api/v1/residents", headers=volunteer)).json()
    assert [i["id"] for i in listed["items"]] == [ids[0]]
    assert (await client.get(f"/api/v1/residents/{ids[1]}", headers=volunteer)).status_code == 404

    # A withdrawal withdraws: nothing in the consent keeps it sharing (the old flag is refused).
    kept = await client.post(
        f"/api/v1/residents/{ids[1]}/consents/volunteers/withdraw",
        json={"keep_legal_basis": True},
        headers=coord,
    )
    assert kept.status_code == 400 and kept.json()["errors"][0]["field"] == "keep_legal_basis"
    old_way = await client.put(
        f"/api/v1/residents/{ids[1]}/consents/district_commissioner",
        json={"status": "withdrawn", "legal_basis": "evacuation_support_list"},
        headers=coord,
    )
    assert old_way.status_code == 400
    # Without consent, a legal basis record of its own still allows sharing; consents list says so.
    await client.put(
        f"/api/v1/residents/{ids[1]}/consents/district_commissioner",
        json={"status": "withdrawn"},
        headers=coord,
    )
    basis = await client.post(
        f"/api/v1/residents/{ids[1]}/legal-bases",
        json={"basis": "evacuation_support_list", "recipient": "district_commissioner"},
        headers=coord,
    )
    assert basis.status_code == 201 and basis.json()["active"] is True
    consents = (await client.get(f"/api/v1/residents/{ids[1]}/consents", headers=coord)).json()
    assert {c["recipient"]: (c["status"], c["covers"], c["legal_bases"]) for c in consents} == {
        "district_commissioner": ("withdrawn", True, ["evacuation_support_list"]),
        "volunteers": ("withdrawn", False, []),
    }
    bad = await client.put(
        f"/api/v1/residents/{ids[1]}/consents/volunteers",
        json={"status": "given", "given_on": "2026-05-01", "expires_on": "2026-04-01"},
        headers=coord,
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "expires_on"
    unknown = await client.put(
        f"/api/v1/residents/{ids[1]}/consents/everyone", json={"status": "given"}, headers=coord
    )
    assert unknown.status_code == 400


async def test_a_consent_never_given_cannot_be_withdrawn(client, db) -> None:
    """ "Not given" (never asked, or declined) is another legal fact than "withdrawn" (given, then
    taken back): withdrawing it is refused saying why, and the record stays as it was."""
    org, east, _, _, _ = await _town(db)
    async with db() as s:
        rid = (await make_resident(s, org, east)).id
    coord = await login(client, "coord")
    url = f"/api/v1/residents/{rid}/consents/volunteers"
    declined = await client.put(url, json={"status": "not_given", "purpose": "本人が辞退"}, headers=coord)
    assert declined.status_code == 200, declined.text
    refused = await client.post(f"{url}/withdraw", json={}, headers=coord)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "error.consent_not_given"
    assert "撤回できません" in refused.json()["title"]
    english = await client.post(f"{url}/withdraw", headers={**coord, "Accept-Language": "en"})
    assert english.status_code == 409
    assert (
        english.json()["title"]
        == "Consent for this recipient is not recorded as given, so it cannot be withdrawn."
    )
    consents = (await client.get(f"/api/v1/residents/{rid}/consents", headers=coord)).json()
    assert [c["status"] for c in consents] == ["not_given"]

    # Given, it is withdrawn once; a second withdrawal withdraws nothing.
    await client.put(url, json={"status": "given", "purpose": "見守り訪問のため"}, headers=coord)
    assert (await client.post(f"{url}/withdraw", headers=coord)).status_code == 200
    again = await client.post(f"{url}/withdraw", headers=coord)
    assert again.status_code == 409 and again.json()["code"] == "error.consent_not_given"


async def test_assignments_one_primary_and_history(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        first = await make_user(s, org, Role.COMMISSIONER, "first", districts=[district])
        second = await make_user(s, org, Role.VOLUNTEER, "second")
        r = await make_resident(s, org, district)
        await give_consent(s, r, ConsentRecipient.DISTRICT_COMMISSIONER)
        rid, first_id, second_id = r.id, first.id, second.id
    coord = await login(client, "coord")
    made = await client.post(
        f"/api/v1/residents/{rid}/assignments", json={"user_id": first_id}, headers=coord
    )
    assert made.status_code == 201 and made.json()["visible_to_assignee"] is True
    clash = await client.post(
        f"/api/v1/residents/{rid}/assignments", json={"user_id": second_id}, headers=coord
    )
    assert clash.status_code == 409
    backup = await client.post(
        f"/api/v1/residents/{rid}/assignments", json={"user_id": second_id, "role": "backup"}, headers=coord
    )
    # The volunteer is assigned but the resident has no volunteer consent: said, not hidden.
    assert backup.status_code == 201 and backup.json()["visible_to_assignee"] is False
    ended = await client.post(
        f"/api/v1/assignments/{made.json()['id']}/end", json={"reason": "体調不良のため交代"}, headers=coord
    )
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    again = await client.post(
        f"/api/v1/assignments/{made.json()['id']}/end", json={"reason": "x"}, headers=coord
    )
    assert again.status_code == 409
    history = (await client.get(f"/api/v1/residents/{rid}/assignments", headers=coord)).json()
    assert [a["user_id"] for a in history["current"]] == [second_id]
    assert [(a["user_id"], a["end_reason"]) for a in history["history"]] == [(first_id, "体調不良のため交代")]


async def test_hand_over_moves_residents_plans_and_future_visits_in_one_go(client, db) -> None:
    clock.set(datetime(2026, 11, 20, 0, 0, tzinfo=UTC))
    now = utcnow()
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        old = await make_user(s, org, Role.COMMISSIONER, "old", districts=[district])
        new = await make_user(s, org, Role.COMMISSIONER, "new", districts=[district])
        residents = [await make_resident(s, org, district, name=f"対象 {i}") for i in range(3)]
        await assign(s, residents[0], old)
        await assign(s, residents[1], old, AssignmentRole.BACKUP)
        await assign(s, residents[2], old)
        await assign(s, residents[2], new, AssignmentRole.BACKUP)  # the new one already watches #2
        for shared in (residents[0], residents[2]):
            await give_consent(s, shared, ConsentRecipient.DISTRICT_COMMISSIONER)
        plan = VisitPlan(
            org_id=org.id,
            resident_id=residents[0].id,
            assignee_id=old.id,
            rrule="FREQ=WEEKLY",
            starts_on=date(2026, 11, 1),
            window_start=time(9),
        )
        s.add(plan)
        await s.flush()
        past = Visit(
            org_id=org.id,
            plan_id=plan.id,
            occurrence_key="2026-11-13",
            resident_id=residents[0].id,
            assignee_id=old.id,
            due_start=now - timedelta(days=7),
            due_end=now - timedelta(days=6),
            status=VisitStatus.DONE,
        )
        future = Visit(
            org_id=org.id,
            plan_id=plan.id,
            occurrence_key="2026-11-27",
            resident_id=residents[0].id,
            assignee_id=old.id,
            due_start=now + timedelta(days=7),
            due_end=now + timedelta(days=8),
        )
        s.add_all([past, future])
        await s.flush()
        ids = {
            "old": old.id,
            "new": new.id,
            "plan": plan.id,
            "past": past.id,
            "future": future.id,
            "residents": [r.id for r in residents],
        }
    async with db() as s:
        future_seq = (await s.get(Visit, ids["future"])).feed_seq
    coord = await login(client, "coord")
    response = await client.post(
        "/api/v1/assignments/hand-over",
        json={"from_user_id": ids["old"], "to_user_id": ids["new"], "reason": "任期満了による交代"},
        headers=coord,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert sorted(result["residents"]) == sorted(ids["residents"])
    # Three outgoing assignments end; the incoming backup of #2 becomes its primary.
    assert (result["assignments_ended"], result["assignments_created"]) == (4, 3)
    assert (result["plans_moved"], result["visits_moved"]) == (1, 1)
    # #1 has no commissioner consent: the answer says the new one cannot see them yet.
    assert result["not_visible_to_assignee"] == [ids["residents"][1]]
    async with db() as s:
        rows = (await s.scalars(select(Assignment))).all()
        current = sorted((a.resident_id, a.user_id, a.role) for a in rows if a.ended_at is None)
        assert current == sorted(
            [
                (ids["residents"][0], ids["new"], "primary"),
                (ids["residents"][1], ids["new"], "backup"),
                (ids["residents"][2], ids["new"], "primary"),
            ]
        )
        assert {a.end_reason for a in rows if a.user_id == ids["old"]} == {"任期満了による交代"}
        assert (await s.get(VisitPlan, ids["plan"])).assignee_id == ids["new"]
        assert (await s.get(Visit, ids["past"])).assignee_id == ids["old"]  # history stays as it was
        moved = await s.get(Visit, ids["future"])
        assert moved.assignee_id == ids["new"] and moved.feed_seq > future_seq  # phones learn of it
    # Nobody is left with the outgoing commissioner (their phone purges these at the next sync).
    left = (await client.get("/api/v1/residents", params={"assignee_id": ids["old"]}, headers=coord)).json()
    assert left["total"] == 0
    same = await client.post(
        "/api/v1/assignments/hand-over",
        json={"from_user_id": ids["new"], "to_user_id": ids["new"], "reason": "x"},
        headers=coord,
    )
    assert same.status_code == 400 and same.json()["errors"][0]["field"] == "to_user_id"


async def test_malformed_bodies_are_4xx_never_500(client, db) -> None:
    org, east, _, _, vol = await _town(db)
    async with db() as s:
        r = await make_resident(s, org, east)
        a = await assign(s, r, vol)
        rid, aid = r.id, a.id
    coord = await login(client, "coord")
    targets = [
        ("POST", "/api/v1/residents"),
        ("PATCH", f"/api/v1/residents/{rid}"),
        ("POST", f"/api/v1/residents/{rid}/status"),
        ("PUT", f"/api/v1/residents/{rid}/consents/volunteers"),
        ("POST", f"/api/v1/residents/{rid}/consents/volunteers/withdraw"),
        ("POST", f"/api/v1/residents/{rid}/assignments"),
        ("POST", f"/api/v1/assignments/{aid}/end"),
        ("POST", "/api/v1/assignments/hand-over"),
        ("POST", "/api/v1/users"),
        ("PATCH", f"/api/v1/users/{vol.id}"),
        ("POST", "/api/v1/districts"),
        ("PATCH", f"/api/v1/districts/{east.id}"),
    ]
    bodies = [
        b"[]",
        b'"text"',
        b"null",
        b"{",
        b'{"name": 5, "district_id": []}',
        b'{"emergency_contacts": [1]}',
        b'{"status": "given", "given_on": "yesterday"}',
        b'{"name": "\\u0000"}',
    ]
    for method, path in targets:
        for body in bodies:
            response = await client.request(
                method, path, content=body, headers={**coord, "Content-Type": "application/json"}
            )
            assert 400 <= response.status_code < 500, (
                method,
                path,
                body,
                response.status_code,
                response.text,
            )
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_control_characters_in_ids_and_queries_are_4xx(client, db) -> None:
    await _town(db)
    coord = await login(client, "coord")
    for path in (
        "/api/v1/residents/abc%00def",
        "/api/v1/residents/abc%00def/consents",
        "/api/v1/users/abc%00def",
        "/api/v1/users/abc%00def/devices",
    ):
        response = await client.get(path, headers=coord)
        assert response.status_code in (400, 404), (path, response.status_code)  # refused before any lookup
    for params in ({"q": "a\x00b"}, {"district_id": "a\x00b"}, {"assignee_id": "\x00"}):
        response = await client.get("/api/v1/residents", params=params, headers=coord)
        assert response.status_code in (200, 400), (params, response.status_code)
    for params in ({"entity_id": "a\x00"}, {"actor_id": "\x00"}, {"entity": "\x00"}):
        response = await client.get("/api/v1/audit", params=params, headers=coord)
        assert response.status_code == 400, (params, response.status_code)
    response = await client.get("/api/v1/users", params={"q": "\x00", "district_id": "\x00"}, headers=coord)
    assert response.status_code == 400


async def test_two_coordinators_assigning_at_once_make_one_primary(db) -> None:
    """The resident row is locked while assigning: the second writer waits, then sees the first
    primary and is refused, instead of both reading "no primary yet" and writing two."""
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        coord = await make_user(s, org, Role.COORDINATOR, "coord")
        first_user = await make_user(s, org, Role.COMMISSIONER, "one")
        second_user = await make_user(s, org, Role.COMMISSIONER, "two")
        r = await make_resident(s, org, district)
        principal = Principal(user_id=coord.id, org_id=org.id, role=Role.COORDINATOR)
        rid, u1, u2 = r.id, first_user.id, second_user.id
    flushed, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with db() as s:
            await create_assignment(s, principal, rid, AssignmentIn(user_id=u1))
            flushed.set()
            await release.wait()  # commit only after the second writer has started

    async def second() -> str:
        await flushed.wait()
        try:
            async with db() as s:
                await create_assignment(s, principal, rid, AssignmentIn(user_id=u2))
        except Conflict as exc:
            return exc.code
        return "created"

    async def let_go() -> None:
        await flushed.wait()
        await asyncio.sleep(0.5)
        release.set()

    _, outcome, _ = await asyncio.gather(first(), second(), let_go())
    assert outcome == "error.primary_exists"
    async with db() as s:
        primaries = (
            await s.scalars(
                select(Assignment).where(Assignment.resident_id == rid, Assignment.ended_at.is_(None))
            )
        ).all()
        assert [a.user_id for a in primaries] == [u1]


async def test_a_date_of_consent_later_than_today_in_the_towns_calendar_is_refused(client, db) -> None:
    """Consent not yet given would share the resident at once (the consent rule does not wait for
    the date): a later date is refused naming the field, in the API and in the import. "Today" is
    Tokyo's: at 00:30 on 1 June in Tokyo (still 31 May in UTC) 1 June is allowed, 2 June is not."""
    org, east, _, _, _ = await _town(db)
    async with db() as s:
        rid = (await make_resident(s, org, east)).id
    clock.set(datetime(2026, 5, 31, 15, 30, tzinfo=UTC))
    coord = await login(client, "coord")
    url = f"/api/v1/residents/{rid}/consents/district_commissioner"
    later = await client.put(url, json={"status": "given", "given_on": "2026-06-02"}, headers=coord)
    assert later.status_code == 400, later.text
    assert [(e["field"], e["code"]) for e in later.json()["errors"]] == [("given_on", "field.date_in_future")]
    consents = (await client.get(f"/api/v1/residents/{rid}/consents", headers=coord)).json()
    assert consents == []  # nothing recorded
    today = await client.put(url, json={"status": "given", "given_on": "2026-06-01"}, headers=coord)
    assert today.status_code == 200 and today.json()["given_on"] == "2026-06-01"

    register = "氏名,住所,地区,リスク,民生委員への提供同意,同意日\r\n"
    rows = "山田 花子,東町1-1,東地区,高,有,2026-06-02\r\n山田 一郎,東町1-2,東地区,高,有,2026/6/1\r\n"
    checked = await client.post(
        "/api/v1/residents/import",
        content=(register + rows).encode(),
        headers={**coord, "Content-Type": "text/csv"},
    )
    assert checked.status_code == 200
    assert [(e["line"], e["field"], e["code"]) for e in checked.json()["errors"]] == [
        (2, "同意日", "field.date_in_future")
    ]
