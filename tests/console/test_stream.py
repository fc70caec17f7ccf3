"""The Today page's live feed: an event when an alert in scope changes (none for what the person may
not see), and the end of the stream when the console session ends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import delete, select

from console import sessions
from console.config import ConsoleSettings
from console.stream import console_alert_events
from domain import alerts as lifecycle
from domain.db import create_db_config
from domain.models import AuditEvent, ConsoleSession, User, UserDistrict
from domain.principals import principal_of
from domain.settings import PushSettings
from notifications.stream_slots import StreamSlots


async def _commissioners_feed(settings, db, world) -> tuple[str, StreamSlots, Any]:
    """The commissioner signed in to the console with their feed open (`ready` already read):
    (console session token, the stream slots, the feed)."""
    config = PushSettings(_env_file=None, stream_poll_seconds=0.01, stream_max_seconds=30)
    async with db() as session:
        commissioner = await session.get(User, world.commissioner.id)
        principal = await principal_of(session, commissioner)
        token = await sessions.start(session, commissioner, ConsoleSettings())
        session_id = (await sessions.load(session, token, ConsoleSettings())).session.id
    slots = StreamSlots()
    events = console_alert_events(
        create_db_config(settings),
        principal,
        session_id,
        config,
        last_event_id=None,
        slot=slots.acquire(principal, config),
    )
    ready = await anext(events)
    assert ready.event == "ready"
    return token, slots, events


async def test_the_feed_announces_changes_in_scope_and_ends_at_sign_out(settings, db, world):
    token, slots, events = await _commissioners_feed(settings, db, world)
    async with db() as session:
        # Another district's alert (not the commissioner's), then one in their district.
        await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="contact_gap",
            cause_key="gap:other",
            resident_id=world.other_resident.id,
        )
        await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="contact_gap",
            cause_key="gap:own",
            resident_id=world.resident.id,
        )
    changed = await anext(events)
    assert changed.event == "alert" and json.loads(changed.data) == {"changed": 1}  # only the visible one
    assert "山田" not in changed.data  # no personal data in the event: the page fetches the list
    async with db() as session:
        await sessions.end(session, token)
    ended = await anext(events)
    assert ended.event == "end"
    await events.aclose()
    assert slots.total == 0  # the stream gave its slot back


async def test_the_feed_follows_the_persons_new_districts(settings, db, world):
    """A commissioner's district taken away and another given: the feed, filtering with the scope it
    opened with, must not go on announcing the old district's alerts — one last refresh (the lists
    are fetched with the new scope), then the stream closes without `end`, so the browser reconnects
    and the new stream announces the new district's alerts. Before, the live updates stopped until
    the person opened another page."""
    _, slots, events = await _commissioners_feed(settings, db, world)
    async with db() as session:
        await session.execute(delete(UserDistrict).where(UserDistrict.user_id == world.commissioner.id))
        session.add(
            UserDistrict(
                org_id=world.org.id,
                user_id=world.commissioner.id,
                district_id=world.other_resident.district_id,
            )
        )
        await session.commit()
        await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="contact_gap",
            cause_key="gap:own",
            resident_id=world.resident.id,
        )
    refresh = await anext(events)
    assert refresh.event == "alert" and json.loads(refresh.data) == {"changed": 0}
    with pytest.raises(StopAsyncIteration):  # closed without `end`: the browser reconnects
        await anext(events)
    assert slots.total == 0
    async with db() as session:  # counts only left the server: no audit event claims names were sent
        assert (await session.scalars(select(AuditEvent).where(AuditEvent.action == "stream"))).all() == []

    # The browser's reconnection (from the last event id) is served with the new scope.
    async with db() as session:
        principal = await principal_of(session, await session.get(User, world.commissioner.id))
        session_id = (await session.scalars(select(ConsoleSession.id))).one()
    config = PushSettings(_env_file=None, stream_poll_seconds=0.01, stream_max_seconds=30)
    again = console_alert_events(
        create_db_config(settings),
        principal,
        session_id,
        config,
        last_event_id=int(refresh.id),
        slot=slots.acquire(principal, config),
    )
    assert (await anext(again)).event == "ready"
    async with db() as session:
        await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="contact_gap",
            cause_key="gap:other",
            resident_id=world.other_resident.id,
        )
    changed = await anext(again)  # read from the last event id: the old district's alert is not counted
    assert changed.event == "alert" and json.loads(changed.data) == {"changed": 1}
    await again.aclose()
    assert slots.total == 0
