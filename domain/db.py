"""The one database configuration: engine, session factory and Alembic, through advanced-alchemy.

Requests get their session from the Litestar plugin; jobs, the CLI and tests use `session_scope`.
"""

from __future__ import annotations

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
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool

from domain.feed import register_guard_events
from domain.models import Base
from domain.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

register_guard_events()


def create_db_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    # hide_parameters: a database error's message never carries bound values (names, note bodies)
    # into logs or tracebacks.
    engine_kwargs: dict[str, Any] = {"echo": settings.db_echo, "hide_parameters": True}
    if settings.db_pool_disabled:
        engine_kwargs["poolclass"] = NullPool
    elif not settings.is_sqlite:
        engine_kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine_kwargs["connect_args"] = {"timeout": 30}
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        metadata=Base.metadata,
        engine_config=EngineConfig(**engine_kwargs),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        enable_touch_updated_timestamp_listener=False,
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
    return config


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
