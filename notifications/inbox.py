"""The inbox: every message a user was sent, read or not. Push is best effort; this is the record.

A message naming a resident is listed (and counted) only while the user may see that resident
(`domain.access.visible_notifications`): withdrawn consent takes it out, restored consent brings it
back as it was."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.access import Principal, visible_notifications
from domain.clock import utcnow
from domain.errors import NotFound
from domain.models import Notification


def _mine(principal: Principal):
    return (visible_notifications(principal),)


async def page(
    session: AsyncSession, principal: Principal, *, unread_only: bool, offset: int, limit: int
) -> tuple[list[Notification], int, int]:
    """Newest first: (items, total matching, unread count)."""
    where = list(_mine(principal))
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = await session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    unread = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(*_mine(principal), Notification.read_at.is_(None))
    )
    items = (
        await session.scalars(
            select(Notification)
            .where(*where)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    # Messages name residents: one audit event per page read, naming the residents it carries.
    audit.record(
        session,
        principal,
        "list",
        "notification",
        None,
        fields=["title", "body"],
        notification_ids=[n.id for n in items],
        resident_ids=sorted({n.resident_id for n in items if n.resident_id}),
    )
    return list(items), total, unread or 0


async def mark_read(session: AsyncSession, principal: Principal, notification_id: str) -> Notification:
    notification = await session.scalar(
        select(Notification).where(*_mine(principal), Notification.id == notification_id)
    )
    if notification is None:
        raise NotFound("error.notification_not_found")
    if notification.read_at is None:
        notification.read_at = utcnow()  # through the ORM: the change feed carries it to the phones
    return notification


async def mark_all_read(session: AsyncSession, principal: Principal) -> int:
    unread = (
        await session.scalars(select(Notification).where(*_mine(principal), Notification.read_at.is_(None)))
    ).all()
    now = utcnow()
    for notification in unread:
        notification.read_at = now
    return len(unread)
