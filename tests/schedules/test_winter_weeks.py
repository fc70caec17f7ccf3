"""Three winter weeks in a small town (21 Dec 2026 – 10 Jan 2027, Asia/Tokyo), driven by the test
clock like the November month (tests/schedules/test_month.py): 年末年始 (29 Dec – 3 Jan, the office's
closure days) under skip and shift, notes recorded early and late, notes that name their visit and
notes that name none. At the end the exact visits, reminders and alerts are checked.

Every plan's window is 10:00–16:00 local (U's lasts four days); reminders 18:00 the evening before
and 08:30 (sent at the 09:00 run) the morning of; grace 24 h; early allowance 120 minutes.

  P  Tuesdays and Thursdays, shift, visitor V — 29 and 31 Dec are closure days: both move to the
     next working day, Mon 4 Jan, where one visit serves them (one visitor, one door, one note)
  Q  daily, skip, visitor V2 — no visit 29 Dec – 3 Jan (1 Jan is also 元日); on time otherwise
  R  Mondays, visitor V — 21 Dec a note naming the visit at 07:30 (early, the same day: done);
     28 Dec a note naming none at 08:30 (inside the 120-minute early allowance: done);
     4 Jan a note naming none at 07:00 (three hours early: fulfils nothing), nobody comes back:
     asked to record, missed, one alert that climbs
  T  Wednesdays, shift, visitor V2 — 23 Dec made two days late, on 25 Dec 11:00, by a note naming
     it: done late, its alert (24 Dec 16:00) resolved `recorded_late`; 30 Dec moved to Mon 4 Jan,
     on time; 6 Jan made at 19:00, after the window, named: done late, asked to record, no alert
  U  Mondays and Thursdays with four-day windows (they overlap on Thursdays), skip, visitor C —
     a note naming no visit fulfils the earliest open visit whose window holds it: 24 Dec 11:00
     serves Monday 21 Dec's visit, 26 Dec serves Thursday 24 Dec's; 31 Dec (closure) skipped

Nothing is due, reminded or alerted on a closure day (the evening reminder on 3 Jan is for 4 Jan).
Every alert has its cause and every cause exactly one alert.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.clock import clock
from domain.enums import AlertResolution, ConsentRecipient, HolidayRule, RiskLevel, Role, VisitKind
from domain.models import Alert, AlertEvent, Notification, Visit
from schedules import jobs, ladder, plans
from schedules.recurrence import Closures
from tests.factories import assign, give_consent, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import Event, record_note, run_hours

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 12, 21, 0, 0, tzinfo=JST)
END = datetime(2027, 1, 11, 0, 0, tzinfo=JST)
CLOSED = [date(2026, 12, 29) + timedelta(days=n) for n in range(6)]  # 29 Dec – 3 Jan


def jst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026 if month == 12 else 2027, month, day, hour, minute, tzinfo=JST)


def day_of(moment: datetime) -> date:
    return moment.astimezone(JST).date()


async def _build_town(db):
    clock.set(START)
    async with db() as session:
        org = await make_org(session, "見守り町")
        north = await make_district(session, org, "北地区")
        people = {
            "K": await make_user(session, org, Role.COORDINATOR, "k-coord"),
            "C": await make_user(session, org, Role.COMMISSIONER, "c-comm", districts=[north]),
            "V": await make_user(session, org, Role.VOLUNTEER, "v-vol"),
            "V2": await make_user(session, org, Role.VOLUNTEER, "v2-vol"),
        }
        residents = {}
        for key in "PQRTU":
            # Medium risk: no contact-gap alert within three weeks (30 days), only the visits speak.
            residents[key] = await make_resident(
                session, org, north, name=f"住民{key}", risk_level=RiskLevel.MEDIUM
            )
            await give_consent(session, residents[key], ConsentRecipient.VOLUNTEERS)
            await give_consent(session, residents[key], ConsentRecipient.DISTRICT_COMMISSIONER)
        cadences = {
            "P": ("FREQ=WEEKLY;BYDAY=TU,TH", 1, "V", HolidayRule.SHIFT),
            "Q": ("FREQ=DAILY", 1, "V2", HolidayRule.SKIP),
            "R": ("FREQ=WEEKLY;BYDAY=MO", 1, "V", HolidayRule.SHIFT),
            "T": ("FREQ=WEEKLY;BYDAY=WE", 1, "V2", HolidayRule.SHIFT),
            "U": ("FREQ=WEEKLY;BYDAY=MO,TH", 4, "C", HolidayRule.SKIP),
        }
        for key, (rule, days, visitor, holiday_rule) in cadences.items():
            await assign(session, residents[key], people[visitor])
            await plans.create_plan(
                session,
                org,
                residents[key],
                {
                    "rrule": rule,
                    "starts_on": date(2026, 12, 21),
                    "window_start": time(10),
                    "window_end": time(16),
                    "window_days": days,
                    "holiday_rule": holiday_rule,
                    "assignee_id": people[visitor].id,
                },
                people["K"].id,
            )
    return org, people, residents


async def test_three_winter_weeks(db, db_config) -> None:
    _, people, residents = await _build_town(db)
    login_of = {u.id: key for key, u in people.items()}
    resident_of = {r.id: key for key, r in residents.items()}
    visitor = {"P": "V", "Q": "V2", "R": "V", "T": "V2", "U": "C"}
    assert all(day in Closures() for day in CLOSED)

    def note(key: str, at: datetime, names_visit_on: date | None = None) -> Event:
        """A note pushed at the current hour, recorded at `at`; naming the visit of that local day."""

        async def _go() -> None:
            async with db() as session:
                visit_id = None
                if names_visit_on is not None:
                    visits = await session.scalars(
                        select(Visit).where(Visit.resident_id == residents[key].id)
                    )
                    (visit_id,) = [v.id for v in visits if day_of(v.due_start) == names_visit_on]
                await record_note(session, residents[key], people[visitor[key]], at, visit_id=visit_id)

        return _go

    events: dict[datetime, list[Event]] = defaultdict(list)
    on_time = {
        "P": [jst(12, 22, 11), jst(12, 24, 11), jst(1, 4, 11), jst(1, 5, 11), jst(1, 7, 11)],
        "Q": [jst(12, d, 11) for d in range(21, 29)] + [jst(1, d, 11) for d in range(4, 11)],
        "T": [jst(1, 4, 11)],
        "U": [jst(12, 24, 11), jst(12, 26, 11), jst(12, 28, 11), jst(1, 7, 11), jst(1, 9, 11)],
    }
    for key, moments in on_time.items():
        for moment in moments:
            events[moment].append(note(key, moment))
    # R: early the same day, naming the visit; early within the allowance, naming none; too early.
    events[jst(12, 21, 8)].append(note("R", jst(12, 21, 7, 30), names_visit_on=date(2026, 12, 21)))
    events[jst(12, 28, 9)].append(note("R", jst(12, 28, 8, 30)))
    events[jst(1, 4, 7)].append(note("R", jst(1, 4, 7)))
    # T: the 23 Dec visit made (and recorded) on 25 Dec, naming it; 6 Jan made at 19:00.
    events[jst(12, 25, 11)].append(note("T", jst(12, 25, 11), names_visit_on=date(2026, 12, 23)))
    events[jst(1, 6, 19)].append(note("T", jst(1, 6, 19), names_visit_on=date(2027, 1, 6)))

    await run_hours(db_config, START, END, events, JST)

    async with db() as session:
        visits = list(await session.scalars(select(Visit).order_by(Visit.due_start, Visit.resident_id)))
        alerts = list(await session.scalars(select(Alert).order_by(Alert.opened_at)))
        notifications = list(await session.scalars(select(Notification).order_by(Notification.created_at)))
        events_by_alert = defaultdict(list)
        for row in await session.scalars(select(AlertEvent).order_by(AlertEvent.at, AlertEvent.action)):
            events_by_alert[row.alert_id].append(row.action)

    # --- Visits within the three weeks: (resident, rule date, local day, status) -------------------
    in_weeks = [v for v in visits if v.due_start < END]
    assert {str(v.kind) for v in in_weeks} == {VisitKind.PLANNED}

    def status(v: Visit) -> str:
        return "done_late" if ladder.is_late(v) else str(v.status)

    got = sorted(
        (
            resident_of[v.resident_id],
            v.occurrence_key.split("/")[0],
            day_of(v.due_start).isoformat(),
            status(v),
        )
        for v in in_weeks
    )

    def same(key: str, days: list[str], state: str = "done") -> list[tuple[str, str, str, str]]:
        return [(key, d, d, state) for d in days]

    q_days = [f"2026-12-{d}" for d in range(21, 29)] + [f"2027-01-{d:02}" for d in range(4, 11)]
    expected = sorted(
        [
            *same("P", ["2026-12-22", "2026-12-24", "2027-01-05", "2027-01-07"]),
            ("P", "2026-12-29", "2027-01-04", "done"),  # 31 Dec moved to 4 Jan too: served by it
            *same("Q", q_days),
            *same("R", ["2026-12-21", "2026-12-28"]),
            *same("R", ["2027-01-04"], "missed"),
            *same("T", ["2026-12-23", "2027-01-06"], "done_late"),
            ("T", "2026-12-30", "2027-01-04", "done"),
            *same("U", ["2026-12-21", "2026-12-24", "2026-12-28", "2027-01-04", "2027-01-07"]),
        ]
    )
    assert got == expected
    assert not [v for v in in_weeks if day_of(v.due_start) in CLOSED]
    # Who fulfilled what: R's early notes, T's late ones, and U's earliest-open matching.
    by_visit = {(resident_of[v.resident_id], day_of(v.due_start)): v for v in in_weeks}
    assert by_visit[("R", date(2026, 12, 21))].completed_at == jst(12, 21, 7, 30)
    assert by_visit[("R", date(2026, 12, 28))].completed_at == jst(12, 28, 8, 30)
    assert by_visit[("T", date(2026, 12, 23))].completed_at == jst(12, 25, 11)
    assert by_visit[("U", date(2026, 12, 21))].completed_at == jst(12, 24, 11)
    assert by_visit[("U", date(2026, 12, 24))].completed_at == jst(12, 26, 11)
    assert by_visit[("U", date(2027, 1, 4))].completed_at == jst(1, 7, 11)
    assert by_visit[("U", date(2027, 1, 7))].completed_at == jst(1, 9, 11)

    # --- Reminders: evening before and morning of each visit, never for a closure day ---------------
    def sent(kind: str) -> list[tuple[str, str, datetime]]:
        return sorted(
            (login_of[n.user_id], resident_of[n.resident_id], n.created_at.astimezone(JST))
            for n in notifications
            if n.kind == kind
        )

    assert sent("visit.reminder_evening") == sorted(
        (
            visitor[resident_of[v.resident_id]],
            resident_of[v.resident_id],
            datetime.combine(day_of(v.due_start) - timedelta(days=1), time(18), tzinfo=JST),
        )
        for v in in_weeks
        if v.due_start > START + timedelta(days=1)  # 20 Dec's evening had passed when the plans began
    )
    assert sent("visit.reminder_morning") == sorted(
        (
            visitor[resident_of[v.resident_id]],
            resident_of[v.resident_id],
            datetime.combine(day_of(v.due_start), time(9), tzinfo=JST),
        )
        for v in in_weeks
        # R's early notes arrived before the 09:00 run: done, nothing to remind.
        if (resident_of[v.resident_id], day_of(v.due_start))
        not in {("R", date(2026, 12, 21)), ("R", date(2026, 12, 28))}
    )
    assert sent("visit.record_or_sync") == [
        ("V", "R", jst(1, 4, 16)),
        ("V2", "T", jst(12, 23, 16)),
        ("V2", "T", jst(1, 6, 16)),
    ]
    for n in notifications:
        if day_of(n.created_at) in CLOSED:
            # Only the evening reminders of the visits on 4 Jan, sent on 3 Jan.
            assert (n.kind, n.created_at) == ("visit.reminder_evening", jst(1, 3, 18)), (n.kind, n.created_at)

    # --- Alerts: exactly these, one per cause -------------------------------------------------------
    summary = [
        (
            a.kind,
            resident_of[a.resident_id],
            a.opened_at.astimezone(JST),
            str(a.status),
            a.resolution,
            a.escalation_level,
        )
        for a in alerts
    ]
    assert summary == [
        ("missed_visit", "T", jst(12, 24, 16), "resolved", AlertResolution.RECORDED_LATE, 2),
        ("missed_visit", "R", jst(1, 5, 16), "open", None, 3),
    ]
    late, missed = alerts
    assert late.cause_key == f"missed_visit:{by_visit[('T', date(2026, 12, 23))].id}"
    assert late.resolved_at == jst(12, 25, 11)
    assert [e for e in events_by_alert[late.id] if e != "notified"] == [
        "created",
        "escalated",
        "escalated",
        "resolved",
    ]
    assert sent("alert.false_alarm") == [(u, "T", jst(12, 25, 11)) for u in ("C", "K", "V2")]
    assert missed.cause_key == f"missed_visit:{by_visit[('R', date(2027, 1, 4))].id}"
    # Every alert has a cause and every cause exactly one alert.
    assert len({a.cause_key for a in alerts}) == len(alerts)
    assert not [a for a in alerts if day_of(a.opened_at) in CLOSED]

    # Running everything again changes nothing (expansion at midnight only adds the new day's
    # visits at the end of the horizon).
    await jobs.expand_plans(db_config)
    await jobs.sweep(db_config)
    await jobs.detect_contact_gaps(db_config)
    async with db() as session:
        assert len(list(await session.scalars(select(Alert)))) == len(alerts)
        assert len(list(await session.scalars(select(Notification)))) == len(notifications)
        again = list(await session.scalars(select(Visit).where(Visit.due_start < END)))
        assert sorted((v.id, v.status) for v in again) == sorted((v.id, v.status) for v in in_weeks)
