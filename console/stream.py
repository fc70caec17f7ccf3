"""The Today page's live feed: a server-sent event `alert` whenever an alert in the person's scope
opens or changes, so that HTMX reloads the lists (the event carries no personal data; the lists
are fetched through the same scoped query as the page).

It follows the same change feed as the API's `/api/v1/alerts/stream` (`changes_since`), shares its
per-process caps (`StreamSlots`), resumes from `Last-Event-ID`, and ends when its lifetime is over
or the console session ends (sign-out, expiry, idleness, deactivation): then it sends `end`, which makes the
page stop reconnecting. When the person's role or districts change, its filter (the scope it
opened with) is stale: one last `alert` makes the page fetch the lists with the new scope, and the
stream closes without `end`, so the browser reconnects (`retry`, 3 s, from the last event id) and
the new stream follows the new scope — as it does when the stream's lifetime is over.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.response import ServerSentEventMessage

from console import sessions
from console.config import ConsoleSettings, console_settings
from domain import live
from domain.access import Principal
from domain.clock import utcnow
from domain.db import session_scope
from domain.settings import PushSettings
from notifications.alert_stream import SIGNED_OUT, current_position, read_changes, why_stream_ends
from notifications.stream_slots import StreamSlot, StreamSlots


def stream_slots(state: Any) -> StreamSlots:
    """The process's stream counter, the same one the API's alert stream takes its slots from
    (`app.state.alert_stream_slots`), so that the caps count a person's console and phone streams
    together."""
    if getattr(state, "alert_stream_slots", None) is None:
        state.alert_stream_slots = StreamSlots()
    return state.alert_stream_slots  # type: ignore[no-any-return]


async def console_alert_events(
    db_config: SQLAlchemyAsyncConfig,
    principal: Principal,
    session_id: str,
    config: PushSettings,
    *,
    last_event_id: int | None,
    slot: StreamSlot,
    console: ConsoleSettings | None = None,
) -> AsyncIterator[ServerSentEventMessage]:
    console = console or console_settings()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.stream_max_seconds
        opened_at = utcnow()
        cursor = (
            last_event_id
            if last_event_id is not None
            else await current_position(db_config, principal.org_id)
        )
        yield ServerSentEventMessage(event="ready", id=str(cursor), data=json.dumps({}), retry=3000)
        while loop.time() < deadline:
            async with session_scope(db_config) as session:
                signed_in = await sessions.still_live(session, session_id, console)
            if not signed_in:
                yield ServerSentEventMessage(event="end", data=json.dumps({"reason": SIGNED_OUT}))
                return
            change = live.watch(live.ALERTS, principal.org_id)  # before looking
            # Counts only leave the server (no names): nothing to audit, unlike the API's stream.
            items, next_cursor = await read_changes(db_config, principal, cursor, config.stream_batch)
            # As the API's stream: checked after reading, before sending; nothing read with the
            # old scope is counted. A person whose role or districts changed gets one last refresh
            # of the lists (fetched with their new scope); then the stream closes and the browser
            # reconnects under the new scope (a signed-out person gets `end` on the next look).
            reason = await why_stream_ends(db_config, principal, opened_at)
            if reason == SIGNED_OUT:
                yield ServerSentEventMessage(event="end", data=json.dumps({"reason": SIGNED_OUT}))
                return
            if reason is not None:
                yield ServerSentEventMessage(event="alert", id=str(cursor), data=json.dumps({"changed": 0}))
                return
            cursor = next_cursor
            if items:
                yield ServerSentEventMessage(
                    event="alert", id=str(cursor), data=json.dumps({"changed": len(items)})
                )
            if len(items) < config.stream_batch:
                # Woken by the process's listener when any process changes an alert; the poll
                # interval is the safety net.
                await change.wait(min(config.stream_poll_seconds, max(0.0, deadline - loop.time())))
    finally:
        slot.release()
