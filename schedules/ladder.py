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

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from domain import alerts as alert_lifecycle
from domain.enums import (
    SAFETY_CHECK_ANSWERED,
    AlertResolution,
    AlertSeverity,
    AlertStatus,
    ResidentStatus,
    VisitKind,
    VisitStatus,
)
from domain.models import Alert, ContactNote, Organisation, Resident, Visit
from domain.org_settings import OrgRules, timezone_of
from schedules import alerting, audience

REMINDER_EVENING = "reminder_evening"
REMINDER_MORNING = "reminder_morning"
WINDOW_CLOSED = "window_closed"
GRACE_OVER = "grace_over"
STEPS = (REMINDER_EVENING, REMINDER_MORNING, WINDOW_CLOSED, GRACE_OVER)
_WALKED = ("status", "check_step", "next_check_at", "asked_at", "fulfilled_by_note_id", "completed_at")


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


def answers(note: ContactNote, visit: Visit) -> bool:
    """Whether the note's outcome can fulfil the visit: any outcome for an ordinary visit (a
    `no_answer` asks for a revisit of its own), only one that reached the person for a safety
    check (`SAFETY_CHECK_ANSWERED`)."""
    return visit.kind != VisitKind.SAFETY_CHECK or note.outcome in SAFETY_CHECK_ANSWERED


def note_fits(note: ContactNote, visit: Visit, org: Organisation, rules: OrgRules) -> bool:
    """Whether the note may fulfil the visit, by its time, the visit it names and its outcome: one
    naming this visit from its local day on, or one naming no visit inside the window opened
    earlier by the early allowance (the rule `schedules.contacts` applies when a note arrives)."""
    if note.deleted_at is not None or not answers(note, visit):
        return False
    earliest_named, earliest_unnamed = _bounds(visit, org, rules)[1:]
    if note.visit_id == visit.id:
        return note.occurred_at >= earliest_named
    return note.visit_id is None and earliest_unnamed <= note.occurred_at <= visit.due_end


async def other_note(
    session: AsyncSession, visit: Visit, org: Organisation, rules: OrgRules, now: datetime
) -> ContactNote | None:
    """A note, fulfilling no other visit, that fits this one (after the note that fulfilled it was
    withdrawn)."""
    return (await _UnusedNotes.load(session, [visit], {visit.org_id: (org, rules)}, now)).find(
        visit, org, rules
    )


class _UnusedNotes:
    """The notes that may fulfil the batch's visits, read in two queries: a note that fulfils no
    other visit and fits this one (`note_fits`; notes written by any path count)."""

    def __init__(self, notes: list[ContactNote], used: dict[str, set[str]]) -> None:
        self._of: dict[str, list[ContactNote]] = defaultdict(list)
        for note in notes:  # in time order
            self._of[note.resident_id].append(note)
        self._used = used  # note id → the visits it fulfils

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        visits: Sequence[Visit],
        orgs: Mapping[str, tuple[Organisation, OrgRules]],
        now: datetime,
    ) -> _UnusedNotes:
        # Only a visit whose window closed (or with no reminder step) reaches a note check.
        checking = [
            v for v in visits if v.due_end <= now or v.check_step not in (REMINDER_EVENING, REMINDER_MORNING)
        ]
        if not checking:
            return cls([], {})
        since = min(_bounds(v, *orgs[v.org_id])[0] for v in checking)
        resident_ids = sorted({v.resident_id for v in checking})
        notes: list[ContactNote] = []
        for start in range(0, len(resident_ids), 1000):
            notes += await session.scalars(
                select(ContactNote).where(
                    ContactNote.resident_id.in_(resident_ids[start : start + 1000]),
                    ContactNote.deleted_at.is_(None),
                    ContactNote.occurred_at >= since,
                )
            )
        notes.sort(key=lambda n: n.occurred_at)
        used: dict[str, set[str]] = defaultdict(set)
        note_ids = sorted({n.id for n in notes})
        for start in range(0, len(note_ids), 1000):
            rows = await session.execute(
                select(Visit.fulfilled_by_note_id, Visit.id).where(
                    Visit.fulfilled_by_note_id.in_(note_ids[start : start + 1000])
                )
            )
            for note_id, visit_id in rows.tuples():
                used[note_id].add(visit_id)
        return cls(notes, used)

    def find(self, visit: Visit, org: Organisation, rules: OrgRules) -> ContactNote | None:
        for note in self._of.get(visit.resident_id, ()):
            if self._used.get(note.id, set()) - {visit.id}:
                continue
            if note_fits(note, visit, org, rules):
                return note
        return None

    def mark_used(self, note: ContactNote, visit: Visit) -> None:
        self._used.setdefault(note.id, set()).add(visit.id)


