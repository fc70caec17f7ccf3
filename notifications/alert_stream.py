"""A live stream of new and changed alerts in the caller's scope (server-sent events).

It follows the alerts' change feed: each look takes the feed's high watermark in its own short
transaction (so a slow writer's position is never read past), then sends the alerts the caller
may see with `cursor < feed_seq <= watermark`. The event id is the feed position, so a client that
reconnects with `Last-Event-ID` misses nothing. Between looks it waits for the process's listener
(`domain.live`: an alert of the organisation changed, in any process) or the poll interval,
whichever comes first — the interval is only the safety net. Sessions are opened inside the generator: the
request's own session is closed before a streamed body runs. The stream ends after a bounded
lifetime (the client reconnects), as soon as the client disconnects (Litestar cancels it), and
when the caller is signed out, deactivated or their device revoked (checked at every look).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.response import ServerSentEventMessage
from sqlalchemy import select

from domain import audit, feed, live
from domain.access import Principal, visible_alerts
from domain.clock import utcnow
from domain.db import READ_ONLY, session_scope
from domain.models import Alert, Device, Resident, User
from domain.settings import PushSettings
from notifications.schemas import AlertOut
from notifications.stream_slots import StreamSlot


async def current_position(db_config: SQLAlchemyAsyncConfig, org_id: str) -> int:
    async with session_scope(db_config) as session:
        await session.connection(execution_options=READ_ONLY)  # SQLite: no write lock for a read
        return await feed.high_watermark(session, org_id)


async def still_signed_in(db_config: SQLAlchemyAsyncConfig, principal: Principal, since: datetime) -> bool:
    """A long stream re-checks what the bearer token was checked for: the user is still active and
    the device neither revoked nor signed out since the stream opened."""
    async with session_scope(db_config) as session:
        await session.connection(execution_options=READ_ONLY)  # polled by every open stream
        user = await session.get(User, principal.user_id)
        if user is None or not user.active or user.org_id != principal.org_id:
            return False
        if principal.device_id is None:
            return True
        device = await session.get(Device, principal.device_id)
        return (
            device is not None
            and device.revoked_at is None
            and (device.signed_out_at is None or device.signed_out_at < since)
        )


async def changes_since(
    db_config: SQLAlchemyAsyncConfig, principal: Principal, cursor: int, limit: int
) -> tuple[list[AlertOut], int]:
    """Alerts changed after `cursor` that the principal may see, and the new cursor."""
    watermark = await current_position(db_config, principal.org_id)
    if watermark <= cursor:
        return [], cursor
    async with session_scope(db_config) as session:
        rows = (
            await session.execute(
                select(Alert, Resident.name, Resident.district_id)
                .join(Resident, Resident.id == Alert.resident_id)
                .where(visible_alerts(principal), Alert.feed_seq > cursor, Alert.feed_seq <= watermark)
                .order_by(Alert.feed_seq)
                .limit(limit)
            )
        ).all()
    out = []
    for alert, name, district_id in rows:
        item = AlertOut.model_validate(alert)
        item.resident_name, item.district_id = name, district_id
        out.append(item)
    if out:
        # Residents' names leave the server: one audit event per batch sent, not per alert.
        async with session_scope(db_config) as session:
            audit.record(
                session,
                principal,
                "stream",
                "alert",
                None,
                fields=["resident_name"],
                alert_ids=[a.id for a in out],
                resident_ids=sorted({a.resident_id for a in out}),
            )
    # A full page may stop short of the watermark; otherwise nothing visible lies in between.
    return out, (out[-1].feed_seq if len(out) == limit else watermark)


async def alert_events(
    db_config: SQLAlchemyAsyncConfig,
    principal: Principal,
    config: PushSettings,
    *,
    last_event_id: int | None,
    max_seconds: float,
    slot: StreamSlot | None = None,
) -> AsyncIterator[ServerSentEventMessage]:
    try:
        async for message in _events(db_config, principal, config, last_event_id, max_seconds):
            yield message
    finally:
        if slot is not None:
            slot.release()


async def _events(
    db_config: SQLAlchemyAsyncConfig,
    principal: Principal,
    config: PushSettings,
    last_event_id: int | None,
    max_seconds: float,
) -> AsyncIterator[ServerSentEventMessage]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    opened_at = utcnow()
    cursor = (
        last_event_id if last_event_id is not None else await current_position(db_config, principal.org_id)
    )
    yield ServerSentEventMessage(
        event="ready", id=str(cursor), data=json.dumps({"cursor": cursor}), retry=3000
    )
    while loop.time() < deadline:
        if not await still_signed_in(db_config, principal, opened_at):
            yield ServerSentEventMessage(event="end", data=json.dumps({"reason": "signed_out"}))
            return
        change = live.watch(live.ALERTS, principal.org_id)  # before looking: nothing slips between
        items, cursor = await changes_since(db_config, principal, cursor, config.stream_batch)
        for item in items:
            yield ServerSentEventMessage(event="alert", id=str(item.feed_seq), data=item.model_dump_json())
        if len(items) < config.stream_batch:
            await change.wait(min(config.stream_poll_seconds, max(0.0, deadline - loop.time())))
