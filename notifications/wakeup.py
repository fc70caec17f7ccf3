"""Wake the dispatcher right after an urgent message commits (process-local; the periodic job is
the guarantee, this only makes urgent pushes leave in well under a second)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("mimamori.push")

_event: asyncio.Event | None = None
_loop: asyncio.AbstractEventLoop | None = None


def wake() -> None:
    """Safe from any thread; a no-op when no waker loop runs in this process."""
    if _event is None or _loop is None or _loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is _loop:
        _event.set()
    else:
        _loop.call_soon_threadsafe(_event.set)


async def run_on_wake(dispatch: Callable[[], Awaitable[int]], *, idle_seconds: float = 30.0) -> None:
    """Run `dispatch` whenever woken (and at least every `idle_seconds`) until cancelled."""
    global _event, _loop
    _event, _loop = asyncio.Event(), asyncio.get_running_loop()
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_event.wait(), timeout=idle_seconds)
            _event.clear()
            try:
                await dispatch()
            except Exception:  # keep the waker alive; the periodic job will retry
                log.exception("dispatch after wake-up failed")
    finally:
        _event, _loop = None, None
