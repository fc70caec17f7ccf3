"""What a recorded contact does to schedules. Registered on `domain.events.on_contact_recorded` at
import; runs in the transaction that wrote the note (sync push, API), so its effects commit with it.

* A note that names its visit (`visit_id`) fulfils that visit when it falls on the visit's local
  day (organisation time zone) or later: early the same day is done; after the window it is done
  late (status `done`, `completed_at` after `due_end`: see `ladder.is_late`). A note naming no visit
  fulfils the resident's earliest open visit whose window, opened earlier by the organisation's
  `early_allowance_minutes`, contains `occurred_at` (notes of every method count). If that visit
  had already been alerted, the alert resolves `recorded_late` and everybody alerted is told.
  A safety check (安否確認) is fulfilled only by a note that reached the person
  (`SAFETY_CHECK_ANSWERED`): after a `no_answer` it stays open and its deadline still alerts.
* `Resident.last_contact_at` is the latest note in which the person was reached (`no_answer` and
  `away` are attempts, not contact), and such a note resolves an open contact-gap alert.
* `no_answer` asks for a revisit within the organisation's revisit hours; two `no_answer` in a row
  or an `emergency` raise an urgent alert at once (through quiet hours).
* `refused` / `away` pause the resident's active plans until a coordinator resumes them.

Running it twice for the same note changes nothing the second time.

When a note is withdrawn (deleted by its author, or its outcome, time or visit corrected:
`domain.events.contact_withdrawn`, before the corrected note is recorded again), what it did and no
longer holds is taken back: a visit it fulfilled and no longer fits (`ladder.note_fits`) is
fulfilled by another note that fits, else planned again and back on its ladder, and the
missed-visit alert the note resolved opens again; a contact-gap alert it resolved opens again when
no remaining contact came after the alert; a revisit it asked for (`no_answer`) is cancelled.
The resident's last contact was already recomputed from the remaining notes (`sync.notes`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts as alert_lifecycle
from domain.clock import utcnow
from domain.enums import (
    NOT_REACHED,
    SAFETY_CHECK_ANSWERED,
    AlertResolution,
    AlertSeverity,
    AlertStatus,
    ContactOutcome,
    PlanStatus,
    ResidentStatus,
    VisitKind,
    VisitStatus,
)
from domain.events import on_contact_recorded, on_contact_withdrawn
from domain.models import (
    Alert,
    ContactNote,
    Organisation,
    Resident,
    SafetyCheckCampaign,
    Visit,
    VisitPlan,
)
from domain.org_settings import rules_for, timezone_of
from schedules import alerting, audience, ladder, plans

PAUSING = frozenset({ContactOutcome.REFUSED, ContactOutcome.AWAY})
OPEN_VISIT = (VisitStatus.PLANNED, VisitStatus.MISSED)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def handle_contact(session: AsyncSession, note: ContactNote) -> None:
    if note.deleted_at is not None:
        return
    org = await session.get_one(Organisation, note.org_id)
    resident = await session.get_one(Resident, note.resident_id)
    now = utcnow()
    await session.flush()  # the note is visible to the queries below

    visit = await _fulfil_visit(session, note, org)
    if note.outcome not in NOT_REACHED:
        if resident.last_contact_at is None or note.occurred_at > resident.last_contact_at:
            resident.last_contact_at = note.occurred_at
        await _resolve_gap_alerts(session, resident, org, note)
    if note.outcome == ContactOutcome.EMERGENCY:
        await alerting.raise_alert(
            session,
            org,
            kind=alerting.EMERGENCY,
            cause_key=f"emergency:{note.id}",
            resident=resident,
            visit_id=visit.id if visit else None,
            assignee_id=note.author_id,
            severity=AlertSeverity.URGENT,
            note=note,
        )
    elif note.outcome == ContactOutcome.NO_ANSWER:
        previous = await session.scalar(
            select(ContactNote.outcome)
            .where(
                ContactNote.resident_id == note.resident_id,
                ContactNote.deleted_at.is_(None),
                ContactNote.id != note.id,
                ContactNote.occurred_at <= note.occurred_at,
            )
            .order_by(ContactNote.occurred_at.desc(), ContactNote.received_at.desc(), ContactNote.id)
            .limit(1)
        )
        if previous == ContactOutcome.NO_ANSWER:
            await alerting.raise_alert(
                session,
                org,
                kind=alerting.NO_ANSWER_TWICE,
                cause_key=f"no_answer_twice:{note.id}",
                resident=resident,
                visit_id=visit.id if visit else None,
                assignee_id=note.author_id,
                severity=AlertSeverity.URGENT,
                note=note,
            )
        else:
            await _request_revisit(session, note, resident, org, visit, now)
    elif note.outcome in PAUSING:
        await _pause_plans(session, note, resident, org)


async def _fulfil_visit(session: AsyncSession, note: ContactNote, org: Organisation) -> Visit | None:
    already = await session.scalar(select(Visit).where(Visit.fulfilled_by_note_id == note.id))
    if already is not None:
        return already
    visit = await _named_visit(session, note, org) if note.visit_id is not None else None
    if visit is None and (note.visit_id is None or await _named_visit_withdrawn(session, note)):
        visit = await _visit_in_window(session, note, org)
    if visit is None:
        return None
    ladder.fulfil(visit, note)
    # The note names the visit it fulfils (a withdrawn visit's note moves to its replacement).
    note.visit_id = visit.id
    alert = await session.scalar(
        select(Alert).where(Alert.org_id == org.id, Alert.cause_key == f"missed_visit:{visit.id}")
    )
    if alert is not None and alert.status != AlertStatus.RESOLVED:
        await alerting.resolve_for_contact(session, alert, org, AlertResolution.RECORDED_LATE, note.id)
    return visit


def _locked(session: AsyncSession, query: Select[tuple[Visit]]) -> Select[tuple[Visit]]:
    # PostgreSQL: wait for a sweep walking this visit. The resident is already locked by the push,
    # so the visit lock comes after it (residents, then visits) as everywhere else.
    return query.with_for_update() if _is_postgres(session) else query


async def _named_visit(session: AsyncSession, note: ContactNote, org: Organisation) -> Visit | None:
    """The visit the note names, when it is still open and the note falls on the visit's local day
    (organisation time zone) or later: a visit made early the same day is done, one made after the
    window is done late (`ladder.is_late`)."""
    visit = await session.scalar(
        _locked(
            session,
            select(Visit).where(
                Visit.id == note.visit_id,
                Visit.resident_id == note.resident_id,
                Visit.org_id == note.org_id,
                Visit.deleted_at.is_(None),
            ),
        )
    )
    if visit is None:
        return None
    await session.refresh(visit)
    if visit.status not in OPEN_VISIT or visit.deleted_at is not None or not ladder.answers(note, visit):
        return None  # a safety check nobody answered stays open: its deadline still alerts
    zone = timezone_of(org)
    if note.occurred_at.astimezone(zone).date() < visit.due_start.astimezone(zone).date():
        return None  # a note from before the visit's day is about something else
    return visit


async def _named_visit_withdrawn(session: AsyncSession, note: ContactNote) -> bool:
    """The named visit was cancelled or deleted (a plan edit, a pause): the note may fulfil the
    visit that took its place. A visit already done by another note keeps this one out."""
    status, deleted_at = (
        await session.execute(select(Visit.status, Visit.deleted_at).where(Visit.id == note.visit_id))
    ).one_or_none() or (None, None)
    return status is None or status == VisitStatus.CANCELLED or deleted_at is not None


async def _visit_in_window(session: AsyncSession, note: ContactNote, org: Organisation) -> Visit | None:
    """A note naming no visit: the resident's earliest open visit whose window, opened earlier by the
    organisation's early allowance, contains the note."""
    early = timedelta(minutes=rules_for(org).early_allowance_minutes)
    query = (
        select(Visit)
        .where(
            Visit.resident_id == note.resident_id,
            Visit.org_id == note.org_id,
            Visit.deleted_at.is_(None),
            Visit.status.in_(OPEN_VISIT),
            Visit.due_start <= note.occurred_at + early,
            Visit.due_end >= note.occurred_at,
            # A safety check is fulfilled only by a note that reached the person.
            *([] if note.outcome in SAFETY_CHECK_ANSWERED else [Visit.kind != VisitKind.SAFETY_CHECK]),
        )
        .order_by(Visit.due_start, Visit.id)
        .limit(1)
    )
    visit = await session.scalar(_locked(session, query))
    if visit is None:
        return None
    await session.refresh(visit)
    if visit.status not in OPEN_VISIT:
        return None
    return visit


