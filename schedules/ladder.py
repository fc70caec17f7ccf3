"""The detection ladder of one visit: reminders, "please record or sync", then the alert.

Every visit carries its next step (`check_step`) and when it is due (`next_check_at`). The sweep
claims due visits and walks them forward here; each step's message and the move to the next step
commit together, so a step happens once even if a worker dies or two run at once.

Steps, in order:
  reminder_evening  the evening before the window opens (never in quiet hours)
  reminder_morning  the morning of the day the window opens (never in quiet hours)
  window_closed     no note in the window: ask the visitor to record or sync
  grace_over        still no note after the grace period: the visit is missed, alert
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AlertSeverity, ResidentStatus, VisitKind, VisitStatus
from domain.models import ContactNote, Organisation, Resident, Visit
from domain.org_settings import OrgRules, timezone_of
from schedules import alerting, audience

REMINDER_EVENING = "reminder_evening"
REMINDER_MORNING = "reminder_morning"
WINDOW_CLOSED = "window_closed"
GRACE_OVER = "grace_over"
STEPS = (REMINDER_EVENING, REMINDER_MORNING, WINDOW_CLOSED, GRACE_OVER)


def grace_for(kind: str, rules: OrgRules) -> timedelta:
    # A safety check (安否確認) has no grace: its deadline is the deadline.
    return timedelta(0) if kind == VisitKind.SAFETY_CHECK else timedelta(hours=rules.grace_hours)


def step_time(step: str, visit: Visit, org: Organisation, rules: OrgRules) -> datetime:
    zone = timezone_of(org)
    if step in (REMINDER_EVENING, REMINDER_MORNING):
        opens_on = visit.due_start.astimezone(zone).date()
        if step == REMINDER_EVENING:
            local = datetime.combine(opens_on - timedelta(days=1), rules.reminder_evening, tzinfo=zone)
        else:
            local = datetime.combine(opens_on, rules.reminder_morning, tzinfo=zone)
        return audience.next_allowed(local.astimezone(visit.due_start.tzinfo), org, rules)
    if step == WINDOW_CLOSED:
        return visit.due_end
    return visit.due_end + grace_for(visit.kind, rules)


def _reminder_useful(step: str, visit: Visit, at: datetime) -> bool:
    """The evening reminder only before the window opens; the morning one only while it is open."""
    if step == REMINDER_EVENING:
        return at < visit.due_start
    return at < visit.due_end


def first_step(visit: Visit, org: Organisation, rules: OrgRules, now: datetime) -> tuple[str, datetime]:
    """Where a new visit starts on the ladder: reminders already in the past are not sent."""
    steps = STEPS if visit.kind != VisitKind.SAFETY_CHECK else (WINDOW_CLOSED, GRACE_OVER)
    for step in steps:
        at = step_time(step, visit, org, rules)
        if step in (WINDOW_CLOSED, GRACE_OVER):
            return step, at
        if at > now and _reminder_useful(step, visit, at):
            return step, at
    raise AssertionError("unreachable")


def schedule_first_step(visit: Visit, org: Organisation, rules: OrgRules, now: datetime) -> None:
    visit.check_step, visit.next_check_at = first_step(visit, org, rules, now)


def _following(step: str, visit: Visit, org: Organisation, rules: OrgRules) -> tuple[str, datetime] | None:
    """The next step after `step`, skipping a reminder that would come too late to help (e.g. the
    08:30 reminder of a window that closes at 02:00)."""
    for candidate in STEPS[STEPS.index(step) + 1 :]:
        at = step_time(candidate, visit, org, rules)
        if candidate in (WINDOW_CLOSED, GRACE_OVER) or _reminder_useful(candidate, visit, at):
            return candidate, at
    return None


async def unused_note_for(
    session: AsyncSession, visit: Visit, org: Organisation, rules: OrgRules
) -> ContactNote | None:
    """A note that fulfils no other visit and fits this one (notes written by any path count): one
    naming this visit from its local day on, or one naming no visit inside the window opened earlier
    by the early allowance. The same rule as `schedules.contacts` applies when a note arrives."""
    used = exists(select(Visit.id).where(Visit.fulfilled_by_note_id == ContactNote.id, Visit.id != visit.id))
    zone = timezone_of(org)
    day_start = datetime.combine(visit.due_start.astimezone(zone).date(), time(0), tzinfo=zone)
    early = timedelta(minutes=rules.early_allowance_minutes)
    named = and_(ContactNote.visit_id == visit.id, ContactNote.occurred_at >= day_start.astimezone(UTC))
    unnamed = and_(
        ContactNote.visit_id.is_(None),
        ContactNote.occurred_at >= visit.due_start - early,
        ContactNote.occurred_at <= visit.due_end,
    )
    return await session.scalar(
        select(ContactNote)
        .where(
            ContactNote.resident_id == visit.resident_id,
            ContactNote.deleted_at.is_(None),
            or_(named, unnamed),
            ~used,
        )
        .order_by(ContactNote.occurred_at)
        .limit(1)
    )


def is_late(visit: Visit) -> bool:
    """Done after its window closed (a visit made late is credited; the status stays `done`)."""
    return visit.completed_at is not None and visit.completed_at > visit.due_end


def fulfil(visit: Visit, note: ContactNote) -> None:
    visit.status = VisitStatus.DONE
    visit.fulfilled_by_note_id = note.id
    visit.completed_at = note.occurred_at
    stop(visit)


def stop(visit: Visit) -> None:
    visit.check_step = None
    visit.next_check_at = None


async def walk(
    session: AsyncSession, visit: Visit, org: Organisation, rules: OrgRules, now: datetime
) -> list[str]:
    """Take every step of this visit that is due at `now`. Returns the steps taken (for logs/tests)."""
    taken: list[str] = []
    resident = await session.get_one(Resident, visit.resident_id)  # preloaded per batch by the job
    while visit.next_check_at is not None and visit.next_check_at <= now:
        if visit.status != VisitStatus.PLANNED or visit.deleted_at is not None:
            stop(visit)
            break
        if resident.status != ResidentStatus.ACTIVE:
            # Paused (hospital, away) or ended residents are not chased.
            visit.status = VisitStatus.CANCELLED
            stop(visit)
            break
        step = visit.check_step or WINDOW_CLOSED
        if step in (REMINDER_EVENING, REMINDER_MORNING):
            if _reminder_useful(step, visit, now):
                await _remind(session, visit, resident, org, rules, step, now)
                taken.append(step)
        else:
            note = await unused_note_for(session, visit, org, rules)
            if note is not None:
                fulfil(visit, note)
                taken.append("fulfilled")
                break
            if step == WINDOW_CLOSED:
                if visit.kind != VisitKind.SAFETY_CHECK:
                    await _ask_to_record(session, visit, resident, org, rules, now)
                    taken.append(step)
                visit.asked_at = now
            else:
                await _raise_missed(session, visit, resident, org)
                taken.append(step)
                visit.status = VisitStatus.MISSED
                stop(visit)
                break
        following = _following(step, visit, org, rules)
        if following is None:
            stop(visit)
            break
        visit.check_step, visit.next_check_at = following
    return taken


async def _remind(
    session: AsyncSession,
    visit: Visit,
    resident: Resident,
    org: Organisation,
    rules: OrgRules,
    step: str,
    now: datetime,
) -> None:
    await audience.send(
        session,
        org,
        await audience.visitor_of(session, resident.id, visit.assignee_id),
        kind=f"visit.{step}",
        title_code=f"notify.{step}.title",
        body_code="notify.reminder.body",
        params={"name": resident.name},
        body_params={
            "start": audience.local_text(visit.due_start, org),
            "end": audience.local_text(visit.due_end, org),
        },
        not_before=audience.next_allowed(now, org, rules),
        resident=resident,
        visit_id=visit.id,
        data={"visit_id": visit.id, "step": step},
    )


async def _ask_to_record(
    session: AsyncSession, visit: Visit, resident: Resident, org: Organisation, rules: OrgRules, now: datetime
) -> None:
    await audience.send(
        session,
        org,
        await audience.visitor_of(session, resident.id, visit.assignee_id),
        kind="visit.record_or_sync",
        title_code="notify.record_or_sync.title",
        body_code="notify.record_or_sync.body",
        params={"name": resident.name},
        not_before=audience.next_allowed(now, org, rules),
        resident=resident,
        visit_id=visit.id,
        data={"visit_id": visit.id},
    )


async def _raise_missed(session: AsyncSession, visit: Visit, resident: Resident, org: Organisation) -> None:
    safety = visit.kind == VisitKind.SAFETY_CHECK
    await alerting.raise_alert(
        session,
        org,
        kind=alerting.SAFETY_CHECK_MISSED if safety else alerting.MISSED_VISIT,
        cause_key=f"missed_visit:{visit.id}",
        resident=resident,
        visit_id=visit.id,
        assignee_id=visit.assignee_id,
        severity=AlertSeverity.HIGH if safety else AlertSeverity.NORMAL,
        window_closed_at=visit.due_end,
    )