def _bounds(visit: Visit, org: Organisation, rules: OrgRules) -> tuple[datetime, datetime, datetime]:
    """(earliest of both, the visit's local day start for a note naming it, the window's opening
    less the early allowance for a note naming no visit), in UTC."""
    zone = timezone_of(org)
    day_start = datetime.combine(visit.due_start.astimezone(zone).date(), time(0), tzinfo=zone).astimezone(
        UTC
    )
    early = visit.due_start - timedelta(minutes=rules.early_allowance_minutes)
    return min(day_start, early), day_start, early


def is_late(visit: Visit) -> bool:
    """Done after its window closed (a visit made late is credited; the status stays `done`)."""
    return visit.completed_at is not None and visit.completed_at > visit.due_end


def fulfil(visit: Visit, note: ContactNote) -> None:
    visit.status = VisitStatus.DONE
    visit.fulfilled_by_note_id = note.id
    visit.completed_at = note.occurred_at
    stop(visit)


def reopen(visit: Visit, org: Organisation, rules: OrgRules, now: datetime) -> None:
    """The visit is planned again (an undone "done", a coordinator's reset, the note that fulfilled
    it withdrawn): nobody has been, so it goes back on the ladder. A window already closed starts
    at `window_closed` / `grace_over`, so the next sweep asks again and then alerts."""
    visit.status = VisitStatus.PLANNED
    visit.fulfilled_by_note_id = None
    visit.completed_at = None
    schedule_first_step(visit, org, rules, now)


def stop(visit: Visit) -> None:
    visit.check_step = None
    visit.next_check_at = None


async def walk(
    session: AsyncSession, visit: Visit, org: Organisation, rules: OrgRules, now: datetime
) -> list[str]:
    """Take every step of this visit that is due at `now`. Returns the steps taken (for logs/tests)."""
    return (await walk_many(session, [visit], {visit.org_id: (org, rules)}, now))[visit.id]


async def walk_many(
    session: AsyncSession,
    visits: Sequence[Visit],
    orgs: Mapping[str, tuple[Organisation, OrgRules]],
    now: datetime,
) -> dict[str, list[str]]:
    """`walk` for a batch of visits: what the steps need (residents, notes, visitors) is read once
    for the batch, and their messages and alerts are written together, so that a batch costs a
    fixed number of round trips however many visits it holds. visit id → the steps taken."""
    residents = await _residents(session, {v.resident_id for v in visits})
    notes = await _UnusedNotes.load(session, visits, orgs, now)
    visitors = await audience.visitors_of(session, {(v.resident_id, v.assignee_id) for v in visits})
    outgoing: list[audience.Outgoing] = []
    causes: list[alerting.Cause] = []
    taken: dict[str, list[str]] = {}
    for visit in visits:
        org, rules = orgs[visit.org_id]
        resident = residents[visit.resident_id]
        visitor = visitors[(visit.resident_id, visit.assignee_id)]
        steps: list[str] = []
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
                    outgoing.append(_reminder(visit, resident, visitor, org, rules, step, now))
                    steps.append(step)
            else:
                note = notes.find(visit, org, rules)
                if note is not None:
                    fulfil(visit, note)
                    notes.mark_used(note, visit)
                    steps.append("fulfilled")
                    break
                if step == WINDOW_CLOSED:
                    if visit.kind != VisitKind.SAFETY_CHECK:
                        outgoing.append(_ask_to_record(visit, resident, visitor, org, rules, now))
                        steps.append(step)
                    visit.asked_at = now
                else:
                    causes.append(_missed(visit, resident, org))
                    steps.append(step)
                    visit.status = VisitStatus.MISSED
                    stop(visit)
                    break
            following = _following(step, visit, org, rules)
            if following is None:
                stop(visit)
                break
            visit.check_step, visit.next_check_at = following
        taken[visit.id] = steps
        # Every walked visit (each moved on its ladder) updates the same columns: the flush then
        # sends one UPDATE for the batch instead of one per run of visits that changed alike.
        for column in _WALKED:
            flag_modified(visit, column)
    # One round of writing for the batch: the alerts, then every message (reminders, requests and
    # the alerts' first messages) with one sight check for all.
    opened, first = await alerting.open_for(session, causes, visitors)
    await _missed_again(session, [c for c, alert in zip(causes, opened, strict=True) if alert is None])
    told = await audience.send_many(session, [*outgoing, *first])
    await alerting.tell_coordinators_instead(session, first, told[len(outgoing) :])
    return taken


