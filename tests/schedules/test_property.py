"""Property: for random plans and random notes (on time, late, synced late, never), once every
window and grace period has passed, each closed window has a note inside it (opened earlier by
the early allowance) or exactly one alert, and no visit ever has two."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from domain.clock import clock
from domain.enums import ConsentRecipient, ContactOutcome, HolidayRule, Role
from domain.models import Alert, ContactNote, Organisation, Visit
from domain.org_settings import OrgRules
from schedules import jobs, plans
from tests.factories import give_consent, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

START = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
DAYS = 21
EARLY = timedelta(minutes=OrgRules().early_allowance_minutes)

rules = st.sampled_from(
    [
        "FREQ=DAILY;INTERVAL=2",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        "FREQ=WEEKLY;BYDAY=TU",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
        "FREQ=MONTHLY;BYMONTHDAY=3,15",
    ]
)
notes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=DAYS * 24 - 1),  # occurred: hours after START
        st.integers(min_value=0, max_value=72),  # synced this many hours later
        st.sampled_from([ContactOutcome.MET_WELL, ContactOutcome.PHONE_ONLY, ContactOutcome.MET_CONCERN]),
    ),
    max_size=12,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rule=rules,
    window_start=st.integers(min_value=0, max_value=20),
    window_end=st.integers(min_value=0, max_value=23),
    window_days=st.integers(min_value=1, max_value=3),
    holiday_rule=st.sampled_from(list(HolidayRule)),
    random_notes=notes,
)
async def test_every_closed_window_has_a_note_or_exactly_one_alert(
    db, db_config, rule, window_start, window_end, window_days, holiday_rule, random_notes
) -> None:
    if window_days == 1 and window_end <= window_start:
        window_end = window_start + 1 + window_end % 3
    clock.set(START)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        visitor = await make_user(session, org, Role.COMMISSIONER, f"c-{org.id}", districts=[district])
        resident = await make_resident(session, org, district)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await plans.create_plan(
            session,
            await session.get_one(Organisation, org.id),
            resident,
            {
                "rrule": rule,
                "starts_on": date(2026, 11, 1),
                "ends_on": date(2026, 11, DAYS),
                "window_start": time(window_start),
                "window_end": time(window_end),
                "window_days": window_days,
                "holiday_rule": holiday_rule,
                "assignee_id": visitor.id,
            },
            visitor.id,
        )
    arrivals = sorted(
        (START + timedelta(hours=o + d), START + timedelta(hours=o)) for o, d, _ in random_notes
    )
    outcomes = iter([outcome for _, _, outcome in sorted(random_notes, key=lambda n: n[0] + n[1])])
    moment = START
    while moment < START + timedelta(days=DAYS + 5):
        moment += timedelta(hours=12)
        while arrivals and arrivals[0][0] <= moment:
            synced, occurred = arrivals.pop(0)
            clock.set(synced)
            async with db() as session:
                await record_note(session, resident, visitor, occurred, next(outcomes))
        clock.set(moment)
        await jobs.sweep_visits(db_config)

    async with db() as session:
        visits = list(await session.scalars(select(Visit).where(Visit.resident_id == resident.id)))
        closed = [v for v in visits if v.due_end < moment and v.status != "cancelled"]
        for visit in closed:
            inside = await session.scalar(
                select(func.count(ContactNote.id)).where(
                    ContactNote.resident_id == resident.id,
                    # A note naming no visit counts from the organisation's early allowance on.
                    ContactNote.occurred_at >= visit.due_start - EARLY,
                    ContactNote.occurred_at <= visit.due_end,
                )
            )
            alerts = await session.scalar(select(func.count(Alert.id)).where(Alert.visit_id == visit.id))
            assert alerts <= 1
            assert inside > 0 or alerts == 1, (visit.due_start, visit.due_end)
            if alerts == 0:
                assert visit.status == "done"
            else:
                assert visit.status in ("missed", "done")
