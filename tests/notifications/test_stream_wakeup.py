"""Alert streams wait on the process's listener, not the poll interval (issue #13): with a 60 s
poll, an alert committed elsewhere reaches the app's stream and the console's feed at once — on
PostgreSQL through NOTIFY and the listener connection, on SQLite in the process. Without a
listener (no lifespan) they fall back to polling, as before."""

from __future__ import annotations

import asyncio
import json

from console import sessions
from console.config import ConsoleSettings
from console.stream import console_alert_events
from domain import alerts as lifecycle
from domain import live
from domain.db import create_db_config
from domain.models import User
from domain.principals import principal_of
from domain.settings import PushSettings
from notifications.alert_stream import alert_events
from notifications.stream_slots import StreamSlots

SLOW_POLL = PushSettings(_env_file=None, stream_poll_seconds=60, stream_max_seconds=120)


async def _raise(db, world, cause: str) -> None:
    async with db() as session:
        await lifecycle.open_alert(
            session, org_id=world.org.id, kind="contact_gap", cause_key=cause, resident_id=world.resident.id
        )


async def test_the_apps_alert_stream_hears_a_new_alert_at_once(settings, db, world) -> None:
    async with db() as session:
        principal = await principal_of(session, await session.get(User, world.coordinator.id))
    async with live.listening(settings.database_url):
        events = alert_events(
            create_db_config(settings), principal, SLOW_POLL, last_event_id=None, max_seconds=120
        )
        assert (await anext(events)).event == "ready"
        waiting = asyncio.ensure_future(anext(events))  # the stream's first look: nothing yet
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await _raise(db, world, "gap:1")
        alert = await asyncio.wait_for(waiting, timeout=3)
        assert alert.event == "alert" and json.loads(alert.data)["resident_id"] == world.resident.id
        await events.aclose()


async def test_the_consoles_feed_hears_a_new_alert_at_once(settings, db, world) -> None:
    async with db() as session:
        commissioner = await session.get(User, world.commissioner.id)
        principal = await principal_of(session, commissioner)
        token = await sessions.start(session, commissioner, ConsoleSettings())
        session_id = (await sessions.load(session, token, ConsoleSettings())).session.id
    async with live.listening(settings.database_url):
        events = console_alert_events(
            create_db_config(settings),
            principal,
            session_id,
            SLOW_POLL,
            last_event_id=None,
            slot=StreamSlots().acquire(principal, SLOW_POLL),
        )
        assert (await anext(events)).event == "ready"
        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.3)
        await _raise(db, world, "gap:1")
        changed = await asyncio.wait_for(waiting, timeout=3)
        assert changed.event == "alert" and json.loads(changed.data) == {"changed": 1}
        await events.aclose()


async def test_without_a_listener_the_stream_still_polls(settings, db, world) -> None:
    quick = PushSettings(_env_file=None, stream_poll_seconds=0.2, stream_max_seconds=30)
    async with db() as session:
        principal = await principal_of(session, await session.get(User, world.coordinator.id))
    events = alert_events(create_db_config(settings), principal, quick, last_event_id=None, max_seconds=30)
    assert (await anext(events)).event == "ready"
    waiting = asyncio.ensure_future(anext(events))
    await _raise(db, world, "gap:1")
    assert (await asyncio.wait_for(waiting, timeout=5)).event == "alert"
    await events.aclose()
