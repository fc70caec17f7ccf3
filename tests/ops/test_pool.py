"""The PostgreSQL connection pool hands out live connections without pinging each one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from domain import db as database
from domain.db import create_db_config
from domain.settings import Settings

pytestmark = pytest.mark.postgres_only


def _pooled(settings: Settings) -> Settings:
    return settings.model_copy(update={"db_pool_disabled": False})


async def test_a_connection_the_server_closed_is_replaced_not_handed_out(settings, backend) -> None:
    config = create_db_config(_pooled(settings))
    engine = config.get_engine()
    try:
        async with engine.connect() as first:  # two in the pool; the first is ended by the server
            victim = int(await first.scalar(text("SELECT pg_backend_pid()")))
            await first.rollback()
            async with engine.connect() as second:
                await second.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
                await second.commit()
        await asyncio.sleep(0.2)  # the server's goodbye reaches the driver
        for _ in range(4):  # whichever pooled connection comes out, the query is answered
            async with engine.connect() as conn:
                assert int(await conn.scalar(text("SELECT 1"))) == 1
                assert int(await conn.scalar(text("SELECT pg_backend_pid()"))) != victim
    finally:
        await engine.dispose()


async def test_a_busy_connection_is_not_pinged_an_idle_one_is(settings, backend, monkeypatch) -> None:
    config = create_db_config(_pooled(settings))
    engine = config.get_engine()
    pings: list[int] = []
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            adapted = type(raw.dbapi_connection)
        real_ping = adapted.ping

        def counting_ping(self):  # type: ignore[no-untyped-def]
            pings.append(1)
            return real_ping(self)

        monkeypatch.setattr(adapted, "ping", counting_ping)
        async with engine.connect() as conn:  # handed back a moment ago: used as it is
            await conn.scalar(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(database, "PING_IDLE_SECONDS", 0.0)
        async with engine.connect() as conn:  # idle "too long": pinged first, then used
            assert int(await conn.scalar(text("SELECT 1"))) == 1
        assert pings == [1]
    finally:
        await engine.dispose()
