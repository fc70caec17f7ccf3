"""A live stream of new and changed alerts in the caller's scope (server-sent events).

It follows the alerts' change feed: each look takes the feed's high watermark in its own short
transaction (so a slow writer's position is never read past), then sends the alerts the caller
may see with `cursor < feed_seq <= watermark`. The event id is the feed position, so a client that
reconnects with `Last-Event-ID` misses nothing. Between looks it waits for the process's listener
(`domain.live`: an alert of the organisation changed, in any process) or the poll interval,
whichever comes first — the interval is only the safety net. Sessions are opened inside the generator: the
request's own session is closed before a streamed body runs. The stream ends after a bounded
lifetime (the client reconnects), as soon as the client disconnects (Litestar cancels it), and
with an `end` event whose `reason` says why:

- `signed_out`: the caller was signed out or deactivated, or their device revoked;
- `scope_changed`: the caller's role or districts are no longer those the stream opened with (a
  coordinator took a district away, or changed the role). The stream's filter is the principal
  built when it opened, so it must not go on: the client reconnects and authentication builds a
  fresh principal (resuming from `Last-Event-ID`, nothing in the new scope is missed).

Both are checked at every look, *after* the alerts are read and *before* any is sent: an alert
raised after a scope change, or read in the same instant as one, is never sent under the old scope.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.response import ServerSentEventMessage
from sqlalchemy import bindparam, select

from domain import audit, feed, live
from domain.access import Principal, principal_for, visible_alerts
from domain.clock import utcnow
from domain.db import READ_ONLY, session_scope
from domain.models import Alert, Device, Resident, User, UserDistrict
from domain.settings import PushSettings
from notifications.schemas import AlertOut
from notifications.stream_slots import StreamSlot


async def current_position(db_config: SQLAlchemyAsyncConfig, org_id: str) -> int:
    async with session_scope(db_config) as session:
        await session.connection(execution_options=READ_ONLY)  # SQLite: no write lock for a read
        return await feed.high_watermark(session, org_id)


# Why a stream ends before its lifetime is over (the `end` event's `reason`).
SIGNED_OUT = "signed_out"
SCOPE_CHANGED = "scope_changed"

# The user and their districts in one statement (one row per district), as authentication reads
# them: a stream looks every few seconds, so this stays one round trip (plus the device's).
_USER_SCOPE = (
    select(User.id, User.org_id, User.role, User.locale, User.active, UserDistrict.district_id)
    .outerjoin(UserDistrict, UserDistrict.user_id == User.id)
    .where(User.id == bindparam("user_id", type_=User.id.type))
)


async def why_stream_ends(
    db_config: SQLAlchemyAsyncConfig, principal: Principal, since: datetime
) -> str | None:
    """None while the stream may go on; otherwise the reason it must end. A long stream re-checks
    what its bearer token was checked for (the user still active, the device neither revoked nor
    signed out since the stream opened — `signed_out`) and rebuilds the principal the way
    authentication does: a role or districts other than those the stream filters with end it
    (`scope_changed`)."""
    async with session_scope(db_config) as session:
        await session.connection(execution_options=READ_ONLY)  # polled by every open stream
        rows = (await session.execute(_USER_SCOPE, {"user_id": principal.user_id})).all()
        if not rows or not rows[0].active or rows[0].org_id != principal.org_id:
            return SIGNED_OUT
        if principal.device_id is not None:
            device = await session.get(Device, principal.device_id)
            if (
                device is None
                or device.revoked_at is not None
                or (device.signed_out_at is not None and device.signed_out_at >= since)
            ):
                return SIGNED_OUT
    districts = {r.district_id for r in rows if r.district_id is not None}
    current = principal_for(rows[0], districts, principal.timezone, device_id=principal.device_id)
    if current.role != principal.role or current.district_ids != principal.district_ids:
        return SCOPE_CHANGED
    return None


async def changes_since(
    db_config: SQLAlchemyAsyncConfig, principal: Principal, cursor: int, limit: int
) -> tuple[list[AlertOut], int]:
    """Alerts changed after `cursor` that the principal may see, and the new cursor (their sending
    audited)."""
    out, cursor = await read_changes(db_config, principal, cursor, limit)
    await record_sent(db_config, principal, out)
    return out, cursor


async def read_changes(
    db_config: SQLAlchemyAsyncConfig, principal: Principal, cursor: int, limit: int
) -> tuple[list[AlertOut], int]:
    """Alerts changed after `cursor` that the principal may see, and the new cursor; not audited
    (`record_sent` does that once they are sent)."""
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
    # A full page may stop short of the watermark; otherwise nothing visible lies in between.
    return out, (out[-1].feed_seq if len(out) == limit else watermark)


async def record_sent(db_config: SQLAlchemyAsyncConfig, principal: Principal, out: list[AlertOut]) -> None:
    """Residents' names leave the server: one audit event per batch sent, not per alert."""
    if not out:
        return
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
        change = live.watch(live.ALERTS, principal.org_id)  # before looking: nothing slips between
        items, next_cursor = await read_changes(db_config, principal, cursor, config.stream_batch)
        # Checked after reading and before sending: what was read under a scope the caller no
        # longer has (changed before the look, or while it read) is never sent.
        reason = await why_stream_ends(db_config, principal, opened_at)
        if reason is not None:
            yield ServerSentEventMessage(event="end", data=json.dumps({"reason": reason}))
            return
        await record_sent(db_config, principal, items)
        cursor = next_cursor
        for item in items:
            yield ServerSentEventMessage(event="alert", id=str(item.feed_seq), data=item.model_dump_json())
        if len(items) < config.stream_batch:
            await change.wait(min(config.stream_poll_seconds, max(0.0, deadline - loop.time())))
