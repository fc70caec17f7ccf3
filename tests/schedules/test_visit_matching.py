"""Visits matched the way people work (issue #10, finding 1): a note naming its visit fulfils it from
the visit's local day on (early the same day counts, after the window it is done late and the
missed-visit alert resolves `recorded_late`); a note naming no visit fulfils the earliest open visit
whose window, opened earlier by the organisation's early allowance, contains it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from domain.clock import clock
from domain.enums import AlertResolution, AlertStatus, ConsentRecipient, Role, VisitStatus
from domain.models import Alert, ContactNote, Organisation, Visit, VisitPlan
from schedules import jobs, ladder, plans
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note, visits_of

NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 9 Nov, 10:00 JST
JST = 9  # hours ahead of UTC


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=JST)


async def _town(db, **settings):
    """The issue's set-up: a daily visit from 10 Nov with the window 08:17–08:19 JST."""
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        org.settings = settings
        district = await make_district(session, org)
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        coord = await make_user(session, org, Role.COORDINATOR, "coord")
        resident = await make_resident(session, org, district)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        fields = {
            "rrule": "FREQ=DAILY",
            "starts_on": date(2026, 11, 10),
            "window_start": time(8, 17),
            "window_end": time(8, 19),
            "window_days": 1,
            "assignee_id": comm.id,
        }
        await plans.create_plan(session, org, resident, fields, coord.id)
    return comm, resident


async def _visit_on(session, resident, day: int) -> Visit:
    (visit,) = [v for v in await visits_of(session, resident) if v.due_start == jst(day, 8, 17)]
    return visit


async def _missed_alerts(session, visit: Visit) -> list[Alert]:
    return list(await session.scalars(select(Alert).where(Alert.cause_key == f"missed_visit:{visit.id}")))


async def test_a_note_naming_its_visit_minutes_before_the_window_fulfils_it(db, db_config) -> None:
    comm, resident = await _town(db)
    async with db() as session:
        visit = await _visit_on(session, resident, 10)
        clock.set(jst(10, 8, 15))
        await record_note(session, resident, comm, jst(10, 8, 15), visit_id=visit.id)
    clock.set(jst(12, 10))  # past the window and the 24 h grace
    await jobs.sweep(db_config)
    async with db() as session:
        visit = await session.get_one(Visit, visit.id)
        assert (visit.status, visit.completed_at, ladder.is_late(visit)) == (
            VisitStatus.DONE,
            jst(10, 8, 15),
            False,
        )
        assert await _missed_alerts(session, visit) == []
        # The next day's visit, which nobody made, is still chased: the rule is not "anything goes".
        assert (await _visit_on(session, resident, 11)).status == VisitStatus.MISSED


async def test_a_note_naming_its_visit_after_the_alert_is_done_late_and_resolves_it(
    client, db, db_config
) -> None:
    comm, resident = await _town(db)
    clock.set(jst(12, 10))
    await jobs.sweep(db_config)
    async with db() as session:
        visit = await _visit_on(session, resident, 10)
        (alert,) = await _missed_alerts(session, visit)
        assert visit.status == VisitStatus.MISSED and alert.status == AlertStatus.OPEN
        await record_note(session, resident, comm, jst(12, 9, 30), visit_id=visit.id)
    async with db() as session:
        visit = await session.get_one(Visit, visit.id)
        (alert,) = await _missed_alerts(session, visit)
        note = await session.scalar(select(ContactNote))
        assert (visit.status, ladder.is_late(visit), visit.fulfilled_by_note_id) == (
            VisitStatus.DONE,
            True,
            note.id,
        )
        assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, AlertResolution.RECORDED_LATE)
        # Named notes fulfil only the visit they name.
        assert note.visit_id == visit.id
        assert (await _visit_on(session, resident, 11)).status == VisitStatus.MISSED
    # The commissioner's schedule shows it done, and late.
    mine = await client.get(
        "/api/v1/me/visits", params={"from": jst(10, 0).isoformat()}, headers=await login(client, "comm")
    )
    assert mine.status_code == 200, mine.text
    shown = {v["id"]: (v["status"], v["late"], v["contact_recorded"]) for v in mine.json()}
    assert shown[visit.id] == ("done", True, True)


async def test_a_note_naming_a_later_visit_before_its_day_fulfils_nothing(db) -> None:
    comm, resident = await _town(db)
    async with db() as session:
        later = await _visit_on(session, resident, 12)
        await record_note(session, resident, comm, jst(10, 8, 18), visit_id=later.id)
    async with db() as session:
        assert [v.status for v in await visits_of(session, resident)][:3] == [VisitStatus.PLANNED] * 3


async def test_a_note_naming_no_visit_counts_within_the_early_allowance(db, db_config) -> None:
    comm, resident = await _town(db)  # default allowance: 120 minutes
    async with db() as session:
        await record_note(session, resident, comm, jst(10, 7, 0))  # 77 minutes early
        await record_note(session, resident, comm, jst(11, 5, 30))  # 167 minutes early: not this visit
    clock.set(jst(13, 10))
    await jobs.sweep(db_config)
    async with db() as session:
        first, second = await _visit_on(session, resident, 10), await _visit_on(session, resident, 11)
        assert (first.status, first.completed_at) == (VisitStatus.DONE, jst(10, 7, 0))
        assert second.status == VisitStatus.MISSED
        (note,) = await session.scalars(select(ContactNote).where(ContactNote.occurred_at == jst(10, 7, 0)))
        assert note.visit_id == first.id


async def test_the_early_allowance_is_the_organisations_rule(db, db_config) -> None:
    comm, resident = await _town(db, early_allowance_minutes=0)
    async with db() as session:
        await record_note(session, resident, comm, jst(10, 8, 0))  # 17 minutes early, allowance 0
    clock.set(jst(12, 10))
    await jobs.sweep(db_config)  # the sweep applies the same rule as the listener
    async with db() as session:
        assert (await _visit_on(session, resident, 10)).status == VisitStatus.MISSED
        org = await session.scalar(select(Organisation))
        org.settings = {"early_allowance_minutes": 30}
    async with db() as session:
        await record_note(session, resident, comm, jst(13, 8, 0))
        assert (await _visit_on(session, resident, 13)).status == VisitStatus.DONE


async def test_a_note_naming_a_visit_withdrawn_by_a_plan_edit_fulfils_its_replacement(db) -> None:
    comm, resident = await _town(db)
    async with db() as session:
        old = await _visit_on(session, resident, 10)
        plan = await session.get_one(VisitPlan, old.plan_id)
        org = await session.get_one(Organisation, plan.org_id)
        await plans.update_plan(session, plan, org, {"window_end": time(8, 40)})  # written offline before
    async with db() as session:
        note = await record_note(session, resident, comm, jst(10, 8, 30), visit_id=old.id)
    async with db() as session:
        (new,) = [v for v in await visits_of(session, resident) if v.fulfilled_by_note_id == note.id]
        assert (new.due_start, new.due_end, new.status) == (jst(10, 8, 17), jst(10, 8, 40), VisitStatus.DONE)
        assert (await session.get_one(Visit, old.id)).status == VisitStatus.CANCELLED
        assert (await session.get_one(ContactNote, note.id)).visit_id == new.id  # names what it fulfils
