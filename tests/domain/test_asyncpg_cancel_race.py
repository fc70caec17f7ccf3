"""The asyncpg cancel-request race (MagicStack/asyncpg#1310) is not an error; everything else is."""

from __future__ import annotations

import asyncio
import logging

from domain.db import tolerate_asyncpg_cancel_race


async def test_only_the_abandoned_cancel_probe_is_kept_out_of_the_error_log(caplog) -> None:
    loop = asyncio.get_running_loop()
    seen: list[dict] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        tolerate_asyncpg_cancel_race()
        tolerate_asyncpg_cancel_race()  # twice: still one wrapper, nothing reported twice
        caplog.set_level(logging.INFO, logger="mimamori.db")
        race = {
            "message": "Future exception was never retrieved",
            "exception": ConnectionError("unexpected connection_lost() call"),
        }
        other_lost = {
            "message": "Future exception was never retrieved",
            "exception": ConnectionError("server closed the connection"),
        }
        task_error = {"message": "Task exception was never retrieved", "exception": ValueError("bug")}
        for context in (race, other_lost, task_error):
            loop.call_exception_handler(context)
        assert seen == [other_lost, task_error]
        assert [r.getMessage() for r in caplog.records if r.name == "mimamori.db"] == [
            "asyncpg cancel request abandoned (query was cancelled)"
        ]
    finally:
        loop.set_exception_handler(previous)
