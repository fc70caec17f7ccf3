"""Live changes (domain/live.py, domain/pg_listener.py): a committed alert or urgent push wakes the
process's waiters of that organisation — through PostgreSQL NOTIFY and the listener connection, or
on SQLite in the process — a rolled-back one wakes nobody, and a listener whose connection is
killed comes back by itself."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from domain import alerts, live
from domain.clock import utcnow
from domain.enums import AlertResolution, Role
from domain.models import Alert, Device
from domain.pg_listener import APPLICATION_NAME
from notifications.outbox import enqueue
from tests.factories import make_district, make_org, make_resident, make_user


async def _resident(db):
    async with db() as session:
        org = await make_org(session)
        resident = await make_resident(session, org, await make_district(session, org))
    return org, resident


async def _open_alert(db, resident, cause: str) -> None:
    async with db() as session:
        await alerts.open_alert(
            session, org_id=resident.org_id, kind="missed_contact", cause_key=cause, resident_id=resident.id
        )


async def test_a_committed_alert_wakes_the_watchers_of_its_organisation_only(db, settings, backend) -> None:
    org, resident = await _resident(db)
    async with live.listening(settings.database_url) as hub:
        # On PostgreSQL the listener brings the NOTIFY back: no in-process shortcut is taken.
        assert hub.remote is (backend == "postgresql")
        mine, theirs = live.watch(live.ALERTS, org.id), live.watch(live.ALERTS, "another-org")
        await _open_alert(db, resident, "c1")
        assert await mine.wait(5)
        assert not await theirs.wait(0.3)
        # Resolving it (any later write of the alert row) wakes them again.
        again = live.watch(live.ALERTS, org.id)
        async with db() as session:
            alert = await session.scalar(select(Alert))
            await alerts.resolve(session, alert, AlertResolution.HANDLED)
        assert await again.wait(5)


async def test_a_rolled_back_alert_wakes_nobody(db, settings) -> None:
    org, resident = await _resident(db)
    async with live.listening(settings.database_url):
        change = live.watch(live.ALERTS, org.id)
        with pytest.raises(RuntimeError):
            async with db() as session:
                await alerts.open_alert(
                    session, org_id=org.id, kind="missed_contact", cause_key="c1", resident_id=resident.id
                )
                raise RuntimeError("the request failed after the alert was written")
        assert not await change.wait(0.5)


async def test_an_urgent_push_wakes_the_dispatchers_with_the_organisation_id_only(db, settings) -> None:
    org, _ = await _resident(db)
    async with db() as session:
        coordinator = await make_user(session, org, Role.COORDINATOR, "coord")
        session.add(
            Device(
                org_id=org.id,
                user_id=coordinator.id,
                client_id="p-1",
                platform="ios",
                push_token="t-1",
                push_token_updated_at=utcnow(),
            )
        )
    heard: list[str | None] = []
    async with live.listening(settings.database_url):
        live.subscribe(live.OUTBOX, heard.append)
        async with db() as session:  # not urgent: the periodic run is soon enough
            await enqueue(
                session, org_id=org.id, user_ids=[coordinator.id], kind="generic", title="t", body="b"
            )
        async with db() as session:
            await enqueue(
                session,
                org_id=org.id,
                user_ids=[coordinator.id],
                kind="generic",
                title="本文は通知に載りません",
                body="b",
                urgent=True,
            )
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    assert heard == [org.id]


async def _listener_pids(settings) -> list[int]:
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = :name"
                ),
                {"name": APPLICATION_NAME},
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def _kill(settings, pid: int) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await engine.dispose()


@pytest.mark.postgres_only
async def test_the_listener_reconnects_after_its_connection_is_killed(db, settings, backend) -> None:
    org, resident = await _resident(db)
    async with live.listening(settings.database_url) as hub:
        [pid] = await _listener_pids(settings)  # one connection per process, whatever waits on it
        change = live.watch(live.ALERTS, org.id)
        await _kill(settings, pid)
        # Whatever was announced while it was away is unknown: on reconnecting it wakes everyone.
        assert await change.wait(10)
        for _ in range(100):
            if hub.remote:
                break
            await asyncio.sleep(0.05)
        assert hub.remote
        [new_pid] = await _listener_pids(settings)
        assert new_pid != pid
        change = live.watch(live.ALERTS, org.id)
        await _open_alert(db, resident, "after-reconnect")
        assert await change.wait(5)
    assert await _listener_pids(settings) == []  # closed with the process's lifetime


def test_the_listener_connects_as_the_engine_does() -> None:
    """The URL's TLS and server options reach the listener's connection; the SQLAlchemy adapter's
    own options do not (asyncpg would send them to the server as unknown settings)."""
    from domain.pg_listener import connect_arguments

    assert connect_arguments("postgresql+asyncpg://mimamori@db:5432/mimamori") == {
        "host": "db",
        "port": 5432,
        "user": "mimamori",
        "database": "mimamori",
    }
    options = connect_arguments(
        "postgresql+asyncpg://u:pw@h/d?ssl=verify-full&prepared_statement_cache_size=0"
    )
    assert options["ssl"] == "verify-full" and options["password"] == "pw"
    assert "prepared_statement_cache_size" not in options
