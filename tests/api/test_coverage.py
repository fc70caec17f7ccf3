"""Coverage per district and period, against a hand-counted town: residents watched, the share
reached by method, visits, alerts and their medians, residents without plan or visiting consent,
caseloads, districts without a commissioner; in the organisation's calendar; coordinators see every
district, commissioners theirs, volunteers nothing, another organisation never."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.clock import clock
from domain.enums import (
    AlertStatus,
    AssignmentRole,
    ConsentRecipient,
    ContactMethod,
    ContactOutcome,
    Household,
    PlanStatus,
    ResidentStatus,
    RiskLevel,
    Role,
    VisitKind,
    VisitStatus,
)
from domain.models import (
    Alert,
    AuditEvent,
    ContactNote,
    Organisation,
    SafetyCheckCampaign,
    User,
    Visit,
    VisitPlan,
)
from domain.settings import Settings
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """What is hidden, not when (the settling time: tests/reports/test_publication.py): a month's
    suppressed statistics are published as soon as it has ended."""
    return settings.model_copy(update={"statistics_settle_days": 0})


TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # 12:00 on 10 June in Tokyo
URL = "/api/v1/reports/coverage"
WEEK = "?from=2026-06-01&to=2026-06-07"
# suppressed statistics are published for whole calendar months that have ended: June, from 1 July
MONTH = "?from=2026-06-01&to=2026-06-30"
MONTH_ENDED = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
async def town(db):
    clock.set(NOW)
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        north = await make_district(s, org, "北地区")  # nobody holds it
        await make_user(s, org, Role.COORDINATOR, "coord")
        comm = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east], display_name="東 民生")
        comm_w = await make_user(
            s, org, Role.COMMISSIONER, "comm-w", districts=[west], display_name="西 民生"
        )
        vol = await make_user(s, org, Role.VOLUNTEER, "vol", display_name="ボラ 花子")

        def resident(name, district, risk, household=Household.ALONE, **fields):
            return make_resident(
                s, org, district, name=name, kana=name, risk_level=risk, household=household, **fields
            )

        r1 = await resident("一", east, RiskLevel.HIGH)
        r2 = await resident("二", east, RiskLevel.HIGH, Household.ELDERLY_COUPLE)
        r3 = await resident("三", east, RiskLevel.MEDIUM)  # no consent at all: nobody may visit
        await resident("四", east, RiskLevel.LOW, status=ResidentStatus.PAUSED)
        await resident("五", east, RiskLevel.HIGH, status=ResidentStatus.ENDED)
        w1 = await resident("西一", west, RiskLevel.HIGH)
        await give_consent(s, r1, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(s, r2, ConsentRecipient.VOLUNTEERS)
        await give_consent(s, w1, ConsentRecipient.DISTRICT_COMMISSIONER)
        await assign(s, r1, comm)
        await assign(s, r1, vol, AssignmentRole.BACKUP)
        await assign(s, r2, vol)
        await assign(s, w1, comm_w)
        s.add_all(
            [
                VisitPlan(org_id=org.id, resident_id=r1.id, rrule="FREQ=WEEKLY", starts_on=date(2026, 1, 1)),
                VisitPlan(
                    org_id=org.id,
                    resident_id=r2.id,
                    rrule="FREQ=WEEKLY",
                    starts_on=date(2026, 1, 1),
                    status=PlanStatus.PAUSED,
                ),
                VisitPlan(org_id=org.id, resident_id=w1.id, rrule="FREQ=WEEKLY", starts_on=date(2026, 1, 1)),
            ]
        )

        def note(who, method, outcome, at):
            return ContactNote(
                org_id=org.id,
                resident_id=who.id,
                author_id=vol.id,
                method=method,
                outcome=outcome,
                occurred_at=at,
                received_at=at,
            )

        s.add_all(
            [
                note(r1, ContactMethod.HOME_VISIT, ContactOutcome.MET_WELL, jst(2026, 6, 2, 10, 0)),
                note(r1, ContactMethod.PHONE, ContactOutcome.MET_WELL, jst(2026, 6, 5, 10, 0)),
                # 00:30 on 1 June in Tokyo is still 31 May in UTC: inside the local period
                note(r2, ContactMethod.PHONE, ContactOutcome.MET_CONCERN, jst(2026, 6, 1, 0, 30)),
                note(
                    r2, ContactMethod.HOME_VISIT, ContactOutcome.NO_ANSWER, jst(2026, 6, 3, 10, 0)
                ),  # attempt
                note(
                    r3, ContactMethod.HOME_VISIT, ContactOutcome.MET_WELL, jst(2026, 5, 31, 23, 0)
                ),  # before
                note(w1, ContactMethod.SENSOR, ContactOutcome.MET_WELL, jst(2026, 6, 8, 0, 30)),  # after
            ]
        )

        def visit(key, who, day, status, completed=None):
            start = jst(2026, 6, day, 9, 0)
            return Visit(
                org_id=org.id,
                resident_id=who.id,
                occurrence_key=key,
                due_start=start,
                due_end=start + timedelta(hours=9),
                status=status,
                completed_at=completed,
            )

        s.add_all(
            [
                visit("v1", r1, 2, VisitStatus.DONE, jst(2026, 6, 2, 10, 0)),
                visit("v2", r1, 3, VisitStatus.DONE, jst(2026, 6, 4, 10, 0)),  # late
                visit("v3", r2, 4, VisitStatus.MISSED),
                visit("v4", r2, 7, VisitStatus.PLANNED),
                visit("v5", r1, 5, VisitStatus.CANCELLED),
                visit("v6", r1, 8, VisitStatus.PLANNED),  # after the period
            ]
        )

        def alert(key, who, opened, ack_minutes=None, resolve_minutes=None):
            return Alert(
                org_id=org.id,
                kind="missed_visit",
                cause_key=key,
                resident_id=who.id,
                opened_at=opened,
                status=AlertStatus.RESOLVED if resolve_minutes else AlertStatus.OPEN,
                acknowledged_at=opened + timedelta(minutes=ack_minutes) if ack_minutes else None,
                resolved_at=opened + timedelta(minutes=resolve_minutes) if resolve_minutes else None,
            )

        s.add_all(
            [
                alert("a1", r2, jst(2026, 6, 4, 20, 0), 30, 120),
                alert("a2", r3, jst(2026, 6, 5, 10, 0), 90),
                alert("a3", r1, jst(2026, 6, 6, 10, 0)),
                alert("a4", r1, jst(2026, 5, 20, 10, 0), 10, 10),  # before the period
            ]
        )
        other = await make_org(s, "よその市")
        elsewhere = await make_district(s, other, "よその地区")
        other_coord = await make_user(s, other, Role.COORDINATOR, "other-coord")
        stranger = await make_resident(s, other, elsewhere, name="よそ", kana="よそ")
        theirs = note(stranger, ContactMethod.PHONE, ContactOutcome.MET_WELL, jst(2026, 6, 2, 10, 0))
        theirs.org_id, theirs.author_id = other.id, other_coord.id
        s.add(theirs)
        return {
            "east": east.id,
            "west": west.id,
            "north": north.id,
            "elsewhere": elsewhere.id,
            "org": org.id,
            "other_org": other.id,
            "residents": {"r1": r1.id, "r2": r2.id, "r3": r3.id, "w1": w1.id},
            "vol": vol.id,
        }


async def _report(client, who: str, query: str = WEEK) -> dict:
    response = await client.get(URL + query, headers=await login(client, who))
    assert response.status_code == 200, response.text
    return response.json()


async def test_coordinator_counts_match_the_hand_count(client, town) -> None:
    report = await _report(client, "coord")
    assert report["from_date"] == "2026-06-01" and report["to_date"] == "2026-06-07"
    assert [d["name"] for d in report["districts"]] == ["北地区", "東地区", "西地区"]
    east = next(d for d in report["districts"] if d["district_id"] == town["east"])
    assert east["residents"] == {
        "active": 3,
        "paused": 1,
        "by_risk": {"high": 2, "medium": 1, "low": 0},
        "by_household": {"alone": 2, "elderly_couple": 1, "with_family": 0, "other": 0},
    }
    assert east["contacted"]["residents"] == 2 and east["contacted"]["share"] == 0.6667
    methods = {m: v["residents"] for m, v in east["contacted"]["by_method"].items() if v["residents"]}
    assert methods == {"home_visit": 1, "phone": 2}
    assert east["visits"] == {"due": 4, "done": 1, "done_late": 1, "missed": 1, "open": 1, "cancelled": 1}
    assert east["alerts"] == {
        "raised": 3,
        "acknowledged": 2,
        "resolved": 1,
        "median_minutes_to_acknowledge": 60.0,
        "median_minutes_to_resolve": 120.0,
    }
    assert east["residents_without_plan"] == 2  # 二's plan is paused, 三 has none
    assert east["residents_without_visiting_consent"] == 1  # 三
    assert [c["display_name"] for c in east["commissioners"]] == ["東 民生"]
    assert [(c["display_name"], c["primary"], c["backup"]) for c in east["caseload"]] == [
        ("ボラ 花子", 1, 1),
        ("東 民生", 1, 0),
    ]
    west = next(d for d in report["districts"] if d["district_id"] == town["west"])
    assert west["contacted"]["residents"] == 0 and west["contacted"]["share"] == 0.0  # sensor note is after
    assert report["districts_without_commissioner"] == [{"id": town["north"], "name": "北地区"}]
    north = next(d for d in report["districts"] if d["district_id"] == town["north"])
    assert north["residents"]["active"] == 0 and north["contacted"]["share"] is None


async def test_commissioners_see_their_districts_only_and_volunteers_nothing(client, town) -> None:
    report = await _report(client, "comm")
    assert [d["name"] for d in report["districts"]] == ["東地区"]
    # counts include the resident the commissioner may not see: how many nobody can visit is the point
    assert report["districts"][0]["residents_without_visiting_consent"] == 1
    headers = await login(client, "comm")
    assert (await client.get(URL + f"?district_id={town['west']}", headers=headers)).status_code == 403
    vol = await login(client, "vol")
    assert (await client.get(URL, headers=vol)).status_code == 403


async def test_another_organisation_never_appears(client, town) -> None:
    report = await _report(client, "other-coord")
    assert [d["name"] for d in report["districts"]] == ["よその地区"]
    assert report["districts"][0]["contacted"]["residents"] == 1
    coord = await login(client, "coord")
    foreign = await client.get(URL + f"?district_id={town['elsewhere']}", headers=coord)
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["field"] == "district_id"


async def test_one_district_and_the_default_period(client, town) -> None:
    report = await _report(client, "coord", f"?district_id={town['east']}")
    assert report["to_date"] == "2026-06-10" and report["from_date"] == "2026-05-12"
    assert [d["name"] for d in report["districts"]] == ["東地区"]
    assert report["districts"][0]["alerts"]["raised"] == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?from=2026-06-08&to=2026-06-01", "to"),
        ("?from=2025-01-01&to=2026-06-01", "from"),
        ("?from=June", "from"),
        ("?period=week", "period"),
    ],
)
async def test_bad_parameters_are_named(client, town, query: str, field: str) -> None:
    coord = await login(client, "coord")
    response = await client.get(URL + query, headers={**coord, "Accept-Language": "en"})
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_the_openapi_document_describes_coverage(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/reports/coverage"]["get"]
    assert {p["name"] for p in operation["parameters"] if "name" in p} == {
        "from",
        "to",
        "district_id",
        "format",
        "suppress",
    }


async def test_coverage_csv_has_one_row_per_district(client, db, town) -> None:
    coord = await login(client, "coord")
    response = await client.get(URL + WEEK + "&format=csv", headers=coord)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # one charset: Excel and proxies
    assert 'filename="coverage-2026-06-10.csv"' in response.headers["content-disposition"]
    lines = [line.split(",") for line in response.content.decode("utf-8-sig").split("\r\n") if line]
    headers, rows = lines[0], {row[0]: row for row in lines[1:]}
    assert headers[:3] == ["地区", "見守り中", "休止中"] and "接触（訪問）" in headers
    assert set(rows) == {"北地区", "東地区", "西地区"}
    east = dict(zip(headers, rows["東地区"], strict=True))
    assert (east["見守り中"], east["期間内に接触した人数"], east["接触（電話）"], east["遅れて実施"]) == (
        "3",
        "2",
        "2",
        "1",
    )
    assert (east["確認までの中央値（分）"], east["同意がなく訪問できない人"], east["民生委員"]) == (
        "60.0",
        "1",
        "東 民生",
    )
    english = await client.get(URL + WEEK + "&format=csv", headers={**coord, "Accept-Language": "en"})
    assert english.content.decode("utf-8-sig").startswith("District,Active,Paused")
    vol = await login(client, "vol")
    assert (await client.get(URL + "?format=csv", headers=vol)).status_code == 403
    async with db() as s:
        exports = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "export"))).all()
    assert [e.entity for e in exports] == ["coverage", "coverage"]  # Japanese and English


async def test_weekly_trends_count_the_same_week_as_coverage(client, town) -> None:
    coord = await login(client, "coord")
    response = await client.get(f"/api/v1/reports/trends?district_id={town['east']}", headers=coord)
    assert response.status_code == 200, response.text
    report = response.json()
    weeks = report["weeks"]
    assert len(weeks) == 12 and report["active_residents"] == 3
    # 10 June 2026 is a Wednesday: the current week runs Monday 8 June to today
    assert (weeks[-1]["week_start"], weeks[-1]["week_end"]) == ("2026-06-08", "2026-06-10")
    assert weeks[0]["week_start"] == "2026-03-23"
    week = next(w for w in weeks if w["week_start"] == "2026-06-01")  # the hand-counted week
    assert week == {
        "week_start": "2026-06-01",
        "week_end": "2026-06-07",
        "contacted": 2,
        "contacted_share": 0.6667,
        "visits_due": 4,
        "visits_done": 2,
        "visits_missed": 1,
        "alerts_raised": 3,
    }
    may = next(w for w in weeks if w["week_start"] == "2026-05-18")
    assert may["alerts_raised"] == 1 and may["contacted"] == 0
    assert sum(w["alerts_raised"] for w in weeks) == 4


async def test_weekly_trends_follow_who_may_read_coverage(client, town) -> None:
    comm = await login(client, "comm")
    mine = await client.get("/api/v1/reports/trends?weeks=2", headers=comm)
    assert mine.status_code == 200 and mine.json()["district_ids"] == [town["east"]]
    assert len(mine.json()["weeks"]) == 2
    assert (
        await client.get(f"/api/v1/reports/trends?district_id={town['west']}", headers=comm)
    ).status_code == 403
    vol = await login(client, "vol")
    assert (await client.get("/api/v1/reports/trends", headers=vol)).status_code == 403
    other = await login(client, "other-coord")
    theirs = (await client.get("/api/v1/reports/trends", headers=other)).json()
    assert theirs["active_residents"] == 1 and sum(w["alerts_raised"] for w in theirs["weeks"]) == 0
    coord = await login(client, "coord")
    for query, field in (("?weeks=0", "weeks"), ("?weeks=53", "weeks"), ("?week=3", "week")):
        bad = await client.get("/api/v1/reports/trends" + query, headers=coord)
        assert bad.status_code == 400 and field in bad.text


def _tally(district_id: str, residents: int, safe: int, help_: int, unreachable: int, unchecked: int) -> dict:
    counts = {
        "residents": residents,
        "confirmed_safe": safe,
        "needs_help": help_,
        "unreachable": unreachable,
        "not_checked": unchecked,
    }
    return {**counts, "by_district": {district_id: counts}, "follow_up_resident_ids": {}}


@pytest.fixture
async def campaigns(db, town):
    """After the hand-counted week: an earthquake check on 8 June, closed with its tally stored; a
    typhoon check from 9 June 08:00 still running over 東 and 西; one in May (outside the period);
    one in the other organisation."""
    east, r = town["east"], town["residents"]
    async with db() as s:

        def campaign(title, org_id, districts, started, closed=None, tally=None):
            return SafetyCheckCampaign(
                org_id=org_id,
                title=title,
                district_ids=districts,
                started_at=started,
                due_at=started + timedelta(hours=6),
                closed_at=closed,
                final_tally=tally,
            )

        quake = campaign(
            "地震",
            town["org"],
            [east],
            jst(2026, 6, 8, 1, 0),
            jst(2026, 6, 8, 20, 0),
            _tally(east, 3, 2, 0, 1, 0),
        )
        typhoon = campaign("台風", town["org"], [east, town["west"]], jst(2026, 6, 9, 8, 0))
        may = campaign(
            "五月", town["org"], [east], jst(2026, 5, 20, 8, 0), jst(2026, 5, 21), _tally(east, 3, 3, 0, 0, 0)
        )
        theirs = campaign(
            "よそ",
            town["other_org"],
            [town["elsewhere"]],
            jst(2026, 6, 9, 8, 0),
            jst(2026, 6, 9, 9, 0),
            _tally(town["elsewhere"], 1, 1, 0, 0, 0),
        )
        s.add_all([quake, typhoon, may, theirs])
        await s.flush()
        start = typhoon.started_at

        def visit(who, status, completed=None):
            return Visit(
                org_id=town["org"],
                resident_id=r[who],
                occurrence_key=f"campaign:{typhoon.id}",
                kind=VisitKind.SAFETY_CHECK,
                campaign_id=typhoon.id,
                due_start=start,
                due_end=typhoon.due_at,
                status=status,
                completed_at=completed,
            )

        def note(who, method, outcome, at):
            return ContactNote(
                org_id=town["org"],
                resident_id=r[who],
                author_id=town["vol"],
                method=method,
                outcome=outcome,
                occurred_at=at,
                received_at=at,
            )

        s.add_all(
            [
                visit("r1", VisitStatus.DONE, jst(2026, 6, 9, 9, 0)),  # marked done, no note: safe
                visit("r2", VisitStatus.PLANNED),
                visit("r3", VisitStatus.PLANNED),
                visit("w1", VisitStatus.PLANNED),  # the sensor note of 8 June is before the start
                note("r2", ContactMethod.PHONE, ContactOutcome.MET_CONCERN, jst(2026, 6, 9, 10, 0)),
                note("r3", ContactMethod.HOME_VISIT, ContactOutcome.NO_ANSWER, jst(2026, 6, 9, 11, 0)),
            ]
        )
        await s.commit()
    return town


async def test_safety_check_completion_per_district(client, campaigns) -> None:
    report = await _report(client, "coord", "?from=2026-06-08&to=2026-06-10")
    districts = {d["name"]: d["safety_checks"] for d in report["districts"]}
    east = districts["東地区"]
    # 地震 (stored tally: 2 safe, 1 unreachable) + 台風 (一 safe, 二 needs help, 三 unreachable)
    assert {k: v for k, v in east.items() if k != "by_campaign"} == {
        "campaigns": 2,
        "residents": 6,
        "confirmed_safe": 3,
        "needs_help": 1,
        "unreachable": 2,
        "not_checked": 0,
        "completed_share": 0.6667,
    }
    assert [(c["title"], c["residents"], c["closed_at"] is None) for c in east["by_campaign"]] == [
        ("地震", 3, False),
        ("台風", 3, True),
    ]
    west = districts["西地区"]
    assert (west["campaigns"], west["residents"], west["not_checked"], west["completed_share"]) == (
        1,
        1,
        1,
        0.0,
    )
    north = districts["北地区"]
    assert (north["campaigns"], north["residents"], north["completed_share"]) == (0, 0, None)
    # the hand-counted week had no campaign
    week = await _report(client, "coord")
    assert all(d["safety_checks"]["campaigns"] == 0 for d in week["districts"])


async def test_safety_checks_follow_who_may_read_coverage(client, campaigns) -> None:
    mine = await _report(client, "comm", "?from=2026-06-08&to=2026-06-10")
    assert [(d["name"], d["safety_checks"]["campaigns"]) for d in mine["districts"]] == [("東地区", 2)]
    theirs = await _report(client, "other-coord", "?from=2026-06-08&to=2026-06-10")
    assert [c["title"] for d in theirs["districts"] for c in d["safety_checks"]["by_campaign"]] == ["よそ"]


async def test_safety_checks_in_the_coverage_csv(client, campaigns) -> None:
    coord = await login(client, "coord")
    response = await client.get(URL + "?from=2026-06-08&to=2026-06-10&format=csv", headers=coord)
    lines = [line.split(",") for line in response.content.decode("utf-8-sig").split("\r\n") if line]
    east = dict(zip(lines[0], next(row for row in lines[1:] if row[0] == "東地区"), strict=True))
    assert [
        east[h]
        for h in ("安否確認（回）", "安否確認の対象者", "無事を確認", "要支援", "連絡つかず", "未確認")
    ] == [
        "2",
        "6",
        "3",
        "1",
        "2",
        "0",
    ]


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return [line.split(",") for line in response.content.decode("utf-8-sig").split("\r\n") if line]


async def test_suppressed_coverage_csv_hides_small_cells_and_their_complements(client, db, town) -> None:
    clock.set(MONTH_ENDED)
    coord = await login(client, "coord")
    lines = _csv(await client.get(URL + MONTH + "&format=csv&suppress=true", headers=coord))
    headers, rows = lines[0], {row[0]: dict(zip(lines[0], row, strict=True)) for row in lines[1:]}
    assert set(rows) == {"北地区", "東地区", "西地区", "合計"}
    # counts only: no share (share x residents is a count), no median, no names
    assert not {"接触率", "確認までの中央値（分）", "民生委員"} & set(headers)
    cells = [v for row in rows.values() for h, v in row.items() if h != "地区"]
    assert not {"1", "2", "3", "4"} & set(cells)
    assert rows["東地区"]["見守り中"] == "X" and rows["北地区"]["見守り中"] == "0"
    # no sum the file shows has exactly one hidden cell: none can be subtracted out
    for row in rows.values():
        for whole, parts in (
            ("見守り中", ("リスク高", "リスク中", "リスク低")),
            ("訪問予定", ("訪問実施", "遅れて実施", "未実施", "未記録（予定のまま）")),
        ):
            assert [row[c] for c in (whole, *parts)].count("X") != 1, row
    for column in headers[1:]:
        assert [row[column] for row in rows.values()].count("X") != 1, column
    async with db() as s:
        event = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "export"))).one()
    assert event.entity == "coverage" and event.detail["suppressed_k"] == 5


async def test_the_organisation_sets_k_and_suppression_needs_the_csv(client, db, town) -> None:
    async with db() as s:
        org = await s.get(Organisation, town["org"])
        org.settings = {**(org.settings or {}), "small_cell_k": 2}
        await s.commit()
    clock.set(MONTH_ENDED)
    coord = await login(client, "coord")
    lines = _csv(await client.get(URL + MONTH + "&format=csv&suppress=true", headers=coord))
    rows = {row[0]: dict(zip(lines[0], row, strict=True)) for row in lines[1:]}
    cells = [v for row in rows.values() for h, v in row.items() if h != "地区"]
    assert "1" not in cells and {"2", "3"} & set(cells)  # only the ones are small now
    json = await client.get(URL + WEEK + "&suppress=true", headers={**coord, "Accept-Language": "en"})
    assert json.status_code == 400 and json.json()["errors"][0]["field"] == "suppress"
    vol = await login(client, "vol")
    assert (await client.get(URL + "?format=csv&suppress=true", headers=vol)).status_code == 403


TRENDS = "/api/v1/reports/trends"
# a trend month's figure: the coverage file's column it is (its totals row, or the district's row)
TREND_COLUMNS = {
    "contacted": "期間内に接触した人数",
    "visits_due": "訪問予定",
    "visits_missed": "未実施",
    "alerts_raised": "アラート発生",
}


async def test_suppressed_trends_are_the_ended_months_as_their_files_publish_them(client, town) -> None:
    """Statistics leaving the office are published by whole ended calendar month only: with
    suppress=true the trends are monthly, the running month never among them, and each month's
    figures are the month's suppressed coverage file's, cell for cell (its totals row; with
    district_id, the district's row)."""
    coord = await login(client, "coord")
    response = await client.get(TRENDS + "?suppress=true", headers=coord)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["period"] == "month" and "weeks" not in report
    assert report["suppressed_k"] == 5 and report["active_residents"] is None  # 4 active
    # today is 10 June: the last twelve months that have ended, June (running) not among them
    assert [m["month"] for m in report["months"]][-2:] == ["2026-04", "2026-05"]
    assert len(report["months"]) == 12 and report["months"][0]["month_start"] == "2025-06-01"
    assert report["months"][-1]["month_end"] == "2026-05-31"
    assert all("contacted_share" not in m for m in report["months"])
    clock.set(MONTH_ENDED)
    coord = await login(client, "coord")
    for district_id in (None, town["east"]):
        only = f"&district_id={district_id}" if district_id else ""
        months = (await client.get(TRENDS + f"?suppress=true&months=2{only}", headers=coord)).json()
        assert [m["month"] for m in months["months"]] == ["2026-05", "2026-06"]
        june = months["months"][-1]
        lines = _csv(await client.get(URL + MONTH + f"&format=csv&suppress=true{only}", headers=coord))
        total = dict(zip(lines[0], lines[-1], strict=True))
        assert lines[-1][0] == "合計"
        for name, column in TREND_COLUMNS.items():
            assert june[name] == (None if total[column] == "X" else int(total[column])), (name, total)
        assert months["active_residents"] == (None if total["見守り中"] == "X" else int(total["見守り中"]))
    assert june["contacted"] is None and june["alerts_raised"] is None  # 東地区's small cells
    plain = (await client.get(TRENDS, headers=coord)).json()
    assert "suppressed_k" not in plain and plain["active_residents"] == 4 and len(plain["weeks"]) == 12


async def test_suppressed_trends_refuse_weeks_and_months_need_suppress(client, town) -> None:
    """The weekly suppressed trends are gone (a week straddling two months linked their files; the
    running week asked on two days gave a day away): weeks with suppress=true answer 400 naming
    weeks, in Japanese by default and in English; months apply to the suppressed trends only."""
    coord = await login(client, "coord")
    english = {**coord, "Accept-Language": "en"}
    for url in (TRENDS, "/api/v1/reports/charts/trends.svg"):
        for query, field, ja, en in (
            ("?suppress=true&weeks=4", "weeks", "暦月単位", "whole calendar months"),
            ("?suppress=true&weeks=12", "weeks", "暦月単位", "whole calendar months"),
            ("?months=3", "months", "suppress=true", "suppress=true"),
            ("?suppress=true&months=25", "months", None, None),
            ("?suppress=true&months=0", "months", None, None),
        ):
            refused = await client.get(url + query, headers=coord)
            assert refused.status_code == 400, (url, query, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            errors = refused.json()["errors"]
            assert [e["field"] for e in errors] == [field], errors
            if ja:
                assert ja in errors[0]["message"], errors
                message = (await client.get(url + query, headers=english)).json()["errors"][0]["message"]
                assert en in message, message


async def test_visits_export_of_a_period_follows_who_may_see_the_resident(client, db, town) -> None:
    url = "/api/v1/reports/exports/visits" + WEEK
    coord = await login(client, "coord")
    lines = _csv(await client.get(url, headers=coord))
    assert lines[0] == ["予定（開始）", "予定（終了）", "氏名", "地区", "種類", "状況", "担当", "実施日時"]
    assert [(r[0], r[2], r[5], r[7]) for r in lines[1:]] == [
        ("2026-06-02 09:00", "一", "実施", "2026-06-02 10:00"),
        ("2026-06-03 09:00", "一", "実施", "2026-06-04 10:00"),
        ("2026-06-04 09:00", "二", "未実施", ""),
        ("2026-06-05 09:00", "一", "取消", ""),
        ("2026-06-07 09:00", "二", "予定", ""),
    ]
    comm = await login(client, "comm")  # 二 consented to volunteers only
    assert [r[2] for r in _csv(await client.get(url, headers=comm))[1:]] == ["一", "一", "一"]
    english = _csv(await client.get(url, headers={**coord, "Accept-Language": "en"}))
    assert english[0][:2] == ["Due from", "Due until"] and english[1][4:6] == ["planned", "done"]
    other = await login(client, "other-coord")
    assert len(_csv(await client.get(url, headers=other))) == 1  # the header only
    vol = await login(client, "vol")
    assert (await client.get(url, headers=vol)).status_code == 403
    bad = await client.get("/api/v1/reports/exports/visits?from=2026-06-08&to=2026-06-01", headers=coord)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "to"
    async with db() as s:
        events = (
            await s.execute(
                select(User.login, AuditEvent)
                .join(User, User.id == AuditEvent.actor_id)
                .where(AuditEvent.entity == "visit")
            )
        ).all()
    # one event per export, in no set order (the clock is frozen): the coordinator's two (Japanese
    # and English), the commissioner's and the other town's coordinator's (the header only)
    assert sorted((who, len(e.detail["visit_ids"])) for who, e in events) == [
        ("comm", 3),
        ("coord", 5),
        ("coord", 5),
        ("other-coord", 0),
    ]


async def test_alerts_export_of_a_period(client, db, town) -> None:
    url = "/api/v1/reports/exports/alerts" + WEEK
    coord = await login(client, "coord")
    lines = _csv(await client.get(url, headers=coord))
    assert lines[0][:3] == ["発生日時", "氏名", "地区"]
    assert [r[:2] + r[3:] for r in lines[1:]] == [
        [
            "2026-06-04 20:00",
            "二",
            "訪問未実施",
            "通常",
            "解決済",
            "2026-06-04 20:30",
            "2026-06-04 22:00",
            "",
        ],
        # the fixture leaves a2 open with an acknowledgement time: the status is shown as stored
        ["2026-06-05 10:00", "三", "訪問未実施", "通常", "未対応", "2026-06-05 11:30", "", ""],
        ["2026-06-06 10:00", "一", "訪問未実施", "通常", "未対応", "", "", ""],
    ]
    comm = await login(client, "comm")
    assert [r[1] for r in _csv(await client.get(url, headers=comm))[1:]] == ["一"]
    assert (await client.get(url, headers=await login(client, "vol"))).status_code == 403
    foreign = await client.get(url + f"&district_id={town['elsewhere']}", headers=coord)
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["field"] == "district_id"
    async with db() as s:
        events = (
            await s.execute(
                select(User.login, AuditEvent)
                .join(User, User.id == AuditEvent.actor_id)
                .where(AuditEvent.entity == "alert")
            )
        ).all()
    # the coordinator's export named its three alerts, the commissioner's the one they may see
    assert sorted((who, e.action, len(e.detail["alert_ids"])) for who, e in events) == [
        ("comm", "export", 1),
        ("coord", "export", 3),
    ]
