"""Push work inside a server process: choose the transport (and say which, at start-up), and in
the process that runs jobs, wake the dispatcher right after urgent messages commit. The periodic
`dispatch_once` job (registered by the scheduler) remains the guarantee."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from domain.settings import Settings
from notifications import transports, wakeup
from notifications.dispatcher import dispatch_once

log = logging.getLogger("mimamori.push")


@asynccontextmanager
async def push_dispatch(db_config: SQLAlchemyAsyncConfig, settings: Settings) -> AsyncIterator[None]:
    transport = transports.configure(settings)
    task: asyncio.Task[None] | None = None
    if settings.run_scheduler:
        task = asyncio.create_task(wakeup.run_on_wake(lambda: dispatch_once(db_config, transport=transport)))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await transport.close()
        transports.use(None)
