"""A simulated month in a small town (November 2026, Asia/Tokyo), driven by the test clock: the jobs
run every hour as the scheduler would, notes arrive the way sync delivers them, and at the end the
exact visits, reminders, requests to record, alerts, escalations and resolutions are checked.

The town (every plan's window is 10:00–16:00 local; reminders 18:00 the evening before and 08:30 —
sent at the 09:00 run — the morning of; grace 24 h; escalation deadlines 4 / 8 / 24 h):

  A  high    weekly on Tuesdays (3 Nov is 文化の日: shifted to Wed 4 Nov), visitor V — on time;
             on 24 Nov the note says `emergency`
  B  medium  every other Wednesday (11, 25 Nov), visitor C — 11 Nov recorded at 15:00 but synced at
             20:00, after the window closed: asked to record, no alert
  C  medium  Thursdays, visitor V2 — 5 Nov recorded offline at 11:00, synced on 7 Nov at 10:00,
             after the alert: resolved `recorded_late`, false-alarm message to everyone alerted
  D  high    Wednesdays, visitor V — 4 Nov `no_answer` (revisit within 48 h), 5 Nov `no_answer`
             again on the revisit: urgent alert at once
  E  low     monthly on the 10th, visitor V — `refused` on 10 Nov pauses the plan; resumed 20 Nov
  F  high    no plan, last contact 25 Oct: contact-gap alert after 14 days (found by the 03:00
             check on 8 Nov), climbs the whole ladder,
             resolved by a phone call on 12 Nov; a second gap 14 days later, acknowledged at once
  G  medium  Fridays, visitor C — 6 Nov never recorded: asked, alerted after grace, climbs
  H  medium  Mondays with holidays skipped (23 Nov 勤労感謝の日 skipped), visitor V2 — on time
  I  medium  Thursdays, an orphan plan stored without an assignee and nobody assigned: one
             `nobody_can_visit` alert at the first sight check (03:00 on 1 Nov), however often the
             check runs; V2 assigned on 3 Nov takes the plan and its visits at once, the alert
             resolves `handled`; on time from then on
  J  high    Wednesdays, visitor V — paused (入院) on 12 Nov: the 18 Nov visit is cancelled at once,
             nobody is reminded or alerted; resumed on 20 Nov, on time on 25 Nov

Every alert has its cause and every cause exactly one alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from api.residents import service as residents_service
from api.residents.schemas import AssignmentIn, ResidentStatusIn
from domain import alerts as alert_lifecycle
from domain.access import principal_for
from domain.clock import clock, utcnow
from domain.enums import (
    AlertResolution,
    AlertStatus,
    ConsentRecipient,
    ContactMethod,
    ContactOutcome,
    HolidayRule,
    PlanStatus,
    RiskLevel,
    Role,
    VisitKind,
    VisitStatus,
)
from domain.models import (
    Alert,
    AlertEvent,
    Delivery,
    Device,
    Notification,
    Organisation,
    Visit,
    VisitPlan,
)
from domain.org_settings import rules_for
from schedules import jobs, plans
from tests.factories import assign, give_consent, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note, run_hours

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 11, 1, 0, 0, tzinfo=JST)
END = datetime(2026, 11, 29, 0, 0, tzinfo=JST)


def jst(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=JST)


async def _build_town(db):
    clock.set(START)
    async with db() as session:
        org = await make_org(session, "見守り町")
        north = await make_district(session, org, "北地区")
        people = {
            "K": await make_user(session, org, Role.COORDINATOR, "k-coord"),
            "C": await make_user(session, org, Role.COMMISSIONER, "c-comm", districts=[north]),
            "V": await make_user(session, org, Role.VOLUNTEER, "v-vol"),
            "V2": await make_user(session, org, Role.VOLUNTEER, "v2-vol", locale="en"),
        }
        for key, user in people.items():
            # Every phone has a push token, so every message also has a delivery to check.
            last_sync = jst(5, 8) if key == "V2" else None
            session.add(
                Device(
                    org_id=org.id,
                    user_id=user.id,
                    client_id=f"{key}-phone",
                    platform="android",
                    push_token=f"token-{key}",
                    push_token_updated_at=utcnow(),
                    last_sync_at=last_sync,
                )
            )
        residents = {}
        for key, risk in (
            ("A", RiskLevel.HIGH),
            ("B", RiskLevel.MEDIUM),
            ("C", RiskLevel.MEDIUM),
            ("D", RiskLevel.HIGH),
            ("E", RiskLevel.LOW),
            ("F", RiskLevel.HIGH),
            ("G", RiskLevel.MEDIUM),
            ("H", RiskLevel.MEDIUM),
            ("I", RiskLevel.MEDIUM),
            ("J", RiskLevel.HIGH),
        ):
            residents[key] = await make_resident(session, org, north, name=f"住民{key}", risk_level=risk)
            await give_consent(session, residents[key], ConsentRecipient.VOLUNTEERS)
            await give_consent(session, residents[key], ConsentRecipient.DISTRICT_COMMISSIONER)
        residents["F"].last_contact_at = jst(25, 0, month=10)
        cadences = {
            "A": ("FREQ=WEEKLY;BYDAY=TU", "V", HolidayRule.SHIFT),
            "B": ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "C", HolidayRule.SHIFT),
            "C": ("FREQ=WEEKLY;BYDAY=TH", "V2", HolidayRule.SHIFT),
            "D": ("FREQ=WEEKLY;BYDAY=WE", "V", HolidayRule.SHIFT),
            "E": ("FREQ=MONTHLY;BYMONTHDAY=10", "V", HolidayRule.SHIFT),
            "G": ("FREQ=WEEKLY;BYDAY=FR", "C", HolidayRule.SHIFT),
            "H": ("FREQ=WEEKLY;BYDAY=MO", "V2", HolidayRule.SKIP),
            "J": ("FREQ=WEEKLY;BYDAY=WE", "V", HolidayRule.SHIFT),
        }
        plan_ids = {}
        for key, (rule, visitor, holiday_rule) in cadences.items():
            await assign(session, residents[key], people[visitor])
            plan = await plans.create_plan(
                session,
                org,
                residents[key],
                {
                    "rrule": rule,
                    "starts_on": date(2026, 11, 1),
                    "window_start": time(10),
                    "window_end": time(16),
                    "window_days": 1,
                    "holiday_rule": holiday_rule,
                    "assignee_id": people[visitor].id,
                },
                people["K"].id,
            )
            plan_ids[key] = plan.id
        # I's plan as stored before every plan needed an assignee: none, and nobody assigned.
        orphan = VisitPlan(
            org_id=org.id,
            resident_id=residents["I"].id,
            rrule="FREQ=WEEKLY;BYDAY=TH",
            starts_on=date(2026, 11, 1),
            window_start=time(10),
            window_end=time(16),
            holiday_rule=HolidayRule.SHIFT,
            revision=1,
        )
        session.add(orphan)
        await session.flush()
        await plans.expand_plan(session, orphan, org, utcnow())
        plan_ids["I"] = orphan.id
    return org, people, residents, plan_ids


async def test_a_month_in_a_small_town(db, db_config) -> None:
    org, people, residents, plan_ids = await _build_town(db)
    login_of = {u.id: key for key, u in people.items()}
    resident_of = {r.id: key for key, r in residents.items()}

    def note(
        key: str,
        author: str,
        at: datetime,
        outcome: ContactOutcome = ContactOutcome.MET_WELL,
        method: ContactMethod = ContactMethod.HOME_VISIT,
    ) -> Callable[[], Awaitable[None]]:
        async def _go() -> None:
            async with db() as session:
                await record_note(session, residents[key], people[author], at, outcome, method)

        return _go

    def sync_phone(user: str) -> Callable[[], Awaitable[None]]:
        async def _go() -> None:
            async with db() as session:
                device = await session.scalar(select(Device).where(Device.user_id == people[user].id))
                device.last_sync_at = utcnow()

        return _go

    def acknowledge(kind: str, key: str) -> Callable[[], Awaitable[None]]:
        async def _go() -> None:
            async with db() as session:
                alert = await session.scalar(
                    select(Alert).where(
                        Alert.kind == kind,
                        Alert.resident_id == residents[key].id,
                        Alert.status == AlertStatus.OPEN,
                    )
                )
                await alert_lifecycle.acknowledge(session, alert, people["K"].id)

        return _go

    async def as_coordinator(session):
        coordinator = await session.get_one(type(people["K"]), people["K"].id)
        return principal_for(coordinator, [], "Asia/Tokyo")

    async def assign_i() -> None:
        async with db() as session:
            body = AssignmentIn(user_id=people["V2"].id)
            await residents_service.create_assignment(
                session, await as_coordinator(session), residents["I"].id, body
            )

    def set_status(key: str, status: str, reason: str | None = None) -> Callable[[], Awaitable[None]]:
        async def _go() -> None:
            async with db() as session:
                body = ResidentStatusIn(status=status, reason=reason)
                await residents_service.change_status(
                    session, await as_coordinator(session), residents[key].id, body
                )

        return _go

    async def resume_e() -> None:
        async with db() as session:
            plan = await session.get_one(VisitPlan, plan_ids["E"])
            await plans.resume_plan(session, plan, await session.get_one(Organisation, org.id))

    events: dict[datetime, list[Callable[[], Awaitable[None]]]] = defaultdict(list)
    on_time = {
        "A": [jst(4, 11), jst(10, 11), jst(17, 11)],
        "B": [jst(25, 11)],
        "C": [jst(12, 11), jst(19, 11), jst(26, 11)],
        "D": [jst(11, 11), jst(18, 11), jst(25, 11)],
        "G": [jst(13, 11), jst(20, 11), jst(27, 11)],
        "H": [jst(2, 11), jst(9, 11), jst(16, 11)],
        "I": [jst(5, 11), jst(12, 11), jst(19, 11), jst(26, 11)],
        "J": [jst(4, 11), jst(11, 11), jst(25, 11)],
    }
    visitor = {"A": "V", "B": "C", "C": "V2", "D": "V", "E": "V", "G": "C", "H": "V2", "I": "V2", "J": "V"}
    for key, moments in on_time.items():
        for moment in moments:
            events[moment].append(note(key, visitor[key], moment))
    events[jst(24, 11)].append(note("A", "V", jst(24, 11), ContactOutcome.EMERGENCY))
    events[jst(24, 12)].append(acknowledge("emergency", "A"))
    events[jst(11, 20)].append(note("B", "C", jst(11, 15)))  # recorded at 15:00, synced at 20:00
    events[jst(7, 10)] += [sync_phone("V2"), note("C", "V2", jst(5, 11))]  # offline for two days
    events[jst(4, 11)].append(note("D", "V", jst(4, 11), ContactOutcome.NO_ANSWER))
    events[jst(5, 11)].append(note("D", "V", jst(5, 11), ContactOutcome.NO_ANSWER))
    events[jst(5, 12)].append(acknowledge("no_answer_twice", "D"))
    events[jst(10, 11)].append(note("E", "V", jst(10, 11), ContactOutcome.REFUSED))
    events[jst(20, 10)].append(resume_e)
    events[jst(12, 10)].append(note("F", "K", jst(12, 10), method=ContactMethod.PHONE))
    events[jst(26, 13)].append(acknowledge("contact_gap", "F"))
    events[jst(3, 10)].append(assign_i)
    events[jst(12, 10)].append(set_status("J", "paused", "入院"))
    events[jst(20, 10)].append(set_status("J", "active"))

    # The month, hour by hour (tests/schedules/helpers.run_hours: events, then the jobs).
    await run_hours(db_config, START, END, events, JST)

    async with db() as session:
        visits = list(await session.scalars(select(Visit).order_by(Visit.due_start, Visit.resident_id)))
        alerts = list(await session.scalars(select(Alert).order_by(Alert.opened_at)))
        notifications = list(await session.scalars(select(Notification).order_by(Notification.created_at)))
        deliveries = list(await session.scalars(select(Delivery)))
        events_by_alert = defaultdict(list)
        for row in await session.scalars(select(AlertEvent).order_by(AlertEvent.at, AlertEvent.action)):
            events_by_alert[row.alert_id].append(row.action)
        e_plan = await session.get_one(VisitPlan, plan_ids["E"])
        org_row = await session.get_one(Organisation, org.id)

    # --- Visits within the month: (resident, local day, kind, status) ----------------------------
    in_month = [v for v in visits if v.due_start < END]
    got = sorted(
        (resident_of[v.resident_id], v.due_start.astimezone(JST).date().day, str(v.kind), str(v.status))
        for v in in_month
    )
    done, missed, cancelled = "done", "missed", "cancelled"
    expected = sorted(
        [("A", d, "planned", done) for d in (4, 10, 17, 24)]
        + [("B", 11, "planned", done), ("B", 25, "planned", done)]
        + [("C", d, "planned", done) for d in (5, 12, 19, 26)]  # 5 Nov: done after the late sync
        + [("D", d, "planned", done) for d in (4, 11, 18, 25)]
        + [("D", 4, "revisit", done)]  # fulfilled by the second no_answer on 5 Nov
        + [("E", 10, "planned", done)]
        + [("G", 6, "planned", missed)]
        + [("G", d, "planned", done) for d in (13, 20, 27)]
        + [("H", d, "planned", done) for d in (2, 9, 16)]  # 23 Nov (holiday) skipped
        + [("I", d, "planned", done) for d in (5, 12, 19, 26)]
        + [("J", 4, "planned", done), ("J", 11, "planned", done), ("J", 18, "planned", cancelled)]
        + [("J", 25, "planned", cancelled), ("J", 25, "planned", done)]  # r1 at the pause, r2 on resuming
    )
    assert got == expected
    shifted = next(v for v in in_month if resident_of[v.resident_id] == "A")
    assert shifted.occurrence_key == "2026-11-03/r1"  # the rule's date; the visit is on 4 Nov
    assert shifted.due_start == jst(4, 10) and shifted.due_end == jst(4, 16)

    # Ahead of the month: expanded eight weeks from the last run (28 Nov 03:00 → 23 Jan), E re-planned.
    horizon = date(2026, 11, 28) + timedelta(weeks=8)
    ahead = [v for v in visits if v.due_start >= END and v.status == VisitStatus.PLANNED]
    assert max(v.due_start.astimezone(JST).date() for v in ahead) <= horizon
    assert {resident_of[v.resident_id] for v in ahead} == {"A", "B", "C", "D", "E", "G", "H", "I", "J"}
    # Every visit ahead has somebody who may make it: I's orphans went to V2 the moment V2 was assigned.
    assert {v.assignee_id for v in ahead if resident_of[v.resident_id] == "I"} == {people["V2"].id}
    i_visits = [v for v in in_month if resident_of[v.resident_id] == "I"]
    assert {v.assignee_id for v in i_visits} == {people["V2"].id}
    e_visits = [(v.occurrence_key, str(v.status)) for v in visits if resident_of[v.resident_id] == "E"]
    assert ("2026-12-10/r1", cancelled) in e_visits and ("2026-12-10/r2", "planned") in e_visits
    assert e_plan.status == PlanStatus.ACTIVE and e_plan.revision == 2
    assert ("2027-01-10/r2", "planned") in e_visits

    # --- Reminders: evening before and morning of each plan visit, to its visitor ------------------
    def sent(kind: str) -> list[tuple[str, str, datetime]]:
        return sorted(
            (login_of[n.user_id], resident_of[n.resident_id], n.created_at)
            for n in notifications
            if n.kind == kind
        )

    plan_visits = [v for v in in_month if v.kind == VisitKind.PLANNED and v.status != VisitStatus.CANCELLED]
    assert sent("visit.reminder_evening") == sorted(
        (
            visitor[resident_of[v.resident_id]],
            resident_of[v.resident_id],
            datetime.combine(v.due_start.astimezone(JST).date() - timedelta(days=1), time(18), tzinfo=JST),
        )
        for v in plan_visits
    )
    assert sent("visit.reminder_morning") == sorted(
        (
            visitor[resident_of[v.resident_id]],
            resident_of[v.resident_id],
            datetime.combine(v.due_start.astimezone(JST).date(), time(9), tzinfo=JST),
        )
        for v in plan_visits
    )
    assert len(plan_visits) == 29  # J's cancelled visits had no reminders
    # Asked to record or sync when the window closed with nothing recorded.
    assert sent("visit.record_or_sync") == [
        ("C", "B", jst(11, 16)),
        ("C", "G", jst(6, 16)),
        ("V2", "C", jst(5, 16)),
    ]
    assert sent("visit.revisit") == [("V", "D", jst(4, 11))]
    assert sorted((u, r) for u, r, _ in sent("plan.paused")) == [("C", "E"), ("K", "E")]

    # --- Alerts: exactly these, with their ladders and resolutions --------------------------------
    nobody = [a for a in alerts if a.kind == "nobody_can_visit"]
    alerts = [a for a in alerts if a.kind != "nobody_can_visit"]
    summary = [
        (
            a.kind,
            resident_of[a.resident_id],
            a.opened_at.astimezone(JST),
            str(a.status),
            a.resolution,
            a.escalation_level,
            str(a.severity),
        )
        for a in alerts
    ]
    assert summary == [
        ("no_answer_twice", "D", jst(5, 11), "acknowledged", None, 0, "urgent"),
        ("missed_visit", "C", jst(6, 16), "resolved", AlertResolution.RECORDED_LATE, 2, "high"),
        ("missed_visit", "G", jst(7, 16), "open", None, 3, "urgent"),
        ("contact_gap", "F", jst(8, 3), "resolved", AlertResolution.CONTACT_RECORDED, 3, "urgent"),
        ("emergency", "A", jst(24, 11), "acknowledged", None, 0, "urgent"),
        ("contact_gap", "F", jst(26, 12), "acknowledged", None, 0, "normal"),
    ]
    assert [(a.kind, resident_of[a.resident_id], a.opened_at.astimezone(JST)) for a in nobody] == [
        ("nobody_can_visit", "I", jst(1, 3))
    ]
    assert (nobody[0].status, nobody[0].resolution, nobody[0].resolved_at) == (
        "resolved",
        AlertResolution.HANDLED,
        jst(3, 10),
    )
    # Every alert has a cause and every cause exactly one alert (the unique key, and the script).
    assert len({a.cause_key for a in [*alerts, *nobody]}) == len(alerts) + len(nobody)
    by_kind = {(a.kind, resident_of[a.resident_id], a.opened_at.astimezone(JST).day): a for a in alerts}
    late = by_kind[("missed_visit", "C", 6)]
    # V2's phone had not synced since the window closed: "possibly not reported yet".
    assert late.assignee_last_sync_at == jst(5, 8)
    # The alert's steps in order; every message about it is in its history too ("notified", by the
    # outbox: the first alert, each rung of escalation, and the false-alarm notice).
    history = events_by_alert[late.id]
    assert [e for e in history if e != "notified"] == ["created", "escalated", "escalated", "resolved"]
    assert history.count("notified") >= 4

    def messages(alert: Alert) -> list[tuple[datetime, str, list[str], bool]]:
        grouped: dict[tuple[datetime, str, bool], list[str]] = defaultdict(list)
        for n in notifications:
            if n.alert_id == alert.id:
                grouped[(n.created_at.astimezone(JST), n.kind, n.urgent)].append(login_of[n.user_id])
        return [(at, kind, sorted(users), urgent) for (at, kind, urgent), users in sorted(grouped.items())]

    assert messages(late) == [
        (jst(6, 16), "alert.missed_visit", ["C", "K"], False),
        (jst(6, 20), "alert.missed_visit", ["C", "V2"], False),  # rung 1: visitor + commissioner
        (jst(7, 0), "alert.missed_visit", ["C", "K"], False),  # rung 2: commissioner + coordinator
        (jst(7, 10), "alert.false_alarm", ["C", "K", "V2"], False),
    ]
    v2_titles = [n.title for n in notifications if n.alert_id == late.id and login_of[n.user_id] == "V2"]
    assert v2_titles[-1] == "[Cleared] Contact with 住民C was recorded"  # V2 reads English
    missed = by_kind[("missed_visit", "G", 7)]
    assert messages(missed) == [
        (jst(7, 16), "alert.missed_visit", ["C", "K"], False),
        (jst(7, 20), "alert.missed_visit", ["C"], False),
        (jst(8, 0), "alert.missed_visit", ["C", "K"], False),
        (jst(8, 16), "alert.missed_visit", ["K"], True),  # rung 3: coordinators, urgent
    ]
    gap = by_kind[("contact_gap", "F", 8)]
    assert messages(gap) == [
        (jst(8, 3), "alert.contact_gap", ["C", "K"], False),  # F has no visitor
        (jst(8, 7), "alert.contact_gap", ["C"], False),
        (jst(8, 11), "alert.contact_gap", ["C", "K"], False),
        (jst(9, 3), "alert.contact_gap", ["K"], True),
    ]
    assert gap.resolved_at == jst(12, 10)
    twice = by_kind[("no_answer_twice", "D", 5)]
    assert messages(twice) == [(jst(5, 11), "alert.no_answer_twice", ["C", "K"], True)]
    emergency = by_kind[("emergency", "A", 24)]
    assert messages(emergency) == [(jst(24, 11), "alert.emergency", ["C", "K"], True)]

    # --- Quiet hours: no push of a non-urgent message is due between 21:00 and 08:00 ---------------
    rules = rules_for(org_row)
    urgent_ids = {n.id for n in notifications if n.urgent}
    for delivery in deliveries:
        if delivery.notification_id in urgent_ids:
            continue
        local = delivery.next_attempt_at.astimezone(JST).time()
        assert not rules.in_quiet_hours(local), delivery.next_attempt_at
    # The rung-2 re-sends at midnight waited for the morning; the urgent rung-3 ones did not.
    midnight = [d for d in deliveries if d.created_at == jst(8, 0)]
    assert midnight and {d.next_attempt_at for d in midnight} == {jst(8, 8)}
    assert {d.next_attempt_at for d in deliveries if d.created_at == jst(9, 3)} == {jst(9, 3)}

    # --- Running everything again changes nothing --------------------------------------------------
    await jobs.expand_plans(db_config)
    await jobs.sweep(db_config)
    await jobs.detect_contact_gaps(db_config)
    assert await jobs.follow_sight(db_config) == 0
    async with db() as session:
        assert len(list(await session.scalars(select(Alert)))) == len(alerts) + len(nobody)
        assert len(list(await session.scalars(select(Notification)))) == len(notifications)
        assert len(list(await session.scalars(select(Visit)))) == len(visits)
