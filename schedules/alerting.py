"""Raising the schedules slice's alerts and climbing the ladder when nobody acknowledges.

Alert kinds raised here: `missed_visit`, `safety_check_missed`, `contact_gap`, `no_answer_twice`,
`emergency`. Each cause has one `cause_key`, so running anything twice raises nothing twice.

The ladder (deadlines count from the alert's opening, `OrgRules.escalation_hours`, default 4/8/24 h):
  opened   → the kind's first audience (missed contact: district commissioners + coordinators)
  rung 1   → re-sent to the visitor and the district commissioners
  rung 2   → re-sent to the commissioners and the coordinators, severity raised to high
  rung 3   → re-sent to the coordinators, urgent (through quiet hours)

Every rung hears only those who may see the resident now. When nobody on a rung may (consent does
not cover the district commissioner, the visitor lost sight), the coordinators of the district
receive it instead: the municipality's own duty to watch over its residents is the basis on which
coordinators see the whole organisation, and an alert must never go nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts as alert_lifecycle
from domain.clock import utcnow
from domain.enums import AlertResolution, AlertSeverity, AlertStatus
from domain.models import Alert, ContactNote, Notification, Organisation, Resident, Visit
from domain.org_settings import OrgRules, rules_for
from schedules import audience
from schedules import urgent as urgent_text

MISSED_VISIT = "missed_visit"
SAFETY_CHECK_MISSED = "safety_check_missed"
CONTACT_GAP = "contact_gap"
NO_ANSWER_TWICE = "no_answer_twice"
EMERGENCY = "emergency"
KINDS = (MISSED_VISIT, SAFETY_CHECK_MISSED, CONTACT_GAP, NO_ANSWER_TWICE, EMERGENCY)


@dataclass(frozen=True)
class Audience:
    visitor: list[str]
    commissioners: list[str]
    coordinators: list[str]


async def audience_for(session: AsyncSession, resident: Resident, assignee_id: str | None) -> Audience:
    return Audience(
        visitor=await audience.visitor_of(session, resident.id, assignee_id),
        commissioners=await audience.commissioners_of(session, resident.org_id, resident.district_id),
        coordinators=await audience.coordinators_of(session, resident.org_id, resident.district_id),
    )


def _first_audience(kind: str, who: Audience) -> list[str]:
    if kind == CONTACT_GAP:
        return who.visitor + who.commissioners + who.coordinators
    return who.commissioners + who.coordinators


def _rung_audience(level: int, who: Audience) -> list[str]:
    if level == 1:
        return who.visitor + who.commissioners
    if level == 2:
        return who.commissioners + who.coordinators
    return who.coordinators


def _next_deadline(opened_at: datetime, rules: OrgRules, level: int) -> datetime | None:
    hours = rules.escalation_hours
    return opened_at + timedelta(hours=hours[level]) if level < len(hours) else None


@dataclass
class Cause:
    """One alert to raise with `raise_alerts`: the arguments of `raise_alert`."""

    org: Organisation
    kind: str
    cause_key: str
    resident: Resident
    visit_id: str | None = None
    assignee_id: str | None = None
    severity: AlertSeverity = AlertSeverity.NORMAL
    window_closed_at: datetime | None = None
    title_params: dict[str, object] | None = None
    note: ContactNote | None = None


async def raise_alert(
    session: AsyncSession,
    org: Organisation,
    *,
    kind: str,
    cause_key: str,
    resident: Resident,
    visit_id: str | None = None,
    assignee_id: str | None = None,
    severity: AlertSeverity = AlertSeverity.NORMAL,
    window_closed_at: datetime | None = None,
    title_params: dict[str, object] | None = None,
    note: ContactNote | None = None,
) -> Alert | None:
    """Open the alert for this cause (once) and tell its first audience in the same transaction.
    An urgent alert raised by `note` says in the inbox what happened, where, the last contact and
    who is assigned (`schedules.urgent`); its push shows only the name and the reason."""
    cause = Cause(
        org=org,
        kind=kind,
        cause_key=cause_key,
        resident=resident,
        visit_id=visit_id,
        assignee_id=assignee_id,
        severity=severity,
        window_closed_at=window_closed_at,
        title_params=title_params,
        note=note,
    )
    return (await raise_alerts(session, [cause]))[0]


async def raise_alerts(session: AsyncSession, causes: Sequence[Cause]) -> list[Alert | None]:
    """`raise_alert` for many causes (a sweep batch) in a fixed number of round trips: audiences,
    last syncs, the alerts and their messages are read and written for all causes at once."""
    alerts, first = await open_for(session, causes)
    await tell_coordinators_instead(session, first, await audience.send_many(session, first))
    return alerts


async def open_for(
    session: AsyncSession,
    causes: Sequence[Cause],
    visitors: Mapping[tuple[str, str | None], list[str]] | None = None,
) -> tuple[list[Alert | None], list[audience.Outgoing]]:
    """Open the causes' alerts (once each) and word their first messages, to be sent by the caller
    (with other messages of the same batch) and then passed to `tell_coordinators_instead`.
    `visitors` is what `audience.visitors_of` answered already in this unit of work."""
    if not causes:
        return [], []
    now = utcnow()
    if visitors is None:
        visitors = await audience.visitors_of(session, {(c.resident.id, c.assignee_id) for c in causes})
    for org_id in sorted({c.resident.org_id for c in causes}):
        await audience.load_districts(
            session, org_id, {c.resident.district_id for c in causes if c.resident.org_id == org_id}
        )
    whos = [
        Audience(
            visitor=visitors[(c.resident.id, c.assignee_id)],
            commissioners=await audience.commissioners_of(session, c.resident.org_id, c.resident.district_id),
            coordinators=await audience.coordinators_of(session, c.resident.org_id, c.resident.district_id),
        )
        for c in causes
    ]
    syncs = await audience.last_syncs_of(session, {u for who in whos for u in who.visitor})
    last_syncs = [max((syncs[u] for u in who.visitor if u in syncs), default=None) for who in whos]
    alerts = await alert_lifecycle.open_alerts(
        session,
        [
            alert_lifecycle.Opening(
                org_id=c.org.id,
                kind=c.kind,
                cause_key=c.cause_key,
                resident_id=c.resident.id,
                visit_id=c.visit_id,
                severity=c.severity,
                assignee_last_sync_at=last_sync,
                next_escalation_at=_next_deadline(now, rules_for(c.org), 0),
                detail={
                    "assignee_ids": who.visitor,
                    "synced_since_window": bool(
                        last_sync and c.window_closed_at and last_sync >= c.window_closed_at
                    ),
                },
            )
            for c, who, last_sync in zip(causes, whos, last_syncs, strict=True)
        ],
    )
    outgoing: list[audience.Outgoing] = []
    for c, who, last_sync, alert in zip(causes, whos, last_syncs, alerts, strict=True):
        if alert is not None:
            outgoing.append(await _first_message(session, c, who, last_sync, alert, now))
    return alerts, outgoing


async def tell_coordinators_instead(
    session: AsyncSession, first: Sequence[audience.Outgoing], told: Sequence[int]
) -> None:
    """Nobody on the first rung may see the resident: the district's coordinators hear it instead."""
    instead = []
    for item, count in zip(first, told, strict=True):
        if not count and item.resident is not None:
            coordinators = await audience.coordinators_of(session, item.org.id, item.resident.district_id)
            instead.append(replace(item, user_ids=coordinators))
    await audience.send_many(session, instead)


