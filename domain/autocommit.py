"""Routes whose request session starts in autocommit (PostgreSQL): a hot read that writes nothing
needs no BEGIN and COMMIT, two round trips of a five-round-trip request.

A route says so with `opt={AUTOCOMMIT_START: True}`; `api.deps.provide_principal` then puts the
session's connection in autocommit before authentication, so each statement is its own
transaction. The handler must end that unit (`end_autocommit`, no round trip) before anything that
needs a transaction (several writes that go together, a row lock held across statements): the next
statement then checks out a connection in the default isolation and begins as usual. SQLite is
left as it is (its transactions cost no network).

While the unit lasts, `driver` gives its asyncpg connection: a hot read (authentication, the
watermark, the no-op pull's SELECT) goes to it straight, with `fetch` (SQL compiled once per
statement), without SQLAlchemy's per-execution work — about half of a no-op pull's CPU was
SQLAlchemy's session, connection and result machinery around three one-row reads.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from typing import Any

import asyncpg
from sqlalchemy import Insert, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable

AUTOCOMMIT_START = "autocommit_start"
# session.info: the SessionTransaction begun in autocommit and its asyncpg connection. A later
# transaction of the same session (after any commit or rollback) is another object: no longer ours.
_UNIT = "mimamori.autocommit_unit"


async def start_in_autocommit(session: AsyncSession) -> None:
    """Before the session's first statement: its connection in autocommit (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        driver = None
        if connection.dialect.driver == "asyncpg":
            driver = (await connection.get_raw_connection()).driver_connection
        session.info[_UNIT] = (session.sync_session.get_transaction(), driver)


def _unit(session: AsyncSession) -> tuple[Any, Any] | None:
    unit = session.info.get(_UNIT)
    if unit is None:
        return None
    if unit[0] is not session.sync_session.get_transaction():  # committed or rolled back since
        del session.info[_UNIT]
        return None
    return unit  # type: ignore[no-any-return]


async def in_autocommit(session: AsyncSession) -> bool:
    """Whether the session's current connection runs each statement on its own."""
    return _unit(session) is not None


def driver(session: AsyncSession) -> Any | None:
    """The asyncpg connection of the session's autocommit unit (None outside one, or on another
    driver): each statement sent to it is its own transaction."""
    unit = _unit(session)
    return None if unit is None else unit[1]


async def end_autocommit(session: AsyncSession) -> None:
    """From here on the session works in transactions again (a no-op when it already does)."""
    if _unit(session) is not None:
        del session.info[_UNIT]
        await session.commit()  # no round trip: ends the unit, the connection goes back to the pool


@functools.cache
def _compiled(
    stmt: Executable, dialect: Dialect, keys: frozenset[str]
) -> tuple[str, tuple[str, ...], Any, dict[str, Any], dict[str, Any]]:
    """SQL, bind names in order, row type, default bind values and bind converters of `stmt`."""
    if isinstance(stmt, Insert):
        # Values for every column: no column default would be left for SQLAlchemy to compute.
        missing = set(stmt.table.c.keys()) - keys
        assert not missing, f"an INSERT on the driver path names every column: {sorted(missing)}"
        compiled = stmt.compile(dialect=dialect, column_keys=sorted(keys))
    else:
        compiled = stmt.compile(dialect=dialect)
    expanding = [name for name, bind in compiled.binds.items() if bind.expanding]
    assert not expanding, f"expanding parameters not supported on the driver path: {expanding}"
    names = tuple(compiled.positiontup or ())
    columns = stmt.selected_columns.keys() if isinstance(stmt, Select) else ()
    row = namedtuple("row", columns, rename=True)  # type: ignore[misc]
    processors = dict(getattr(compiled, "_bind_processors", {}))
    return str(compiled), names, row, dict(compiled.params), processors


@functools.cache
def runs(stmt: Executable) -> bool:
    """Whether `fetch` can run `stmt`: no IN list expanded per execution (only SQLAlchemy does
    that; e.g. a commissioner's districts, or a fixed list of legal bases)."""
    return not any(bind.expanding for bind in stmt.compile().binds.values())


async def fetch(connection: Any, stmt: Executable, dialect: Dialect, binds: dict[str, Any]) -> list[Any]:
    """`stmt`'s rows from an asyncpg connection, as named tuples with the statement's column keys
    (`row.revoked_at`, as SQLAlchemy's rows). Bind values go through their types' converters, as
    SQLAlchemy would send them; result values come as asyncpg gives them, so only for columns
    that need no conversion beyond asyncpg's own (timestamptz comes back aware, in UTC, as
    DateTimeUTC gives it; JSONB decoded by the codec SQLAlchemy installs on each connection;
    strings, numbers, booleans as they are). No IN list expanded per execution."""
    sql, names, row, defaults, processors = _compiled(stmt, dialect, frozenset(binds))
    values = {**defaults, **binds}
    for name, convert in processors.items():
        if name in values:
            values[name] = convert(values[name])
    try:
        records = await connection.fetch(sql, *(values[name] for name in names))
    except asyncpg.PostgresError as error:
        # as SQLAlchemy would raise it, so that the one database error handler (api.errors) answers
        # a data error 400 and a deadlock or serialisation failure 409, as on every other path
        raise DBAPIError(sql, None, error) from error
    return [row._make(record) for record in records]
