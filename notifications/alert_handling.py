"""Coordinators (and district commissioners) look at alerts, acknowledge and resolve them.

Who may see an alert: whoever may see its resident (`domain.access.visible_alerts`); who may act
on it: `may_handle_alerts`. Every step lands in the alert's history and the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts as lifecycle
from domain import audit
from domain.access import Principal, may_handle_alerts, visible_alerts
from domain.enums import AlertResolution, AlertSeverity, AlertStatus
from domain.errors import Conflict, Forbidden, NotFound
from domain.i18n import register
from domain.models import Alert, AlertEvent, Delivery, Notification, Resident
from notifications.outbox import enqueue
from notifications.schemas import AlertDetailOut, AlertEventOut, AlertOut, DeliveryOut, RecipientOut
from notifications.templates import MessageKind

register(
    {
        "error.alert_not_found": {"ja": "アラートが見つかりません。", "en": "Alert not found."},
        "error.alert_resolved": {
            "ja": "このアラートはすでに解決済みです。",
            "en": "This alert is already resolved.",
        },
        "error.notification_not_found": {"ja": "お知らせが見つかりません。", "en": "Notification not found."},
        "error.device_not_found": {"ja": "端末が見つかりません。", "en": "Device not found."},
    }
)

SEVERITY_RANK = case(
    (Alert.severity == AlertSeverity.URGENT, 0), (Alert.severity == AlertSeverity.HIGH, 1), else_=2
)
STATUS_RANK = case(
    (Alert.status == AlertStatus.OPEN, 0), (Alert.status == AlertStatus.ACKNOWLEDGED, 1), else_=2
)


@dataclass(frozen=True)
class AlertFilter:
    status: AlertStatus | None = None
    kind: str | None = None
    severity: AlertSeverity | None = None
    district_id: str | None = None
    resident_id: str | None = None
    sort: str = "newest"  # or "urgent": unhandled first, then severity, then the oldest


def _scoped(principal: Principal) -> Select[tuple[Alert, str, str]]:
    return (
        select(Alert, Resident.name, Resident.district_id)
        .join(Resident, Resident.id == Alert.resident_id)
        .where(visible_alerts(principal))
    )


def _out(alert: Alert, resident_name: str | None, district_id: str | None) -> AlertOut:
    out = AlertOut.model_validate(alert)
    out.resident_name, out.district_id = resident_name, district_id
    return out


async def list_alerts(
    session: AsyncSession, principal: Principal, flt: AlertFilter, *, offset: int, limit: int
) -> tuple[list[AlertOut], int]:
    query = _scoped(principal)
    if flt.status:
        query = query.where(Alert.status == flt.status)
    if flt.kind:
        query = query.where(Alert.kind == flt.kind)
    if flt.severity:
        query = query.where(Alert.severity == flt.severity)
    if flt.district_id:
        query = query.where(Resident.district_id == flt.district_id)
    if flt.resident_id:
        query = query.where(Alert.resident_id == flt.resident_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if flt.sort == "urgent":
        query = query.order_by(STATUS_RANK, SEVERITY_RANK, Alert.opened_at, Alert.id)
    else:
        query = query.order_by(Alert.opened_at.desc(), Alert.id.desc())
    rows = (await session.execute(query.offset(offset).limit(limit))).all()
    out = [_out(*row) for row in rows]
    # The list names residents: one audit event per request, naming the rows returned.
    audit.record(
        session,
        principal,
        "list",
        "alert",
        None,
        fields=["resident_name"],
        alert_ids=[a.id for a in out],
        resident_ids=sorted({a.resident_id for a in out}),
    )
    return out, total


async def _visible(session: AsyncSession, principal: Principal, alert_id: str) -> tuple[Alert, str, str]:
    row = (await session.execute(_scoped(principal).where(Alert.id == alert_id))).first()
    if row is None:
        raise NotFound("error.alert_not_found")
    return row[0], row[1], row[2]


async def alert_detail(session: AsyncSession, principal: Principal, alert_id: str) -> AlertDetailOut:
    alert, name, district_id = await _visible(session, principal, alert_id)
    events = (
        await session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.at, AlertEvent.id)
        )
    ).all()
    notifications = (
        await session.scalars(
            select(Notification)
            .where(Notification.alert_id == alert.id, Notification.org_id == alert.org_id)
            .order_by(Notification.created_at, Notification.id)
        )
    ).all()
    deliveries = (
        await session.scalars(
            select(Delivery).where(Delivery.notification_id.in_([n.id for n in notifications]))
        )
    ).all()
    by_notification: dict[str, list[DeliveryOut]] = {}
    for delivery in deliveries:
        by_notification.setdefault(delivery.notification_id, []).append(
            DeliveryOut(
                device_id=delivery.device_id,
                status=delivery.status,
                attempts=delivery.attempts,
                sent_at=delivery.sent_at,
                last_error_code=delivery.last_error_code,
            )
        )
    audit.record(
        session, principal, "read", "alert", alert.id, fields=["resident_name"], resident_id=alert.resident_id
    )
    return AlertDetailOut(
        **_out(alert, name, district_id).model_dump(),
        history=[AlertEventOut.model_validate(e) for e in events],
        recipients=[
            RecipientOut(
                user_id=n.user_id,
                kind=n.kind,
                notified_at=n.created_at,
                read_at=n.read_at,
                deliveries=by_notification.get(n.id, []),
            )
            for n in notifications
        ],
    )


async def acknowledge(session: AsyncSession, principal: Principal, alert_id: str) -> AlertOut:
    alert, name, district_id = await _visible(session, principal, alert_id)
    if not may_handle_alerts(principal):
        raise Forbidden()
    await lifecycle.acknowledge(session, alert, principal.user_id)
    audit.record(session, principal, "acknowledge", "alert", alert.id, fields=["status"])
    await session.flush()
    return _out(alert, name, district_id)


async def resolve(
    session: AsyncSession, principal: Principal, alert_id: str, resolution: str, note: str | None
) -> AlertOut:
    alert, name, district_id = await _visible(session, principal, alert_id)
    if not may_handle_alerts(principal):
        raise Forbidden()
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict("error.alert_resolved")
    await lifecycle.resolve(session, alert, AlertResolution(resolution), principal.user_id, note)
    audit.record(
        session, principal, "resolve", "alert", alert.id, fields=["status", "resolution", "resolution_note"]
    )
    # Everyone who was told about the alert hears that it is over (not the one who resolved it).
    told = await session.scalars(
        select(Notification.user_id).where(
            Notification.alert_id == alert.id, Notification.org_id == alert.org_id
        )
    )
    others = set(told.all()) - {principal.user_id}
    if others:
        await enqueue(
            session,
            org_id=alert.org_id,
            user_ids=others,
            kind=MessageKind.ALERT_RESOLVED,
            resident_id=alert.resident_id,
            alert_id=alert.id,
            visit_id=alert.visit_id,
            params={"resident_name": name},
        )
    await session.flush()
    return _out(alert, name, district_id)