async def _first_message(
    session: AsyncSession, c: Cause, who: Audience, last_sync: datetime | None, alert: Alert, now: datetime
) -> audience.Outgoing:
    urgent = c.severity == AlertSeverity.URGENT
    extra_code = None
    if c.window_closed_at is not None:
        synced = last_sync is not None and last_sync >= c.window_closed_at
        extra_code = "notify.alert.synced_since" if synced else "notify.alert.not_synced_since"
    body_for = None
    lock_screen = None
    if c.kind in urgent_text.KINDS:
        lock_screen = urgent_text.lock_screen(c.kind, c.resident)
        if c.note is not None:
            facts = await urgent_text.gather(session, c.kind, c.resident, c.note)

            def body_for(locale: str, facts: Any = facts, org: Organisation = c.org) -> str:
                return urgent_text.body(facts, org, locale)

    return audience.Outgoing(
        org=c.org,
        user_ids=_first_audience(c.kind, who),
        resident=c.resident,
        body_for=body_for,
        lock_screen=lock_screen,
        kind=f"alert.{c.kind}",
        title_code=f"notify.alert.{c.kind}.title",
        params={"name": c.resident.name, **(c.title_params or {})},
        extra_body_code=extra_code,
        extra_params={"at": audience.local_text(last_sync, c.org)},
        urgent=urgent,
        not_before=None if urgent else audience.next_allowed(now, c.org, rules_for(c.org)),
        alert_id=alert.id,
        visit_id=c.visit_id,
        data={"alert_id": alert.id, "kind": c.kind, "severity": str(c.severity)},
    )


