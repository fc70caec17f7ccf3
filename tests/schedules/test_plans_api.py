"""Plans API: validation that says what is wrong, permissions by role, preview, defaults, edits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from domain.clock import clock
from domain.enums import ConsentRecipient, ContactOutcome, RiskLevel, Role, VisitStatus
from domain.models import Visit, VisitPlan
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note, visits_of

NOW = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)  # 09:00 JST, Thursday


@pytest.fixture
async def town(db):
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        south = await make_district(session, org, "南地区")
        coord = await make_user(session, org, Role.COORDINATOR, "coord")
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[north])
        vol = await make_user(session, org, Role.VOLUNTEER, "vol")
        hanako = await make_resident(session, org, north, risk_level=RiskLevel.HIGH)
        taro = await make_resident(session, org, south, name="鈴木 太郎", risk_level=RiskLevel.LOW)
        for r in (hanako, taro):
            await give_consent(session, r, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(session, hanako, ConsentRecipient.VOLUNTEERS)
        await assign(session, hanako, vol)
    return {
        "org": org,
        "north": north,
        "south": south,
        "coord": coord,
        "comm": comm,
        "vol": vol,
        "hanako": hanako,
        "taro": taro,
    }


async def _plan_count(db) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count(VisitPlan.id))))


async def test_coordinator_creates_plan_and_visits_are_expanded_eight_weeks(client, db, town) -> None:
    headers = await login(client, "coord")
    response = await client.post(
        "/api/v1/plans",
        json={
            "resident_id": town["hanako"].id,
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "assignee_id": town["vol"].id,
            "window_start": "10:00",
            "window_end": "16:00",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["status"] == "active" and plan["starts_on"] == "2026-10-01"
    async with db() as session:
        visits = await visits_of(session, town["hanako"])
    # Tuesdays from 6 Oct to the horizon 26 Nov (8 weeks after 1 Oct); 3 Nov is 文化の日, shifted to 4 Nov.
    assert [v.due_start.astimezone(UTC).isoformat() for v in visits] == [
        f"2026-{d}T01:00:00+00:00"
        for d in ("10-06", "10-13", "10-20", "10-27", "11-04", "11-10", "11-17", "11-24")
    ]
    assert {v.assignee_id for v in visits} == {town["vol"].id}


async def test_default_cadence_comes_from_the_risk_level(client, db, town) -> None:
    async with db() as session:
        south_comm = await make_user(
            session, town["org"], Role.COMMISSIONER, "comm-s", districts=[town["south"]]
        )
        await assign(session, town["taro"], south_comm)  # the plans default to taro's watcher
    headers = await login(client, "coord")
    response = await client.post("/api/v1/plans", json={"resident_id": town["taro"].id}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["rrule"] == "FREQ=MONTHLY;INTERVAL=1"
    patched = await client.patch(
        "/api/v1/org/rules",
        json={
            "plan_defaults": {
                "high": {"rrule": "FREQ=WEEKLY;INTERVAL=1"},
                "medium": {"rrule": "FREQ=WEEKLY;INTERVAL=2"},
                "low": {"rrule": "FREQ=WEEKLY;INTERVAL=3", "window_days": 3},
            }
        },
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    second = await client.post("/api/v1/plans", json={"resident_id": town["taro"].id}, headers=headers)
    assert second.json()["rrule"] == "FREQ=WEEKLY;INTERVAL=3" and second.json()["window_days"] == 3


INVALID = [
    ({"rrule": "FREQ=HOURLY"}, "rrule", "rrule.freq_not_allowed", "FREQ=HOURLY"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule", "rrule.invalid_part", "BYDAY=XX"),
    ({"rrule": "FREQ=WEEKLY;COLOUR=RED"}, "rrule", "rrule.unknown_part", "COLOUR"),
    ({"rrule": "BYDAY=MO"}, "rrule", "rrule.freq_required", "FREQ"),
    ({"rrule": "FREQ=WEEKLY;UNTIL=20270101T000000Z"}, "rrule", "rrule.use_plan_dates", "UNTIL"),
    ({"rrule": "FREQ=WEEKLY;INTERVAL=0"}, "rrule", "rrule.invalid_part", "INTERVAL=0"),
    ({"rrule": "FREQ=MONTHLY;BYMONTHDAY=40"}, "rrule", "rrule.invalid_part", "BYMONTHDAY=40"),
    (
        {"rrule": "FREQ=WEEKLY", "window_start": "15:00", "window_end": "09:00"},
        "window_end",
        "window.end_before_start",
        "",
    ),
    # Bounds checked by the request schema (the code comes from api/errors.py's generic mapping).
    ({"rrule": "FREQ=WEEKLY", "window_days": 40}, "window_days", None, ""),
    (
        {"rrule": "FREQ=WEEKLY", "starts_on": "2026-12-01", "ends_on": "2026-11-01"},
        "ends_on",
        "plan.ends_before_start",
        "",
    ),
]


async def test_invalid_cadence_is_a_400_that_names_the_wrong_part(client, db, town) -> None:
    headers = {**await login(client, "coord"), "Accept-Language": "en"}
    for body, field, code, mentions in INVALID:
        response = await client.post(
            "/api/v1/plans", json={"resident_id": town["hanako"].id, **body}, headers=headers
        )
        assert response.status_code == 400, (body, response.text)
        problem = response.json()
        assert field in problem["errors"][0]["field"], (body, problem)
        assert code is None or problem["errors"][0]["code"] == code, (body, problem)
        assert mentions in problem["errors"][0]["message"]
        preview = await client.post("/api/v1/plans/preview", json=body, headers=headers)
        assert preview.status_code == 400, (body, preview.text)
    assert await _plan_count(db) == 0


async def test_unknown_assignee_is_refused(client, db, town) -> None:
    headers = await login(client, "coord")
    response = await client.post(
        "/api/v1/plans", json={"resident_id": town["hanako"].id, "assignee_id": "nobody"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "assignee_id"


async def test_permissions_by_role(client, db, town) -> None:
    body = {"resident_id": town["hanako"].id, "rrule": "FREQ=WEEKLY"}
    volunteer = await login(client, "vol", device_id="phone-v")
    assert (await client.post("/api/v1/plans", json=body, headers=volunteer)).status_code == 403
    commissioner = await login(client, "comm", device_id="phone-c")
    own = await client.post("/api/v1/plans", json=body, headers=commissioner)
    assert own.status_code == 201, own.text
    other = await client.post(
        "/api/v1/plans", json={**body, "resident_id": town["taro"].id}, headers=commissioner
    )
    assert other.status_code == 403
    assert (
        await client.post(
            f"/api/v1/plans/{own.json()['id']}/pause", json={"reason": "hospital"}, headers=volunteer
        )
    ).status_code == 403
    assert (
        await client.patch("/api/v1/org/rules", json={"grace_hours": 12}, headers=commissioner)
    ).status_code == 403
    assert (await client.get("/api/v1/org/rules", headers=volunteer)).status_code == 403
    assert (await client.get("/api/v1/plans", headers=commissioner)).json()[0]["id"] == own.json()["id"]


async def test_preview_shows_next_occurrences_with_holiday_shift_and_saves_nothing(client, db, town) -> None:
    headers = await login(client, "coord")
    response = await client.post(
        "/api/v1/plans/preview",
        json={
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=3",
            "count": 4,
            "window_start": "10:00",
            "window_end": "12:00",
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["timezone"] == "Asia/Tokyo"
    # 3 Nov is 文化の日 (Culture Day): shifted to Wednesday 4 Nov; 3 Jan 2027 (a Sunday) is in the
    # office's 年末年始 closure: shifted to the next working day, Monday 4 Jan.
    assert [(o["rule_date"], o["local_date"], o["shifted"]) for o in got["occurrences"]] == [
        ("2026-10-03", "2026-10-03", False),
        ("2026-11-03", "2026-11-04", True),
        ("2026-12-03", "2026-12-03", False),
        ("2027-01-03", "2027-01-04", True),
    ]
    assert got["occurrences"][0]["due_start_local"] == "2026-10-03T10:00:00+09:00"
    assert got["occurrences"][0]["due_start"].startswith("2026-10-03T01:00:00")
    skip = await client.post(
        "/api/v1/plans/preview",
        json={
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=3",
            "count": 2,
            "holiday_rule": "skip",
            "starts_on": "2026-11-01",
        },
        headers=headers,
    )
    # Skipped: 3 Nov (文化の日) and 3 Jan (年末年始).
    assert [o["local_date"] for o in skip.json()["occurrences"]] == ["2026-12-03", "2027-02-03"]
    bad = await client.post("/api/v1/plans/preview", json={"rrule": "FREQ=DAILY;BYHOUR=x"}, headers=headers)
    assert bad.status_code == 400
    assert await _plan_count(db) == 0
    async with db() as session:
        assert await session.scalar(select(func.count(Visit.id))) == 0


async def test_editing_a_plan_replaces_future_untouched_visits_only(client, db, town) -> None:
    headers = await login(client, "coord")
    created = await client.post(
        "/api/v1/plans",
        json={
            "resident_id": town["hanako"].id,
            "rrule": "FREQ=WEEKLY;BYDAY=TH",
            "assignee_id": town["vol"].id,
        },
        headers=headers,
    )
    plan_id = created.json()["id"]
    # Thursday 1 Oct's visit (09:00–18:00 JST) is done at 10:00 JST.
    async with db() as session:
        await record_note(session, town["hanako"], town["vol"], datetime(2026, 10, 1, 1, 0, tzinfo=UTC))
    clock.set(datetime(2026, 10, 5, 0, 0, tzinfo=UTC))
    headers = await login(client, "coord")
    response = await client.patch(
        f"/api/v1/plans/{plan_id}", json={"rrule": "FREQ=WEEKLY;BYDAY=FR"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 2
    async with db() as session:
        visits = await visits_of(session, town["hanako"])
    done = [v for v in visits if v.status == VisitStatus.DONE]
    assert [v.occurrence_key for v in done] == ["2026-10-01/r1"]
    cancelled = [v for v in visits if v.status == VisitStatus.CANCELLED]
    # 8 Oct … 26 Nov (the horizon is inclusive: eight weeks from 1 Oct).
    assert all(v.occurrence_key.endswith("/r1") for v in cancelled) and len(cancelled) == 8
    planned = [v for v in visits if v.status == VisitStatus.PLANNED]
    assert all(v.occurrence_key.endswith("/r2") for v in planned)
    assert planned[0].occurrence_key == "2026-10-09/r2" and len(planned) == 8


async def test_pause_resume_end(client, db, town) -> None:
    headers = await login(client, "coord")
    plan_id = (
        await client.post(
            "/api/v1/plans", json={"resident_id": town["hanako"].id, "rrule": "FREQ=WEEKLY"}, headers=headers
        )
    ).json()["id"]
    paused = await client.post(f"/api/v1/plans/{plan_id}/pause", json={"reason": "hospital"}, headers=headers)
    assert paused.json()["status"] == "paused"
    async with db() as session:
        assert {v.status for v in await visits_of(session, town["hanako"])} == {VisitStatus.CANCELLED}
    assert (
        await client.post(f"/api/v1/plans/{plan_id}/pause", json={"reason": "x"}, headers=headers)
    ).status_code == 200
    resumed = await client.post(f"/api/v1/plans/{plan_id}/resume", headers=headers)
    assert resumed.json()["status"] == "active"
    async with db() as session:
        assert sum(v.status == VisitStatus.PLANNED for v in await visits_of(session, town["hanako"])) == 9
    assert (await client.post(f"/api/v1/plans/{plan_id}/resume", headers=headers)).status_code == 409
    ended = await client.post(f"/api/v1/plans/{plan_id}/end", headers=headers)
    assert ended.json()["status"] == "ended"
    async with db() as session:
        assert VisitStatus.PLANNED not in {v.status for v in await visits_of(session, town["hanako"])}


async def test_my_visits_show_essentials_within_my_role(client, db, town) -> None:
    coord = await login(client, "coord")
    await client.post(
        "/api/v1/plans",
        json={
            "resident_id": town["hanako"].id,
            "rrule": "FREQ=WEEKLY;BYDAY=FR",
            "assignee_id": town["vol"].id,
        },
        headers=coord,
    )
    async with db() as session:
        await record_note(
            session,
            town["hanako"],
            town["vol"],
            datetime(2026, 10, 2, 2, 0, tzinfo=UTC),
            outcome=ContactOutcome.MET_WELL,
        )
    vol = await login(client, "vol", device_id="phone-v")
    response = await client.get(
        "/api/v1/me/visits", params={"from": "2026-10-01T00:00:00", "to": "2026-10-15T00:00:00"}, headers=vol
    )
    assert response.status_code == 200, response.text
    visits = response.json()
    assert [(v["due_start"][:10], v["status"], v["contact_recorded"]) for v in visits] == [
        ("2026-10-02", "done", True),
        ("2026-10-09", "planned", False),
    ]
    assert visits[0]["resident"]["name"] == "山田 花子"
    assert "birth_year" not in visits[0]["resident"] and "last_contact_at" not in visits[0]["resident"]
    too_long = await client.get(
        "/api/v1/me/visits", params={"from": "2026-01-01T00:00:00", "to": "2026-12-01T00:00:00"}, headers=vol
    )
    assert too_long.status_code == 400
    district = await client.get(f"/api/v1/districts/{town['north'].id}/visits", headers=coord)
    assert district.json()["total"] == 2
    assert (await client.get(f"/api/v1/districts/{town['north'].id}/visits", headers=vol)).status_code == 403


async def test_my_visits_take_days_where_days_are_meant(client, db, town) -> None:
    coord = await login(client, "coord")
    await client.post(
        "/api/v1/plans",
        json={
            "resident_id": town["hanako"].id,
            "rrule": "FREQ=WEEKLY;BYDAY=FR",
            "assignee_id": town["vol"].id,
        },
        headers=coord,
    )
    vol = await login(client, "vol", device_id="phone-v")

    async def days(**params: str) -> list[str]:
        response = await client.get("/api/v1/me/visits", params=params, headers=vol)
        assert response.status_code == 200, response.text
        return [v["due_start"][:10] for v in response.json()]

    # `to` as a day runs through that day, in the organisation's time zone.
    assert await days(**{"from": "2026-10-01", "to": "2026-10-09"}) == ["2026-10-02", "2026-10-09"]
    assert await days(**{"from": "2026-10-01", "to": "2026-10-08"}) == ["2026-10-02"]
    # An unencoded "+" in an offset arrives as a space and still reads as the offset.
    assert await days(**{"from": "2026-10-03T00:00:00 09:00", "to": "2026-10-09"}) == ["2026-10-09"]
    bad = await client.get("/api/v1/me/visits", params={"from": "yesterday"}, headers=vol)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "from"
    assert bad.json()["errors"][0]["message"].startswith("日付（例: 2026-12-01）または日時")


async def test_commissioner_cannot_plan_for_a_resident_without_consent(client, db, town) -> None:
    async with db() as session:
        no_consent = await make_resident(session, town["org"], town["north"], name="佐藤 一郎")
    coordinator = await login(client, "coord")
    # Nobody else may see this resident: the office itself makes the calls.
    created = await client.post(
        "/api/v1/plans",
        json={"resident_id": no_consent.id, "rrule": "FREQ=WEEKLY", "assignee_id": town["coord"].id},
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    commissioner = await login(client, "comm", device_id="comm-phone")
    # In the commissioner's district, but no consent covers the district commissioner.
    refused = await client.post(
        "/api/v1/plans", json={"resident_id": no_consent.id, "rrule": "FREQ=WEEKLY"}, headers=commissioner
    )
    assert refused.status_code == 403
    assert (
        await client.get(f"/api/v1/plans/{created.json()['id']}", headers=commissioner)
    ).status_code == 403
    listed = await client.get("/api/v1/plans", headers=commissioner)
    assert created.json()["id"] not in {p["id"] for p in listed.json()}