async def _missed_again(session: AsyncSession, causes: Sequence[alerting.Cause]) -> None:
    """A visit missed again after its alert was resolved (set back to planned by a coordinator, or
    the note that resolved it withdrawn, and still nobody came): its alert opens again, and climbs
    the ladder from the next escalation run, instead of the visit going missed unnoticed."""
    keys = sorted(c.cause_key for c in causes)
    for start in range(0, len(keys), 1000):
        resolved = await session.scalars(
            select(Alert)
            .where(
                Alert.cause_key.in_(keys[start : start + 1000]),
                Alert.status == AlertStatus.RESOLVED,
                Alert.resolution != AlertResolution.CAMPAIGN_CLOSED,  # the check is over
            )
            .order_by(Alert.id)
        )
        for alert in resolved:
            alert_lifecycle.reopen(session, alert, reason="missed_again")


async def _residents(session: AsyncSession, ids: set[str]) -> dict[str, Resident]:
    # Held here: the identity map keeps only objects somebody references.
    ordered, found = sorted(ids), {}
    for start in range(0, len(ordered), 1000):
        rows = await session.scalars(select(Resident).where(Resident.id.in_(ordered[start : start + 1000])))
        found.update({resident.id: resident for resident in rows})
    return found


def _reminder(
    visit: Visit,
    resident: Resident,
    visitor: list[str],
    org: Organisation,
    rules: OrgRules,
    step: str,
    now: datetime,
) -> audience.Outgoing:
    return audience.Outgoing(
        org=org,
        user_ids=visitor,
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


def _ask_to_record(
    visit: Visit, resident: Resident, visitor: list[str], org: Organisation, rules: OrgRules, now: datetime
) -> audience.Outgoing:
    return audience.Outgoing(
        org=org,
        user_ids=visitor,
        kind="visit.record_or_sync",
        title_code="notify.record_or_sync.title",
        body_code="notify.record_or_sync.body",
        params={"name": resident.name},
        not_before=audience.next_allowed(now, org, rules),
        resident=resident,
        visit_id=visit.id,
        data={"visit_id": visit.id},
    )


def _missed(visit: Visit, resident: Resident, org: Organisation) -> alerting.Cause:
    safety = visit.kind == VisitKind.SAFETY_CHECK
    return alerting.Cause(
        org=org,
        kind=alerting.SAFETY_CHECK_MISSED if safety else alerting.MISSED_VISIT,
        cause_key=f"missed_visit:{visit.id}",
        resident=resident,
        visit_id=visit.id,
        assignee_id=visit.assignee_id,
        severity=AlertSeverity.HIGH if safety else AlertSeverity.NORMAL,
        window_closed_at=visit.due_end,
    )
