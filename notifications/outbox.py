"""The outbox: whoever causes a message writes it here, in the same transaction as the cause.

`enqueue` stores one inbox notification per recipient and one pending delivery per device that
can receive a push (not revoked, token fresh). The dispatcher sends deliveries after commit, so a
crash between commit and send loses nothing; an urgent message wakes the dispatcher right after
the commit — in this process, and in every other through `live.OUTBOX` (PostgreSQL NOTIFY).

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

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from domain import live
from domain.access import who_may_see
from domain.base import new_id
from domain.clock import utcnow
from domain.models import AlertEvent, Delivery, Device, Notification, Organisation, User
from notifications import wakeup
from notifications.devices import can_receive_push
from notifications.templates import LOCK_SCREEN, MessageKind, render

_URGENT_PENDING = "mimamori_urgent_push_pending"
_IN_LIMIT = 1000  # ids per IN list: well under every driver's parameter limit


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _IN_LIMIT):
        yield ids[start : start + _IN_LIMIT]


@dataclass
class Message:
    """One message for several recipients: what `enqueue` takes, so a job can write many at once."""

    org_id: str
    user_ids: Iterable[str]
    kind: str
    title: str | None = None
    body: str = ""
    urgent: bool = False
    resident_id: str | None = None
    alert_id: str | None = None
    visit_id: str | None = None
    data: dict[str, Any] | None = None
    not_before: datetime | None = None
    params: dict[str, Any] | None = None
    collapse_key: str | None = None
    lock_screen: tuple[MessageKind, dict[str, Any]] | None = None


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
    message = Message(
        org_id=org_id,
        user_ids=user_ids,
        kind=kind,
        title=title,
        body=body,
        urgent=urgent,
        resident_id=resident_id,
        alert_id=alert_id,
        visit_id=visit_id,
        data=data,
        not_before=not_before,
        params=params,
        collapse_key=collapse_key,
        lock_screen=lock_screen,
    )
    return (await enqueue_many(session, [message]))[0]


async def enqueue_many(session: AsyncSession, messages: Sequence[Message]) -> list[list[Notification]]:
    """Write every message (one list of notifications per message, in order) with a fixed number
    of round trips however many there are: recipients, sight and devices are asked once for all."""
    recipients_of = [sorted(set(message.user_ids)) for message in messages]
    everyone = sorted({user_id for recipients in recipients_of for user_id in recipients})
    if not everyone:
        return [[] for _ in messages]
    users: dict[str, tuple[str, str | None]] = {}
    for chunk in _chunks(everyone):
        rows = await session.execute(select(User.id, User.org_id, User.locale).where(User.id.in_(chunk)))
        users.update({row.id: (row.org_id, row.locale) for row in rows})
    # Never across organisations.
    recipients_of = [
        [user_id for user_id in recipients if users.get(user_id, ("",))[0] == message.org_id]
        for message, recipients in zip(messages, recipients_of, strict=True)
    ]
    seeing = await who_may_see(
        session,
        {
            (user_id, message.resident_id)
            for message, recipients in zip(messages, recipients_of, strict=True)
            if message.resident_id is not None
            for user_id in recipients
        },
    )
    zones: dict[str, str] = {}
    needs_zone = {m.org_id for m in messages if m.title is None and "due" in (m.params or {})}
    if needs_zone:
        rows = await session.execute(
            select(Organisation.id, Organisation.timezone).where(Organisation.id.in_(needs_zone))
        )
        zones = {row.id: row.timezone for row in rows}
    now = utcnow()
    written: list[list[Notification]] = []
    told: list[tuple[Message, list[Notification], list[str], list[str]]] = []
    for message, recipients in zip(messages, recipients_of, strict=True):
        withheld: list[str] = []
        if message.resident_id is not None:
            withheld = [u for u in recipients if (u, message.resident_id) not in seeing]
            recipients = [u for u in recipients if (u, message.resident_id) in seeing]
        params = message.params
        if message.title is None:
            params = dict(params or {})
            if "due" in params and "tz" not in params:
                params["tz"] = zones.get(message.org_id)
        collapse_key = message.collapse_key
        if collapse_key is None and message.kind == MessageKind.REMINDER:
            # The morning reminder replaces last evening's for the same visit on the phone.
            collapse_key = f"reminder:{message.visit_id or message.resident_id or 'all'}"
        notifications = []
        for user_id in recipients:
            locale = users[user_id][1]
            if message.title is None:
                user_title, user_body = render(message.kind, locale, **(params or {}))
            else:
                user_title, user_body = message.title, message.body
            user_data = dict(message.data or {})
            if message.lock_screen is not None:
                # The push shows this shorter text (rendered from a whitelisted template); the inbox
                # keeps the full title and body.
                push_title, push_body = render(message.lock_screen[0], locale, **message.lock_screen[1])
                user_data[LOCK_SCREEN] = {"title": push_title, "body": push_body}
            notifications.append(
                Notification(
                    id=new_id(),  # known now: deliveries point at it without a flush per message
                    org_id=message.org_id,
                    user_id=user_id,
                    kind=message.kind,
                    title=user_title,
                    body=user_body,
                    urgent=message.urgent,
                    resident_id=message.resident_id,
                    alert_id=message.alert_id,
                    visit_id=message.visit_id,
                    data=user_data,
                    collapse_key=collapse_key,
                )
            )
        session.add_all(notifications)
        written.append(notifications)
        if notifications:
            told.append((message, notifications, recipients, withheld))
        elif message.alert_id is not None and withheld:
            session.add(
                AlertEvent(
                    org_id=message.org_id,
                    alert_id=message.alert_id,
                    at=now,
                    action="withheld",
                    detail={"kind": message.kind, "user_ids": withheld, "reason": "resident_not_visible"},
                )
            )
    devices_of: dict[str, list[Device]] = defaultdict(list)
    told_users = sorted({n.user_id for _, notifications, _, _ in told for n in notifications})
    for chunk in _chunks(told_users):
        for device in await session.scalars(
            select(Device).where(Device.user_id.in_(chunk), can_receive_push(now))
        ):
            devices_of[device.user_id].append(device)
    deliveries: list[dict[str, Any]] = []
    urgent_orgs: set[str] = set()
    for message, notifications, recipients, withheld in told:
        due = message.not_before or now
        devices = 0
        for notification in notifications:
            for device in devices_of[notification.user_id]:
                deliveries.append(
                    {
                        "org_id": message.org_id,
                        "notification_id": notification.id,
                        "device_id": device.id,
                        "next_attempt_at": due,
                    }
                )
                devices += 1
        if message.alert_id is not None:
            # The alert's history says who was told, and how (ids only).
            session.add(
                AlertEvent(
                    org_id=message.org_id,
                    alert_id=message.alert_id,
                    at=now,
                    action="notified",
                    detail={
                        "kind": message.kind,
                        "user_ids": recipients,
                        "devices": devices,
                        "urgent": message.urgent,
                        **({"withheld_user_ids": withheld} if withheld else {}),
                    },
                )
            )
        if message.urgent and devices and due <= now:
            session.sync_session.info[_URGENT_PENDING] = True
            urgent_orgs.add(message.org_id)
    for org_id in sorted(urgent_orgs):
        # Other processes' dispatchers too (a worker, when an API process wrote it): one NOTIFY
        # per organisation, however many urgent messages.
        await session.run_sync(live.announce, live.OUTBOX, org_id)
    if deliveries:
        # Nobody reads these back in this unit of work: one bulk INSERT, not an object per row.
        await session.flush()
        await session.execute(insert(Delivery), deliveries)
    return written


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_URGENT_PENDING, False):
        wakeup.wake()


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_URGENT_PENDING, None)