async def _resolve_gap_alerts(
    session: AsyncSession, resident: Resident, org: Organisation, note: ContactNote
) -> None:
    open_gaps = await session.scalars(
        select(Alert).where(
            Alert.org_id == org.id,
            Alert.resident_id == resident.id,
            Alert.kind == alerting.CONTACT_GAP,
            Alert.status != AlertStatus.RESOLVED,
        )
    )
    for alert in open_gaps:
        # The gap alert was raised before this contact was known: a late note made it a false alarm.
        late = note.occurred_at < alert.opened_at
        resolution = AlertResolution.RECORDED_LATE if late else AlertResolution.CONTACT_RECORDED
        await alerting.resolve_for_contact(session, alert, org, resolution, note.id)


async def _request_revisit(
    session: AsyncSession,
    note: ContactNote,
    resident: Resident,
    org: Organisation,
    visit: Visit | None,
    now: datetime,
) -> None:
    key = f"revisit:{note.id}"
    if await session.scalar(
        select(Visit.id).where(Visit.resident_id == resident.id, Visit.occurrence_key == key)
    ):
        return
    rules = rules_for(org)
    # Within revisit hours of the attempt; a note synced late still gets a full window from now.
    start = max(note.occurred_at + timedelta(seconds=1), now)
    # The visit's assignee, else the note's author — while they may see the resident; else the next
    # person who can visit (consent may have changed since the note was written offline).
    visitor = await audience.visitor_of(
        session, resident.id, (visit.assignee_id if visit else None) or note.author_id
    )
    revisit = Visit(
        org_id=org.id,
        plan_id=visit.plan_id if visit else None,
        occurrence_key=key,
        kind=VisitKind.REVISIT,
        resident_id=resident.id,
        assignee_id=visitor[0] if visitor else None,
        due_start=start,
        due_end=start + timedelta(hours=rules.revisit_hours),
        status=VisitStatus.PLANNED,
    )
    ladder.schedule_first_step(revisit, org, rules, now)
    session.add(revisit)
    await session.flush()
    await audience.send(
        session,
        org,
        [revisit.assignee_id] if revisit.assignee_id else [],
        kind="visit.revisit",
        title_code="notify.revisit.title",
        body_code="notify.reminder.body",
        params={"name": resident.name, "hours": rules.revisit_hours},
        body_params={
            "start": audience.local_text(revisit.due_start, org),
            "end": audience.local_text(revisit.due_end, org),
        },
        not_before=audience.next_allowed(now, org, rules),
        resident=resident,
        visit_id=revisit.id,
        data={"visit_id": revisit.id},
    )


