"""The process's one PostgreSQL listener: a dedicated asyncpg connection (outside the SQLAlchemy
pool, which would hand it to a request) that LISTENs on `domain.live.CHANNELS` and fans every
notification out to the process's hub, whatever number of streams wait there.

If the connection drops (database restart, network), it reconnects with exponential backoff
(0.5 s doubling up to 30 s); on every (re)connection every waiter is woken once, since
notifications sent meanwhile are gone. While it is down, local commits are fanned out in the
process and everyone else polls: slower, never lost. A ping every 30 s finds a half-dead
connection that never said goodbye.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from domain.live import CHANNELS, Hub

log = logging.getLogger("mimamori.live")

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
PING_SECONDS = 30.0
START_WAIT_SECONDS = 5.0  # start-up waits this long for the first connection, then goes on
APPLICATION_NAME = "mimamori-listener"  # how an operator tells these connections in pg_stat_activity


# Options of SQLAlchemy's asyncpg adapter, not of asyncpg.connect (which would send them to the
# server as settings).
_ADAPTER_ONLY = (
    "async_fallback",
    "async_creator_fn",
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
)


def connect_arguments(database_url: str) -> dict[str, Any]:
    """What the engine's own connections get from the URL (host, port, user, database, `ssl` and
    other query options; a password if the URL has one, else asyncpg reads PGPASSWORD)."""
    url = make_url(database_url)
    _args, options = PGDialect_asyncpg().create_connect_args(url)
    for name in _ADAPTER_ONLY:
        options.pop(name, None)
    return dict(options)


class PgListener:
    def __init__(self, database_url: str, hub: Hub) -> None:
        self.options = connect_arguments(database_url)
        self.hub = hub
        self.connected = asyncio.Event()
        self.connections = 0  # how many times it has (re)connected: tests and logs

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PgListener]:
        task = asyncio.create_task(self._run(), name="mimamori-pg-listener")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), timeout=START_WAIT_SECONDS)
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.hub.remote = False

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            try:
                await self._listen_once()
                backoff = FIRST_BACKOFF  # it had connected: start the backoff afresh
            except Exception as exc:
                log.warning(
                    "live listener: no connection (%s); retrying in %.1f s", type(exc).__name__, backoff
                )
            finally:
                self.hub.remote = False
                self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)

    async def _listen_once(self) -> None:
        connection = await asyncio.wait_for(
            asyncpg.connect(
                **self.options,
                server_settings={
                    **self.options.get("server_settings", {}),
                    "application_name": APPLICATION_NAME,
                },
            ),
            timeout=10,
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            for channel in CHANNELS:
                await connection.add_listener(channel, self._heard)
            self.connections += 1
            self.hub.remote = True
            self.connected.set()
            if self.connections > 1:
                log.info("live listener: reconnected")
            self.hub.publish_all()  # anything announced while we were away: look again
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), timeout=PING_SECONDS)
                if not lost.is_set():
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), timeout=10)
            log.warning("live listener: connection lost")
        finally:
            self.hub.remote = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)

    def _heard(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self.hub.publish(channel, payload or None)
