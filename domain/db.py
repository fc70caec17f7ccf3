"""The one database configuration: engine, session factory and Alembic, through advanced-alchemy.

Requests get their session from the Litestar plugin; jobs, the CLI and tests use `session_scope`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool

from domain import alerts as _alerts  # noqa: F401  (every writer announces alert changes: domain.live)
from domain.feed import register_guard_events
from domain.models import Base
from domain.settings import Settings, ensure_private_dir

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

register_guard_events()


# `await session.connection(execution_options=READ_ONLY)` before the first statement of a unit of
# work that only reads: on SQLite it begins DEFERRED instead of taking the write lock (WAL readers
# neither wait for writers nor block them). It must not write. Other databases ignore it.
READ_ONLY_OPTION = "mimamori_read_only"
READ_ONLY = {READ_ONLY_OPTION: True}


_NO_AA_LISTENERS = {"enable_cache_listener": False, "enable_file_object_listener": False}


def create_db_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    # hide_parameters: a database error's message never carries bound values (names, note bodies)
    # into logs or tracebacks.
    engine_kwargs: dict[str, Any] = {"echo": settings.db_echo, "hide_parameters": True}
    if settings.db_pool_disabled:
        engine_kwargs["poolclass"] = NullPool
    elif not settings.is_sqlite:
        # No pool_pre_ping: with asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) on every
        # checkout, more than a whole authenticated read. `_check_out_alive` pings only connections
        # that sat idle in the pool (see there).
        engine_kwargs.update(pool_size=10, max_overflow=10, pool_recycle=POOL_RECYCLE_SECONDS)
    if settings.is_sqlite:
        ensure_private_dir(settings.data_dir)
        _private_sqlite_file(settings.database_url)
        engine_kwargs["connect_args"] = {"timeout": 30}
    elif "+asyncpg" in settings.database_url:
        # No JIT: every statement here is short, and PostgreSQL compiles any whose estimated cost
        # passes jit_above_cost (a whole-town report: 100,000 residents), which costs 50-300 ms
        # per statement, more than it saves (bench/reports_results.md).
        engine_kwargs["connect_args"] = {"server_settings": {"jit": "off"}}
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        metadata=Base.metadata,
        engine_config=EngineConfig(**engine_kwargs),
        # Neither advanced-alchemy's file objects nor its cache are used. Their commit listeners
        # looked their switch up on every commit, building an option engine each time (about a
        # twentieth of a no-op pull's CPU): the session's info answers first.
        session_config=AsyncSessionConfig(expire_on_commit=False, info=dict(_NO_AA_LISTENERS)),
        before_send_handler="autocommit",
        enable_touch_updated_timestamp_listener=False,
        enable_file_object_listener=False,
        alembic_config=AlembicAsyncConfig(
            script_config=str(MIGRATIONS_DIR / "alembic.ini"),
            script_location=str(MIGRATIONS_DIR),
            version_table_name="alembic_version",
            render_as_batch=True,
            compare_type=True,
        ),
    )
    if settings.is_sqlite:
        _configure_sqlite(config)
    elif not settings.db_pool_disabled:
        _check_out_alive(config)
    return config


POOL_RECYCLE_SECONDS = 1800  # a connection older than this is replaced at checkout
PING_IDLE_SECONDS = 10.0  # a connection back in the pool for longer than this is pinged first


def _check_out_alive(config: SQLAlchemyAsyncConfig) -> None:
    """What pool_pre_ping guarded against, for a fraction of its cost. A connection the server
    closed (a restart, an administrator's pg_terminate_backend) is seen closed by the driver at
    once, without a round trip; one that sat idle for PING_IDLE_SECONDS may have been dropped
    silently on the way (a firewall, a NAT) and is pinged. Either way the pool is told
    (DisconnectionError) and hands out a fresh connection instead. A connection handed back a
    moment ago by the previous request, under load the usual case, is used as it is."""
    pool = config.get_engine().sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _driver_sees_closed(dbapi_connection):
            raise DisconnectionError("connection closed by the server")
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since > PING_IDLE_SECONDS:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("connection lost while idle") from exc
            record.info[_IDLE_SINCE] = None


_IDLE_SINCE = "mimamori_idle_since"


def _driver_sees_closed(dbapi_connection: Any) -> bool:
    is_closed = getattr(getattr(dbapi_connection, "_connection", None), "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False


def _private_sqlite_file(url: str) -> None:
    """Residents' data at rest is for the service account only: create the SQLite file 0600 before
    SQLite does (it would use 0644 under the usual umask). SQLite gives its -wal and -shm files the
    database file's permissions; files left by an older version are tightened too."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        ensure_private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            candidate.chmod(0o600)


def _configure_sqlite(config: SQLAlchemyAsyncConfig) -> None:
    """WAL for concurrent readers, foreign keys on, and BEGIN IMMEDIATE so that two writers queue
    on the busy timeout instead of failing with "database is locked" on lock upgrade."""
    engine = config.get_engine()

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")  # a read-only look never queues for the write lock
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@asynccontextmanager
async def session_scope(config: SQLAlchemyAsyncConfig) -> AsyncIterator[AsyncSession]:
    """A unit of work outside a request: commit on success, roll back on error."""
    async with config.get_session() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def sqlstate_of(exc: BaseException) -> str:
    orig = getattr(exc, "orig", exc)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def is_transient(exc: BaseException) -> bool:
    """A failure that running the same transaction again can cure (PostgreSQL broke a lock cycle
    or a serialization conflict by aborting this transaction)."""
    return sqlstate_of(exc) in TRANSIENT_SQLSTATES


def _is_asyncpg_cancel_race(context: dict[str, Any]) -> bool:
    exception = context.get("exception")
    return (
        type(exception) is ConnectionError
        and str(exception) == "unexpected connection_lost() call"
        and "never retrieved" in str(context.get("message", ""))
    )


def tolerate_asyncpg_cancel_race(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Keep a known asyncpg race out of the error log (MagicStack/asyncpg#1310, #1211).

    Cancelling a task mid-query (stopping the scheduler, a client hanging up) makes asyncpg send a
    best-effort cancel request over a new TLS-probed connection; when that connection closes while
    asyncpg is itself cancelling the request, the probe's future keeps a `ConnectionError` nobody
    reads and asyncio logs "Future exception was never retrieved" at ERROR. Nothing was lost: the
    query was being abandoned anyway. Every other unhandled error still reaches the previous
    handler. Idempotent per loop."""
    loop = loop or asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    if getattr(previous, "tolerates_asyncpg_cancel_race", False):
        return

    def handler(event_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if _is_asyncpg_cancel_race(context):
            logging.getLogger("mimamori.db").info("asyncpg cancel request abandoned (query was cancelled)")
            return
        if previous is not None:
            previous(event_loop, context)
        else:
            event_loop.default_exception_handler(context)

    handler.tolerates_asyncpg_cancel_race = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)
