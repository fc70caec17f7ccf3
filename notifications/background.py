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
async def push_dispatch(
    db_config: SQLAlchemyAsyncConfig, settings: Settings, *, runs_jobs: bool | None = None
) -> AsyncIterator[None]:
    """`runs_jobs`: this process runs the dispatcher (default: the server's MIMAMORI_RUN_SCHEDULER;
    a worker always does). Enter inside `live.listening` to hear other processes."""
    transport = transports.configure(settings)
    task: asyncio.Task[None] | None = None
    unsubscribe = None
    if settings.run_scheduler if runs_jobs is None else runs_jobs:
        task = asyncio.create_task(wakeup.run_on_wake(lambda: dispatch_once(db_config, transport=transport)))
        unsubscribe = live.subscribe(live.OUTBOX, lambda _org_id: wakeup.wake())
    try:
        yield
    finally:
        if unsubscribe is not None:
            unsubscribe()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await transport.close()
        transports.use(None)
