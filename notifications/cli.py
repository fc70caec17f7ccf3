"""Command-line entry points of the notifications slice (wired in api/cli.py)."""

from __future__ import annotations

from domain.db import create_db_config
from domain.settings import Settings
from notifications import transports
from notifications.dispatcher import dispatch_once


async def dispatch_now(settings: Settings) -> int:
    config = create_db_config(settings)
    transport = transports.configure(settings)
    try:
        return await dispatch_once(config, transport=transport)
    finally:
        await transport.close()
        await config.get_engine().dispose()
