"""Push work inside a server or worker process: choose the transport (and say which, at start-up),
and in the process that runs jobs, wake the dispatcher right after urgent messages commit — written
here or, through `live.OUTBOX` (PostgreSQL NOTIFY), in any other process. The periodic
`dispatch_once` job (registered by the scheduler) remains the guarantee."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from domain import live
from domain.settings import Settings
from notifications import transports, wakeup
from notifications.dispatcher import dispatch_once

log = logging.getLogger("mimamori.push")


@asynccontextmanager
async def push_dispatch(db_config: SQLAlchemyAsyncConfig, settings: Settings) -> AsyncIterator[None]:
    """The server's push work: its transport, and the dispatcher's wake-up when it runs the jobs
    (MIMAMORI_RUN_SCHEDULER)."""
    transport = transports.configure(settings)
    try:
        if settings.run_scheduler:
            async with dispatcher_wakeup(db_config):
                yield
        else:
            yield
    finally:
        await transport.close()
        transports.use(None)


@asynccontextmanager
async def dispatcher_wakeup(db_config: SQLAlchemyAsyncConfig) -> AsyncIterator[None]:
    """Run the dispatcher as soon as an urgent push commits, in this process or — heard through
    `live.OUTBOX` — in any other. Enter inside `live.listening`. The transport is the process's
    (`transports.current()`), so that a worker behaves as before when it is misconfigured: each
    run fails in the log."""
    task = asyncio.create_task(wakeup.run_on_wake(lambda: dispatch_once(db_config)))
    unsubscribe = live.subscribe(live.OUTBOX, lambda _org_id: wakeup.wake())
    try:
        yield
    finally:
        unsubscribe()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