async def _send_or_coordinators(
    session: AsyncSession, org: Organisation, resident: Resident, recipients: list[str], **message: Any
) -> int:
    """Send to `recipients` (those who may see the resident); when that leaves nobody, to the
    district's coordinators. Returns how many were told."""
    told = await audience.send(session, org, recipients, resident=resident, **message)
    if told:
        return told
    coordinators = await audience.coordinators_of(session, org.id, resident.district_id)
    return await audience.send(session, org, coordinators, resident=resident, **message)


async def escalate(session: AsyncSession, alert: Alert, org: Organisation) -> None:
    """Climb to the rung whose deadline has passed (one message even if a worker was down for
    several deadlines), re-send to that rung's audience and set the next deadline."""
    rules = rules_for(org)
    now = utcnow()
    resident = await session.get_one(Resident, alert.resident_id)
    level = alert.escalation_level + 1
    while (deadline := _next_deadline(alert.opened_at, rules, level)) is not None and deadline <= now:
        level += 1
    alert.escalation_level = level
    if level >= 3 or alert.severity == AlertSeverity.URGENT:
        alert.severity = AlertSeverity.URGENT
    elif level >= 2:
        alert.severity = AlertSeverity.HIGH
    urgent = alert.severity == AlertSeverity.URGENT
    alert.next_escalation_at = _next_deadline(alert.opened_at, rules, level)
    visit = await session.get(Visit, alert.visit_id) if alert.visit_id else None
    who = await audience_for(session, resident, visit.assignee_id if visit else None)
    told = await _send_or_coordinators(
        session,
        org,
        resident,
        _rung_audience(min(level, 3), who),
        kind=f"alert.{alert.kind}",
        title_code="notify.alert.escalated.title",
        params={"name": resident.name, "level": level},
        urgent=urgent,
        not_before=None if urgent else audience.next_allowed(now, org, rules),
        alert_id=alert.id,
        visit_id=alert.visit_id,
        data={"alert_id": alert.id, "kind": alert.kind, "escalation_level": level},
    )
    alert_lifecycle.add_event(session, alert, "escalated", level=level, recipients=told)


async def resolve_for_ended(session: AsyncSession, resident: Resident) -> int:
    """The resident is no longer watched over (moved away, died): their alerts still open or
    acknowledged resolve as `resident_ended` and climb no further. Nobody is told: the people on
    them may no longer see the resident, and the alerts leave the working lists."""
    alerts = list(
        await session.scalars(
            select(Alert)
            .where(
                Alert.org_id == resident.org_id,
                Alert.resident_id == resident.id,
                Alert.status != AlertStatus.RESOLVED,
            )
            .order_by(Alert.id)
        )
    )
    for alert in alerts:
        await alert_lifecycle.resolve(session, alert, AlertResolution.RESIDENT_ENDED)
    return len(alerts)


async def resolve_for_contact(
    session: AsyncSession, alert: Alert, org: Organisation, resolution: AlertResolution, note_id: str
) -> None:
    """A matching note arrived: resolve, and tell everybody who was alerted that it was a false
    alarm when it came late."""
    if alert.status == AlertStatus.RESOLVED:
        return
    await alert_lifecycle.resolve(session, alert, resolution, note=f"note:{note_id}")
    if resolution != AlertResolution.RECORDED_LATE:
        return
    alerted = list(
        await session.scalars(
            select(Notification.user_id).where(Notification.alert_id == alert.id).distinct()
        )
    )
    resident = await session.get_one(Resident, alert.resident_id)
    await audience.send(
        session,
        org,
        alerted,
        kind="alert.false_alarm",
        title_code="notify.alert.false_alarm.title",
        body_code="notify.alert.false_alarm.body",
        params={"name": resident.name},
        not_before=audience.next_allowed(utcnow(), org, rules_for(org)),
        resident=resident,
        alert_id=alert.id,
        visit_id=alert.visit_id,
        data={"alert_id": alert.id, "resolution": str(resolution)},
    )
