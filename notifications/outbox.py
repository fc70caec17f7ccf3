"""The outbox: whoever causes a message writes it here, in the same transaction as the cause.

`enqueue` stores one inbox notification per recipient and one pending delivery per active device
with a push token. The dispatcher (notifications slice) sends deliveries after commit, so a crash
between commit and send loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.models import Delivery, Device, Notification


async def enqueue(
    session: AsyncSession,
    *,
    org_id: str,
    user_ids: Iterable[str],
    kind: str,
    title: str,
    body: str = "",
    urgent: bool = False,
    resident_id: str | None = None,
    alert_id: str | None = None,
    visit_id: str | None = None,
    data: dict[str, Any] | None = None,
    not_before: datetime | None = None,
) -> list[Notification]:
    recipients = sorted(set(user_ids))
    if not recipients:
        return []
    notifications = []
    for user_id in recipients:
        notification = Notification(
            org_id=org_id,
            user_id=user_id,
            kind=kind,
            title=title,
            body=body,
            urgent=urgent,
            resident_id=resident_id,
            alert_id=alert_id,
            visit_id=visit_id,
            data=data or {},
        )
        session.add(notification)
        notifications.append(notification)
    await session.flush()
    devices = (
        await session.scalars(
            select(Device).where(
                Device.user_id.in_(recipients), Device.revoked_at.is_(None), Device.push_token.is_not(None)
            )
        )
    ).all()
    by_user = {n.user_id: n for n in notifications}
    due = not_before or utcnow()
    for device in devices:
        session.add(
            Delivery(org_id=org_id, notification_id=by_user[device.user_id].id, device_id=device.id,
                     next_attempt_at=due)
        )  # fmt: skip
    return notifications
