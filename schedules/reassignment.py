"""Visits and plans never keep an assignee who may not see the resident.

When a person loses sight of a resident — consent withdrawn or expired, assignment ended, district
changed, account deactivated — their future planned visits of that resident and the resident's
plans they are assigned to move at once to the next person who can visit (`audience.next_visitor`:
an active primary assignment, then a backup, who may see the resident). When nobody can, the
assignee is cleared and the coordinators get one `nobody_can_visit` alert for the resident (one
open at a time: its cause key counts the earlier ones, the unique key decides a race).

Orphans are repaired the same way: plans and their future visits with no assignee at all (stored
before every plan had to have one, or left with nobody when sight was lost) are given the next
person who can visit as soon as there is one (an assignment made, consent given) — else the
resident has its one open `nobody_can_visit` alert. Safety-check visits nobody can make are the
campaign's to report (`schedules.campaigns`), not this alert's.

Two triggers: changes made by people call `domain.events.sight_changed` in their own transaction
(consent, assignments, districts, users), and the periodic job `jobs.follow_sight` catches what time
changes (a consent that expires at local midnight) and orphans. Running either twice changes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts as alert_lifecycle
from domain.access import who_may_see
from domain.clock import utcnow
from domain.enums import (
    AlertResolution,
    AlertSeverity,
    AlertStatus,
    PlanStatus,
    ResidentStatus,
    VisitKind,
    VisitStatus,
)
from domain.events import on_sight_changed
from domain.models import Alert, Organisation, Resident, Visit, VisitPlan
from domain.org_settings import rules_for
from schedules import audience

log = logging.getLogger("mimamori.schedules")

NOBODY_CAN_VISIT = "nobody_can_visit"
UNASSIGNED_BODY = f"notify.alert.{NOBODY_CAN_VISIT}.unassigned_body"  # text in notifications.templates


def _future_visits(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Visits still to be made that name an assignee."""
    return (
        Visit.status == VisitStatus.PLANNED,
        Visit.deleted_at.is_(None),
        Visit.due_end > now,
        Visit.assignee_id.is_not(None),
    )


def _live_plans() -> tuple[ColumnElement[bool], ...]:
    """Plans not ended (paused ones resume with their assignee) that name an assignee."""
    return (VisitPlan.status != PlanStatus.ENDED, VisitPlan.assignee_id.is_not(None))


