"""Live changes across processes: "something changed for organisation X on channel Y, look again".

Several API processes and several workers share one database. A write that others should react to
at once (an alert opened or changed, an urgent push waiting) *announces* itself in its own
transaction; every process hears it right after the commit and wakes the waiters it has:

* **PostgreSQL** — `announce` runs `SELECT pg_notify(channel, org_id)` in the writer's transaction
  (delivered at commit, dropped at rollback); one dedicated listener connection per process
  (`domain.pg_listener`) hears every process's notifications and fans them out here.
* **SQLite** (one process) — the announcement is kept on the session and fanned out in the process
  after the commit.

Payloads carry an organisation id and nothing else. A waiter only learns "look again": streams and
the dispatcher still poll on their interval, so a lost notification (listener reconnecting, process
busy) delays a change, never loses it.

`watch(channel, org_id)` before looking, then `await change.wait(seconds)` after: a change
announced in between is not missed. `subscribe(channel, callback)` calls back on every announcement
(the dispatcher's wake-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

log = logging.getLogger("mimamori.live")

ALERTS = "mimamori_alerts"  # an alert was opened or changed (payload: org id)
OUTBOX = "mimamori_outbox"  # an urgent push is due now (payload: org id)
CHANNELS = (ALERTS, OUTBOX)

_PENDING = "mimamori_live_pending"
Callback = Callable[[str | None], None]


class Hub:
    """One per event loop: the waiters and subscribers of this process, and whether a listener
    connection brings other processes' announcements (then local commits need no fan-out: the
    database sends them back)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.remote = False  # a PostgreSQL listener is connected
        self._events: dict[tuple[str, str | None], asyncio.Event] = {}
        self._callbacks: dict[str, list[Callback]] = {}

    def watch(self, channel: str, key: str | None) -> asyncio.Event:
        return self._events.setdefault((channel, key), asyncio.Event())

    def subscribe(self, channel: str, callback: Callback) -> Callable[[], None]:
        self._callbacks.setdefault(channel, []).append(callback)
        return lambda: self._callbacks.get(channel, []).remove(callback)

    def publish(self, channel: str, key: str | None) -> None:
        """Wake who watches `key` on `channel` (and who watches the whole channel); with `key`
        None, everyone on the channel (after a reconnection, when anything may have been missed)."""
        if key is None:
            targets = [k for k in self._events if k[0] == channel]
        else:
            targets = [(channel, key), (channel, None)]
        for target in targets:
            woken = self._events.pop(target, None)  # the next watcher gets a fresh event
            if woken is not None:
                woken.set()
        for callback in list(self._callbacks.get(channel, [])):
            try:
                callback(key)
            except Exception:  # one subscriber's failure must not silence the others
                log.exception("live subscriber failed", extra={"channel": channel})

    def publish_all(self) -> None:
        for channel in CHANNELS:
            self.publish(channel, None)


_hubs: dict[asyncio.AbstractEventLoop, tuple[Hub, int]] = {}


def current_hub() -> Hub | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    entry = _hubs.get(loop)
    return entry[0] if entry else None


class Change:
    """What `watch` hands back: wait until the watched change is announced, or the timeout."""

    def __init__(self, event: asyncio.Event | None) -> None:
        self._event = event

    async def wait(self, seconds: float) -> bool:
        """True when woken by an announcement, False after `seconds`."""
        if seconds <= 0:
            return False
        if self._event is None:
            await asyncio.sleep(seconds)
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)
            return True
        return False


def watch(channel: str, org_id: str | None) -> Change:
    """Call before looking; `await change.wait(seconds)` after. Without a hub in this event loop
    (a bare script, a test without the lifespan) the wait is a plain sleep: polling as before."""
    hub = current_hub()
    return Change(hub.watch(channel, org_id) if hub else None)


def subscribe(channel: str, callback: Callback) -> Callable[[], None]:
    hub = current_hub()
    if hub is None:
        return lambda: None
    return hub.subscribe(channel, callback)


def announce(session: Session, channel: str, org_id: str) -> None:
    """In the writer's transaction: on PostgreSQL a NOTIFY sent at commit; everywhere a fan-out in
    this process after the commit (skipped where the listener brings the NOTIFY back)."""
    session.info.setdefault(_PENDING, set()).add((channel, org_id))
    # Sent at every call, not once per transaction: a savepoint that rolls back takes its NOTIFY
    # with it. PostgreSQL delivers identical notifications of one transaction once.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": org_id})


@event.listens_for(Session, "after_commit")
def _fan_out_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction goes on
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        for hub, _count in list(_hubs.values()):
            if not hub.remote:
                for channel, org_id in pending:
                    _call_in(hub, hub.publish, channel, org_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous: Any) -> None:
    if not getattr(previous, "nested", False):  # a savepoint's rollback keeps the rest (harmless)
        session.info.pop(_PENDING, None)


def _call_in(hub: Hub, function: Callable[..., None], *args: Any) -> None:
    if hub.loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is hub.loop:
        function(*args)
    else:
        hub.loop.call_soon_threadsafe(function, *args)


@asynccontextmanager
async def listening(database_url: str) -> AsyncIterator[Hub]:
    """The process's hub for the lifetime of an app or a worker, with the PostgreSQL listener
    connection when the database is PostgreSQL. Entered twice in one event loop (two apps), the
    first one's hub and listener serve both."""
    loop = asyncio.get_running_loop()
    entry = _hubs.get(loop)
    if entry is not None:
        hub, count = entry
        _hubs[loop] = (hub, count + 1)
        try:
            yield hub
        finally:
            _release(loop)
        return
    hub = Hub(loop)
    _hubs[loop] = (hub, 1)
    try:
        if database_url.startswith("postgresql"):
            from domain.pg_listener import PgListener

            async with PgListener(database_url, hub).running():
                yield hub
        else:
            yield hub
    finally:
        _release(loop)


def _release(loop: asyncio.AbstractEventLoop) -> None:
    hub, count = _hubs[loop]
    if count > 1:
        _hubs[loop] = (hub, count - 1)
    else:
        del _hubs[loop]