async def _pause_plans(
    session: AsyncSession, note: ContactNote, resident: Resident, org: Organisation
) -> None:
    active = list(
        await session.scalars(
            select(VisitPlan).where(
                VisitPlan.resident_id == resident.id, VisitPlan.status == PlanStatus.ACTIVE
            )
        )
    )
    for plan in active:
        await plans.pause_plan(session, plan, str(note.outcome))
    if not active:
        return
    rules = rules_for(org)
    recipients = await audience.coordinators_of(session, org.id, resident.district_id)
    recipients += await audience.commissioners_of(session, org.id, resident.district_id)
    await audience.send(
        session,
        org,
        recipients,
        kind="plan.paused",
        title_code="notify.plan_paused.title",
        body_code="notify.plan_paused.body",
        params={"name": resident.name, "reason": str(note.outcome)},
        not_before=audience.next_allowed(utcnow(), org, rules),
        resident=resident,
        data={"plan_ids": [p.id for p in active], "reason": str(note.outcome)},
    )


async def handle_withdrawal(session: AsyncSession, note: ContactNote) -> None:
    """Take back what the deleted or corrected note did and no longer holds (module docstring)."""
    org = await session.get_one(Organisation, note.org_id)
    resident = await session.get_one(Resident, note.resident_id)
    rules = rules_for(org)
    now = utcnow()
    await session.flush()
    reason = "note_deleted" if note.deleted_at is not None else "note_corrected"
    fulfilled = await session.scalars(
        _locked(
            session,
            select(Visit)
            .where(Visit.fulfilled_by_note_id == note.id, Visit.org_id == note.org_id)
            .order_by(Visit.id)
            .execution_options(populate_existing=True),
        )
    )
    for visit in list(fulfilled):
        if visit.deleted_at is not None or ladder.note_fits(note, visit, org, rules):
            continue
        # Off its ladder and unfulfilled while another note is looked for.
        visit.status = VisitStatus.PLANNED
        visit.fulfilled_by_note_id = None
        visit.completed_at = None
        ladder.stop(visit)
        await session.flush()
        other = await ladder.other_note(session, visit, org, rules, now)
        if other is not None:
            ladder.fulfil(visit, other)
            continue
        if visit.campaign_id is not None and await session.scalar(
            select(SafetyCheckCampaign.closed_at).where(SafetyCheckCampaign.id == visit.campaign_id)
        ):
            visit.status = VisitStatus.CANCELLED  # as closing the check left its open visits
            continue
        ladder.reopen(visit, org, rules, now)
        if resident.status == ResidentStatus.ACTIVE:  # a paused or ended resident is not chased
            await _reopen_resolved_by(
                session, note, reason, Alert.cause_key == f"missed_visit:{visit.id}", Alert.org_id == org.id
            )
    if resident.status == ResidentStatus.ACTIVE and (
        note.deleted_at is not None or note.outcome in NOT_REACHED
    ):
        # The gap is open again unless a remaining contact came after the alert was raised.
        since = resident.last_contact_at
        for alert in await _resolved_by(
            session, note, Alert.resident_id == resident.id, Alert.kind == alerting.CONTACT_GAP
        ):
            if since is None or since < alert.opened_at:
                alert_lifecycle.reopen(session, alert, reason=reason, note_id=note.id)
    if note.deleted_at is not None or note.outcome != ContactOutcome.NO_ANSWER:
        revisit = await session.scalar(
            _locked(
                session,
                select(Visit).where(
                    Visit.resident_id == note.resident_id,
                    Visit.occurrence_key == f"revisit:{note.id}",
                    Visit.status == VisitStatus.PLANNED,
                    Visit.deleted_at.is_(None),
                ),
            )
        )
        if revisit is not None:  # nobody is waiting for that revisit any more
            revisit.status = VisitStatus.CANCELLED
            ladder.stop(revisit)
    await session.flush()


async def _resolved_by(session: AsyncSession, note: ContactNote, *where: Any) -> list[Alert]:
    """The alerts this note resolved (`resolve_for_contact`), still resolved."""
    return list(
        await session.scalars(
            select(Alert)
            .where(
                Alert.org_id == note.org_id,
                Alert.status == AlertStatus.RESOLVED,
                Alert.resolution.in_([AlertResolution.CONTACT_RECORDED, AlertResolution.RECORDED_LATE]),
                Alert.resolution_note == f"note:{note.id}",
                *where,
            )
            .order_by(Alert.id)
        )
    )


async def _reopen_resolved_by(session: AsyncSession, note: ContactNote, reason: str, *where: Any) -> None:
    for alert in await _resolved_by(session, note, *where):
        alert_lifecycle.reopen(session, alert, reason=reason, note_id=note.id)


on_contact_recorded(handle_contact)
on_contact_withdrawn(handle_withdrawal)