def future_visits_to_check(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Visits still to be made whose assignee must be checked: those naming one, and orphans (no
    assignee) other than safety checks."""
    return (
        Visit.status == VisitStatus.PLANNED,
        Visit.deleted_at.is_(None),
        Visit.due_end > now,
        or_(Visit.assignee_id.is_not(None), Visit.kind != VisitKind.SAFETY_CHECK),
    )


def plans_to_check() -> tuple[ColumnElement[bool], ...]:
    """Plans not ended, with or without an assignee."""
    return (VisitPlan.status != PlanStatus.ENDED,)


async def residents_assigned_to(session: AsyncSession, user_ids: Iterable[str]) -> set[str]:
    """Residents with a future visit or a live plan assigned to one of these users."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    now = utcnow()
    visits = select(Visit.resident_id).where(Visit.assignee_id.in_(ids), *_future_visits(now))
    plans = select(VisitPlan.resident_id).where(VisitPlan.assignee_id.in_(ids), *_live_plans())
    return set((await session.scalars(visits.union(plans))).all())


async def follow_sight(session: AsyncSession, resident_ids: Iterable[str]) -> int:
    """Move every future visit and live plan of these residents off assignees who may not see the
    resident now, and give those with no assignee the next visitor; residents nobody can visit get
    their one alert. Returns how many visits and plans changed."""
    ids = sorted(set(resident_ids))
    if not ids:
        return 0
    now = utcnow()
    residents = {
        r.id: r
        for r in await session.scalars(
            select(Resident).where(
                Resident.id.in_(ids), Resident.deleted_at.is_(None), Resident.status != ResidentStatus.ENDED
            )
        )
    }
    if not residents:
        return 0
    await _close_when_somebody_can_visit(session, residents)
    visits = list(
        await session.scalars(
            select(Visit)
            .where(Visit.resident_id.in_(residents), *future_visits_to_check(now))
            .order_by(Visit.id)
        )
    )
    plans = list(
        await session.scalars(
            select(VisitPlan)
            .where(VisitPlan.resident_id.in_(residents), *plans_to_check())
            .order_by(VisitPlan.id)
        )
    )
    rows: list[Visit | VisitPlan] = [*visits, *plans]
    pairs = {(row.assignee_id, row.resident_id) for row in rows if row.assignee_id}
    seeing = await who_may_see(session, pairs)
    stale = [
        row for row in rows if row.assignee_id is None or (row.assignee_id, row.resident_id) not in seeing
    ]
    if not stale:
        return 0
    affected = {row.resident_id for row in stale}
    lost_sight = {row.resident_id for row in stale if row.assignee_id is not None}
    successor = await audience.next_visitor(session, affected)
    changed = 0
    for row in stale:
        new = successor.get(row.resident_id)
        if row.assignee_id != new:
            row.assignee_id = new  # an ORM write: the feed carries it
            changed += 1
    await session.flush()
    for resident_id in sorted(affected - successor.keys()):
        await _nobody_can_visit(session, residents[resident_id], lost_sight=resident_id in lost_sight)
    # Counts only: no personal data in logs.
    if changed:
        log.info("assignees moved: residents=%s rows=%s", len(affected), changed)
    return changed


async def _close_when_somebody_can_visit(session: AsyncSession, residents: dict[str, Resident]) -> None:
    """A `nobody_can_visit` alert is over once somebody assigned may see the resident again."""
    open_alerts = list(
        await session.scalars(
            select(Alert).where(
                Alert.resident_id.in_(residents),
                Alert.kind == NOBODY_CAN_VISIT,
                Alert.status != AlertStatus.RESOLVED,
            )
        )
    )
    if not open_alerts:
        return
    visitable = await audience.next_visitor(session, {a.resident_id for a in open_alerts})
    for alert in open_alerts:
        if alert.resident_id in visitable:
            await alert_lifecycle.resolve(session, alert, AlertResolution.HANDLED, note="somebody_can_visit")


async def _nobody_can_visit(session: AsyncSession, resident: Resident, *, lost_sight: bool) -> None:
    """One open alert per resident, to the coordinators (they see the whole organisation). Its body
    says whether an assignee just lost sight or the visits never had anybody."""
    earlier = await session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(
            Alert.org_id == resident.org_id, Alert.resident_id == resident.id, Alert.kind == NOBODY_CAN_VISIT
        )
    )
    still_open = await session.scalar(
        select(Alert.id).where(
            Alert.org_id == resident.org_id,
            Alert.resident_id == resident.id,
            Alert.kind == NOBODY_CAN_VISIT,
            or_(Alert.status == AlertStatus.OPEN, Alert.status == AlertStatus.ACKNOWLEDGED),
        )
    )
    if still_open is not None:
        return
    alert = await alert_lifecycle.open_alert(
        session,
        org_id=resident.org_id,
        kind=NOBODY_CAN_VISIT,
        cause_key=f"{NOBODY_CAN_VISIT}:{resident.id}:{earlier or 0}",
        resident_id=resident.id,
        severity=AlertSeverity.HIGH,
    )
    if alert is None:
        return
    org = await session.get_one(Organisation, resident.org_id)
    await audience.send(
        session,
        org,
        await audience.coordinators_of(session, org.id, resident.district_id),
        kind=f"alert.{NOBODY_CAN_VISIT}",
        title_code=f"notify.alert.{NOBODY_CAN_VISIT}.title",
        body_code=f"notify.alert.{NOBODY_CAN_VISIT}.body" if lost_sight else UNASSIGNED_BODY,
        params={"name": resident.name},
        not_before=audience.next_allowed(utcnow(), org, rules_for(org)),
        resident=resident,
        alert_id=alert.id,
        data={"alert_id": alert.id, "kind": NOBODY_CAN_VISIT, "severity": str(AlertSeverity.HIGH)},
    )


async def _on_sight_changed(session: AsyncSession, resident_ids: set[str], user_ids: set[str]) -> None:
    await follow_sight(session, resident_ids | await residents_assigned_to(session, user_ids))


on_sight_changed(_on_sight_changed)
