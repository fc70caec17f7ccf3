"""Schema migrations through advanced-alchemy's Alembic commands. Never `create_all` outside tests."""

from __future__ import annotations

from advanced_alchemy.alembic.commands import AlembicCommands
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession


def upgrade(config: SQLAlchemyAsyncConfig, revision: str = "head") -> None:
    """Blocking (Alembic runs its own event loop): call before serving, or via asyncio.to_thread."""
    AlembicCommands(config).upgrade(revision)


def downgrade(config: SQLAlchemyAsyncConfig, revision: str) -> None:
    AlembicCommands(config).downgrade(revision)


def head_revisions(config: SQLAlchemyAsyncConfig) -> set[str]:
    script = ScriptDirectory.from_config(AlembicCommands(config).config)
    return set(script.get_heads())


async def current_revisions(session: AsyncSession, version_table: str = "alembic_version") -> set[str]:
    try:
        rows = await session.execute(text(f"SELECT version_num FROM {version_table}"))  # noqa: S608
    except SQLAlchemyError:
        return set()
    return {row[0] for row in rows}
