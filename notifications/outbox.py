"""The outbox: whoever causes a message writes it here, in the same transaction as the cause.

`enqueue` stores one inbox notification per recipient and one pending delivery per device that
can receive a push (not revoked, token fresh). The dispatcher sends deliveries after commit, so a
crash between commit and send loses nothing; an urgent message wakes the dispatcher right after
the commit.

A message that names a resident (`resident_id`) is written only for the recipients who may see that
resident now (`domain.access.who_may_see`); the others are left out, and an alert's history records
whom the rule withheld it from (ids only). The dispatcher asks again before each push.

Text: pass `title`/`body` explicitly, or leave `title` out and pass `params` to have each
recipient's message rendered from the template of `kind` in their own locale
(`notifications.templates`).
A message whose inbox text says more than a lock screen may show (an urgent alert's address, last
contact, assignee) passes `lock_screen=(template kind, params)`: the push then carries that
template's text, rendered per recipient; the inbox keeps the full text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from domain.access import who_may_see
from domain.clock import utcnow
from domain.models import AlertEvent, Delivery, Device, Notification, Organisation, User
from notifications import wakeup
from notifications.devices import can_receive_push
from notifications.templates import LOCK_SCREEN, MessageKind, render

_URGENT_PENDING = "mimamori_urgent_push_pending"


async def enqueue(
    session: AsyncSession,
    *,
    org_id: str,
    user_ids: Iterable[str],
    kind: str,
    title: str | None = None,
    body: str = "",
    urgent: bool = False,
    resident_id: str | None = None,
    alert_id: str | None = None,
    visit_id: str | None = None,
    data: dict[str, Any] | None = None,
    not_before: datetime | None = None,
    params: dict[str, Any] | None = None,
    collapse_key: str | None = None,
    lock_screen: tuple[MessageKind, dict[str, Any]] | None = None,
) -> list[Notification]:
    recipients = sorted(set(user_ids))
    if not recipients:
        return []
    users = (
        await session.execute(
            select(User.id, User.locale).where(User.id.in_(recipients), User.org_id == org_id)
        )
    ).all()
    locale_of = {row.id: row.locale for row in users}
    recipients = [user_id for user_id in recipients if user_id in locale_of]  # never across orgs
    withheld: list[str] = []
    if resident_id is not None:
        seeing = {user for user, _ in await who_may_see(session, [(u, resident_id) for u in recipients])}
        withheld = [user_id for user_id in recipients if user_id not in seeing]
        recipients = [user_id for user_id in recipients if user_id in seeing]
    if title is None:
        params = dict(params or {})
        if "due" in params and "tz" not in params:
            params["tz"] = await session.scalar(
                select(Organisation.timezone).where(Organisation.id == org_id)
            )
    if collapse_key is None and kind == MessageKind.REMINDER:
        # The morning reminder replaces last evening's for the same visit on the phone.
        collapse_key = f"reminder:{visit_id or resident_id or 'all'}"
    notifications = []
    for user_id in recipients:
        if title is None:
            user_title, user_body = render(kind, locale_of[user_id], **(params or {}))
        else:
            user_title, user_body = title, body
        user_data = dict(data or {})
        if lock_screen is not None:
            # The push shows this shorter text (rendered from a whitelisted template); the inbox
            # keeps the full title and body.
            push_title, push_body = render(lock_screen[0], locale_of[user_id], **lock_screen[1])
            user_data[LOCK_SCREEN] = {"title": push_title, "body": push_body}
        notification = Notification(
            org_id=org_id,
            user_id=user_id,
            kind=kind,
            title=user_title,
            body=user_body,
            urgent=urgent,
            resident_id=resident_id,
            alert_id=alert_id,
            visit_id=visit_id,
            data=user_data,
            collapse_key=collapse_key,
        )
        session.add(notification)
        notifications.append(notification)
    if not notifications:
        if alert_id is not None and withheld:
            session.add(
                AlertEvent(
                    org_id=org_id,
                    alert_id=alert_id,
                    at=utcnow(),
                    action="withheld",
                    detail={"kind": kind, "user_ids": withheld, "reason": "resident_not_visible"},
                )
            )
        return []
    await session.flush()
    now = utcnow()
    devices = (
        await session.scalars(select(Device).where(Device.user_id.in_(recipients), can_receive_push(now)))
    ).all()
    by_user = {n.user_id: n for n in notifications}
    due = not_before or now
    for device in devices:
        session.add(
            Delivery(
                org_id=org_id,
                notification_id=by_user[device.user_id].id,
                device_id=device.id,
                next_attempt_at=due,
            )
        )
    if alert_id is not None:
        # The alert's history says who was told, and how (ids only).
        session.add(
            AlertEvent(
                org_id=org_id,
                alert_id=alert_id,
                at=now,
                action="notified",
                detail={
                    "kind": kind,
                    "user_ids": recipients,
                    "devices": len(devices),
                    "urgent": urgent,
                    **({"withheld_user_ids": withheld} if withheld else {}),
                },
            )
        )
    if urgent and devices and due <= now:
        session.sync_session.info[_URGENT_PENDING] = True
    return notifications


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_URGENT_PENDING, False):
        wakeup.wake()


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_URGENT_PENDING, None)
