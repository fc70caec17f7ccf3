"""Routes whose request session starts in autocommit (PostgreSQL): a hot read that writes nothing
needs no BEGIN and COMMIT, two round trips of a five-round-trip request.

A route says so with `opt={AUTOCOMMIT_START: True}`; `api.deps.provide_principal` then puts the
session's connection in autocommit before authentication, so each statement is its own
transaction. The handler must end that unit (`end_autocommit`, no round trip) before anything that
needs a transaction (several writes that go together, a row lock held across statements): the next
statement then checks out a connection in the default isolation and begins as usual. SQLite is
left as it is (its transactions cost no network).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

AUTOCOMMIT_START = "autocommit_start"


async def start_in_autocommit(session: AsyncSession) -> None:
    """Before the session's first statement: its connection in autocommit (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def in_autocommit(session: AsyncSession) -> bool:
    """Whether the session's current connection runs each statement on its own."""
    if not session.in_transaction():
        return False
    options = (await session.connection()).sync_connection.get_execution_options()  # type: ignore[union-attr]
    return options.get("isolation_level") == "AUTOCOMMIT"


async def end_autocommit(session: AsyncSession) -> None:
    """From here on the session works in transactions again (a no-op when it already does)."""
    if await in_autocommit(session):
        await session.commit()  # no round trip: ends the unit, the connection goes back to the pool
