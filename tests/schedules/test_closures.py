"""Organisation closure days count as holidays for a plan's skip/shift rule (issue #10, finding 6):
年末年始 (29 Dec – 3 Jan) by default, plus the days the organisation adds in its rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from domain.clock import clock
from domain.enums import ConsentRecipient, HolidayRule, Role, VisitStatus
from domain.models import Organisation
from schedules import plans
from schedules.recurrence import Cadence, occurrences
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import visits_of

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 Dec, 10:00 JST
JST = ZoneInfo("Asia/Tokyo")
TUESDAYS = "FREQ=WEEKLY;BYDAY=TU"  # 29 Dec 2026 is a Tuesday


async def _town(db):
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        coord = await make_user(session, org, Role.COORDINATOR, "coord")
        resident = await make_resident(session, org, district)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
    return org.id, comm.id, coord.id, resident


async def _visit_days(db, org_id, comm_id, coord_id, resident, rule: HolidayRule) -> dict[str, date]:
    """Occurrence date → local date of each visit planned for a Tuesday plan under `rule`."""
    async with db() as session:
        org = await session.get_one(Organisation, org_id)
        fields = {
            "rrule": TUESDAYS,
            "starts_on": date(2026, 12, 1),
            "window_start": time(9),
            "window_end": time(17),
            "window_days": 1,
            "assignee_id": comm_id,
            "holiday_rule": rule,
        }
        plan = await plans.create_plan(session, org, resident, fields, coord_id)
        visits = [v for v in await visits_of(session, resident) if v.plan_id == plan.id]
    # 09:00 JST is 00:00 UTC: the UTC date is the local date here.
    return {v.occurrence_key[:10]: v.due_start.date() for v in visits if v.status == VisitStatus.PLANNED}


async def test_year_end_closure_moves_or_skips_a_29_december_visit(db) -> None:
    org_id, comm_id, coord_id, resident = await _town(db)
    shifted = await _visit_days(db, org_id, comm_id, coord_id, resident, HolidayRule.SHIFT)
    # 29 Dec → the next working day after 年末年始 and the weekend: Monday 4 Jan.
    assert shifted["2026-12-29"] == date(2027, 1, 4)
    assert shifted["2026-12-22"] == date(2026, 12, 22) and shifted["2027-01-05"] == date(2027, 1, 5)
    skipped = await _visit_days(db, org_id, comm_id, coord_id, resident, HolidayRule.SKIP)
    assert "2026-12-29" not in skipped and skipped["2027-01-05"] == date(2027, 1, 5)
    kept = await _visit_days(db, org_id, comm_id, coord_id, resident, HolidayRule.NONE)
    assert kept["2026-12-29"] == date(2026, 12, 29)


async def test_days_the_organisation_adds_count_and_year_end_can_be_switched_off(client, db) -> None:
    org_id, comm_id, coord_id, resident = await _town(db)
    coord = await login(client, "coord")
    planned = await _visit_days(db, org_id, comm_id, coord_id, resident, HolidayRule.SHIFT)
    assert (planned["2026-12-15"], planned["2026-12-29"]) == (date(2026, 12, 15), date(2027, 1, 4))
    changed = await client.patch(
        "/api/v1/org/rules",
        json={"closure_days": ["2026-12-15"], "year_end_closure": False},
        headers=coord,
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get("/api/v1/org/rules", headers=coord)).json()["closure_days"] == ["2026-12-15"]
    # The plan made before the change is planned again; a plan made after it agrees.
    async with db() as session:
        moved = {
            v.occurrence_key[:10]: v.due_start.date()
            for v in await visits_of(session, resident)
            if v.status == VisitStatus.PLANNED
        }
    shifted = await _visit_days(db, org_id, comm_id, coord_id, resident, HolidayRule.SHIFT)
    for days in (moved, shifted):
        assert days["2026-12-15"] == date(2026, 12, 16)
        assert days["2026-12-29"] == date(2026, 12, 29)  # 年末年始 switched off
    # The plan preview agrees with the expansion.
    preview = await client.post(
        "/api/v1/plans/preview",
        json={
            "rrule": TUESDAYS,
            "starts_on": "2026-12-01",
            "window_start": "09:00",
            "window_end": "17:00",
            "holiday_rule": "shift",
            "count": 3,
        },
        headers=coord,
    )
    assert preview.status_code == 200, preview.text
    assert [(o["rule_date"], o["local_date"]) for o in preview.json()["occurrences"]] == [
        ("2026-12-01", "2026-12-01"),
        ("2026-12-08", "2026-12-08"),
        ("2026-12-15", "2026-12-16"),
    ]
    bad = await client.patch("/api/v1/org/rules", json={"closure_days": ["31 Dec"]}, headers=coord)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("closure_days")


def _days(rule: str, from_date: date, until_date: date) -> list[tuple[date, date]]:
    cadence = Cadence(
        rrule=rule,
        starts_on=date(2026, 12, 1),
        ends_on=None,
        window_start=time(10),
        window_end=time(16),
        window_days=1,
        holiday_rule=HolidayRule.SHIFT,
    )
    return [
        (o.key_date, o.local_date)
        for o in occurrences(cadence, JST, from_date=from_date, until_date=until_date)
    ]


def test_dates_shifted_onto_one_day_make_one_visit() -> None:
    # 29 and 31 Dec (closed) both move to Mon 4 Jan: one visit there, keyed by 29 Dec — not two
    # visits for one door, the second of which would be "missed" and alert.
    assert _days("FREQ=WEEKLY;BYDAY=TU,TH", date(2026, 12, 28), date(2027, 1, 8)) == [
        (date(2026, 12, 29), date(2027, 1, 4)),
        (date(2027, 1, 5), date(2027, 1, 5)),
        (date(2027, 1, 7), date(2027, 1, 7)),
    ]
    # The same whichever day an expansion run starts from (expansion continues day after day).
    assert _days("FREQ=WEEKLY;BYDAY=TU,TH", date(2026, 12, 31), date(2027, 1, 8))[0] == (
        date(2027, 1, 5),
        date(2027, 1, 5),
    )
    # A daily plan: the six closed days and the day they move to make one visit on 4 Jan.
    daily = _days("FREQ=DAILY", date(2026, 12, 28), date(2027, 1, 5))
    assert daily == [
        (date(2026, 12, 28), date(2026, 12, 28)),
        (date(2026, 12, 29), date(2027, 1, 4)),
        (date(2027, 1, 5), date(2027, 1, 5)),
    ]
    # 成人の日 (Mon 11 Jan 2027) moves onto Tuesday, which the rule visits anyway: one visit.
    assert _days("FREQ=WEEKLY;BYDAY=MO,TU", date(2027, 1, 11), date(2027, 1, 12)) == [
        (date(2027, 1, 11), date(2027, 1, 12))
    ]
