"""The alert lifecycle shared by every slice: open (once per cause), acknowledge, resolve, history.

Raising is done by schedules (missed contacts, gaps, urgent outcomes) and sync (quarantine);
handling by coordinators through the API and phones. Delivery is the notifications slice's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from domain import live
from domain.clock import utcnow
from domain.enums import AlertResolution, AlertSeverity, AlertStatus
from domain.errors import Conflict
from domain.models import Alert, AlertEvent


@event.listens_for(Session, "before_flush")
def _announce_alert_changes(session: Session, _flush_context: Any, _instances: Any) -> None:
    changed = {obj.org_id for obj in session.new if isinstance(obj, Alert)}
    changed |= {
        obj.org_id
        for obj in session.dirty
        if isinstance(obj, Alert) and session.is_modified(obj, include_collections=False)
    }
    for org_id in sorted(changed):
        live.announce(session, live.ALERTS, org_id)


def add_event(
    session: AsyncSession, alert: Alert, action: str, actor_id: str | None = None, **detail: Any
) -> None:
    session.add(
        AlertEvent(
            org_id=alert.org_id,
            alert_id=alert.id,
            at=utcnow(),
            action=action,
            actor_id=actor_id,
            detail=detail,
        )
    )


async def open_alert(
    session: AsyncSession,
    *,
    org_id: str,
    kind: str,
    cause_key: str,
    resident_id: str,
    visit_id: str | None = None,
    severity: AlertSeverity = AlertSeverity.NORMAL,
    assignee_last_sync_at: datetime | None = None,
    next_escalation_at: datetime | None = None,
    **detail: Any,
) -> Alert | None:
    """Open the alert for `cause_key`, or return None when that cause already has one (whichever
    process raised it first: the unique constraint decides)."""
    existing = await session.scalar(
        select(Alert.id).where(Alert.org_id == org_id, Alert.cause_key == cause_key)
    )
    if existing is not None:
        return None
    alert = Alert(
        org_id=org_id,
        kind=kind,
        cause_key=cause_key,
        resident_id=resident_id,
        visit_id=visit_id,
        severity=severity,
        assignee_last_sync_at=assignee_last_sync_at,
        opened_at=utcnow(),
        next_escalation_at=next_escalation_at,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        return None
    add_event(session, alert, "created", kind=kind, severity=str(severity), **detail)
    return alert


@dataclass
class Opening:
    """One alert to open with `open_alerts`: the arguments of `open_alert`."""

    org_id: str
    kind: str
    cause_key: str
    resident_id: str
    visit_id: str | None = None
    severity: AlertSeverity = AlertSeverity.NORMAL
    assignee_last_sync_at: datetime | None = None
    next_escalation_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


async def open_alerts(session: AsyncSession, openings: Sequence[Opening]) -> list[Alert | None]:
    """`open_alert` for many causes at once (a sweep batch): one query for the causes that already
    have an alert, one savepoint and flush for the rest. Should another process raise one of these
    causes meanwhile, the unique constraint refuses the whole flush and each is opened on its own,
    so that every cause still gets exactly one alert."""
    keys = sorted({o.cause_key for o in openings})
    taken: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 1000):
        rows = await session.execute(
            select(Alert.org_id, Alert.cause_key).where(Alert.cause_key.in_(keys[start : start + 1000]))
        )
        taken |= set(rows.tuples())
    opened: list[Alert | None] = []
    for o in openings:
        if (o.org_id, o.cause_key) in taken:
            opened.append(None)
            continue
        taken.add((o.org_id, o.cause_key))  # the same cause twice in one batch: once
        opened.append(
            Alert(
                org_id=o.org_id,
                kind=o.kind,
                cause_key=o.cause_key,
                resident_id=o.resident_id,
                visit_id=o.visit_id,
                severity=o.severity,
                assignee_last_sync_at=o.assignee_last_sync_at,
                opened_at=utcnow(),
                next_escalation_at=o.next_escalation_at,
            )
        )
    new = [alert for alert in opened if alert is not None]
    if not new:
        return opened
    try:
        async with session.begin_nested():
            session.add_all(new)
            await session.flush()
    except IntegrityError:
        return [await open_alert(session, **_arguments(o)) for o in openings]
    for o, alert in zip(openings, opened, strict=True):
        if alert is not None:
            add_event(session, alert, "created", kind=o.kind, severity=str(o.severity), **o.detail)
    return opened


def _arguments(o: Opening) -> dict[str, Any]:
    return {
        "org_id": o.org_id,
        "kind": o.kind,
        "cause_key": o.cause_key,
        "resident_id": o.resident_id,
        "visit_id": o.visit_id,
        "severity": o.severity,
        "assignee_last_sync_at": o.assignee_last_sync_at,
        "next_escalation_at": o.next_escalation_at,
        **o.detail,
    }


async def acknowledge(session: AsyncSession, alert: Alert, actor_id: str) -> Alert:
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict("error.alert_resolved")
    if alert.status == AlertStatus.OPEN:
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = actor_id
        alert.next_escalation_at = None
        add_event(session, alert, "acknowledged", actor_id)
    return alert


async def resolve(
    session: AsyncSession,
    alert: Alert,
    resolution: AlertResolution,
    actor_id: str | None = None,
    note: str | None = None,
) -> Alert:
    if alert.status == AlertStatus.RESOLVED:
        return alert
    alert.status = AlertStatus.RESOLVED
    alert.resolution = resolution
    alert.resolution_note = note
    alert.resolved_at = utcnow()
    alert.resolved_by = actor_id
    alert.next_escalation_at = None
    add_event(session, alert, "resolved", actor_id, resolution=str(resolution))
    return alert


def reopen(session: AsyncSession, alert: Alert, actor_id: str | None = None, **detail: Any) -> Alert:
    """A resolved alert is open again (the contact that resolved it was withdrawn): it shows among
    the open alerts and climbs the ladder again from the next escalation run on."""
    if alert.status != AlertStatus.RESOLVED:
        return alert
    alert.status = AlertStatus.OPEN
    alert.resolution = None
    alert.resolution_note = None
    alert.resolved_at = None
    alert.resolved_by = None
    alert.acknowledged_at = None
    alert.acknowledged_by = None
    alert.next_escalation_at = utcnow()
    add_event(session, alert, "reopened", actor_id, **detail)
    return alert
