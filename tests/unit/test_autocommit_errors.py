"""A statement sent straight to asyncpg on a hot route fails as SQLAlchemy would raise it, so the one
database error handler answers it (a data error 400, a deadlock 409), never a bare driver error."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import bindparam, literal, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError

from domain import autocommit


@pytest.mark.postgres_only
async def test_a_driver_error_is_raised_as_sqlalchemys(database_url: str) -> None:
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        with pytest.raises(DBAPIError) as raised:
            divided = select(literal(1) / bindparam("divisor"))
            await autocommit.fetch(connection, divided, asyncpg_dialect(), {"divisor": 0})
    finally:
        await connection.close()
    assert raised.value.orig.sqlstate == "22012"  # division_by_zero: what api.errors reads
