"""The change feed: every write to a syncable table gets a position that only the server advances.

Phones pull "everything after position N" (WatermelonDB's `last_pulled_at`). Two guarantees:

* **No write goes around the feed.** A flush hook stamps `feed_seq` on every inserted or updated
  row of a `FeedMixin` table and refuses ORM deletes (rows are tombstoned with `deleted_at`). Core
  statements must stamp with `next_position()` themselves; database triggers (see
  `guard_ddl`) reject any insert or update that does not advance `feed_seq` and any delete, so a
  write path that forgets is an error, never a silent gap.
* **No position is read past while an earlier one is still in flight.** PostgreSQL hands out
  sequence numbers before commit, so a reader could see position 6 committed while 5 is not yet.
  Every writing transaction holds a *shared* transaction-scoped advisory lock for its organisation
  from before it takes a position until it commits; `high_watermark()` takes the *exclusive* lock,
  which waits for those writers to finish, and reads the sequence. Pulls only hand out rows at or
  below the watermark, and every later writer gets a position above it. On SQLite writers are
  serialised by the database itself (BEGIN IMMEDIATE), so commit order is position order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Sequence,
    Table,
    event,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from domain import autocommit
from domain.base import Base, FeedMixin

FEED_SEQUENCE = "change_feed_seq"
LOCK_NAMESPACE = 7_210_001  # first key of the two-key advisory lock: "Mimamori change feed"


class ChangeFeedError(RuntimeError):
    """A write tried to go around the change feed (a delete, or an unstamped Core write)."""


# SQLite has no sequences: a one-row counter, bumped inside the (already serialised) write txn.
change_feed_counter = Table(
    "change_feed_counter",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
)
change_feed_seq = Sequence(FEED_SEQUENCE, metadata=Base.metadata, start=1)


def feed_tables(metadata: MetaData = Base.metadata) -> list[Table]:
    return [
        mapper.local_table  # type: ignore[misc]
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, FeedMixin)
    ]


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock_org_shared(session: Session, org_id: str) -> None:
    # Taken at every allocation, never remembered per transaction: a lock taken inside a SAVEPOINT
    # that rolls back (e.g. `alerts.open_alert` losing a unique race) is released by PostgreSQL,
    # and a later allocation in the same transaction would otherwise run unlocked. Re-taking a
    # held shared lock is cheap.
    session.execute(
        text("SELECT pg_advisory_xact_lock_shared(:ns, hashtext(:org))"),
        {"ns": LOCK_NAMESPACE, "org": org_id},
    )


def _allocate(session: Session, org_ids: set[str]) -> int:
    if _is_postgres(session):
        for org_id in sorted(org_ids):  # a stable order: no deadlock between two writers
            _lock_org_shared(session, org_id)
        return int(session.execute(select(change_feed_seq.next_value())).scalar_one())
    position = session.execute(
        update(change_feed_counter)
        .where(change_feed_counter.c.id == 1)
        .values(position=change_feed_counter.c.position + 1)
        .returning(change_feed_counter.c.position)
    ).scalar_one_or_none()
    if position is None:
        session.execute(change_feed_counter.insert().values(id=1, position=1))
        position = 1
    return int(position)


@event.listens_for(Session, "before_flush")
def _stamp_feed(session: Session, _flush_context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, FeedMixin):
            raise ChangeFeedError(f"{type(obj).__name__} rows are tombstoned (set deleted_at), never deleted")
    touched = [obj for obj in session.new if isinstance(obj, FeedMixin)]
    touched += [
        obj
        for obj in session.dirty
        if isinstance(obj, FeedMixin) and session.is_modified(obj, include_collections=False)
    ]
    if not touched:
        return
    position = _allocate(session, {obj.org_id for obj in touched})  # type: ignore[attr-defined]
    for obj in touched:
        obj.feed_seq = position


async def next_position(session: AsyncSession, org_id: str) -> int:
    """A feed position for a Core INSERT/UPDATE of feed rows (`values(feed_seq=...)`)."""
    return await session.run_sync(lambda sync_session: _allocate(sync_session, {org_id}))


async def high_watermark(session: AsyncSession, org_id: str) -> int:
    """The highest position whose transaction has committed, for one organisation's readers.

    On PostgreSQL this takes the organisation's exclusive feed lock until the end of the current
    transaction: call it in a short transaction of its own, then read rows `<= watermark`.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:org))"),
            {"ns": LOCK_NAMESPACE, "org": org_id},
        )
        row = await session.execute(text(f"SELECT last_value, is_called FROM {FEED_SEQUENCE}"))  # noqa: S608
        last_value, is_called = row.one()
        return int(last_value) if is_called else 0
    position = await session.scalar(
        select(change_feed_counter.c.position).where(change_feed_counter.c.id == 1)
    )
    return int(position or 0)


# One statement: the exclusive lock, then (CASE evaluates its condition first) the sequence. Run in
# autocommit, its transaction ends with the statement, so the lock is held for no round trip.
_WATERMARK_SQL = text(
    "SELECT CASE WHEN pg_advisory_xact_lock(:ns, hashtext(:org))::text = '' "
    f"THEN coalesce(pg_sequence_last_value('{FEED_SEQUENCE}'::regclass), 0) END"
)

_WATERMARK_DRIVER_SQL = (
    "SELECT CASE WHEN pg_advisory_xact_lock($1::int, hashtext($2::text))::text = '' "
    f"THEN coalesce(pg_sequence_last_value('{FEED_SEQUENCE}'::regclass), 0) END"
)


async def watermark(session: AsyncSession, org_id: str) -> int:
    """`high_watermark`, leaving nothing held: the caller's transaction may go on reading.

    On PostgreSQL, on a connection of its own in autocommit: lock and read in one statement, the
    lock released as it ends. (Taken in the caller's transaction, the organisation's lock would be
    held until its commit, across event-loop turns: on a busy process every pull of the town then
    queues behind the one that holds it.) The caller reads in READ COMMITTED, so its next
    statements see every position up to the watermark. On SQLite the counter is read and the
    session's transaction committed (writers are serialised by the database there)."""
    if session.get_bind().dialect.name != "postgresql":
        position = await high_watermark(session, org_id)
        await session.commit()
        return position
    bind = session.bind
    assert isinstance(bind, AsyncEngine)
    own = autocommit.driver(session)
    if own is not None:
        # The request's own connection already runs each statement on its own (a route that
        # starts in autocommit, domain/autocommit.py): no second connection.
        return await _watermark_on_driver(own, org_id)
    if await autocommit.in_autocommit(session):  # another driver than asyncpg
        return await _watermark_on(await session.connection(), org_id)
    async with bind.connect() as conn:
        return await _watermark_on(conn, org_id)


async def _watermark_on(conn: AsyncConnection, org_id: str) -> int:
    """The watermark statement on a connection outside any transaction."""
    if conn.dialect.driver == "asyncpg":
        # Straight to the driver: outside a transaction asyncpg runs the statement on its own
        # (autocommit), without SQLAlchemy setting and resetting the connection's isolation
        # level and building a result around one value (about a tenth of a no-op pull's CPU).
        # The connection is still the pool's (checkout checks, reset on return).
        return await _watermark_on_driver((await conn.get_raw_connection()).driver_connection, org_id)
    else:
        if conn.sync_connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":  # type: ignore[union-attr]
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        value = await conn.scalar(_WATERMARK_SQL, {"ns": LOCK_NAMESPACE, "org": org_id})
    return int(value or 0)


async def _watermark_on_driver(driver: Any, org_id: str) -> int:
    """The watermark statement on an asyncpg connection outside any transaction."""
    assert driver is not None and not driver.is_in_transaction()
    return int(await driver.fetchval(_WATERMARK_DRIVER_SQL, LOCK_NAMESPACE, org_id) or 0)


def guard_ddl(dialect: str, table: str) -> list[str]:
    """Triggers that make a write around the feed fail loudly (used by migrations and tests)."""
    message = f"change feed bypassed on {table}"
    if dialect == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {table}_feed_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION '{table} rows are tombstoned, never deleted';
  END IF;
  IF NEW.feed_seq <= 0 OR (TG_OP = 'UPDATE' AND NEW.feed_seq = OLD.feed_seq) THEN
    RAISE EXCEPTION '{message}';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
            f"DROP TRIGGER IF EXISTS {table}_feed_guard ON {table}",
            f"CREATE TRIGGER {table}_feed_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_feed_guard()",
        ]
    return [
        f"DROP TRIGGER IF EXISTS {table}_feed_guard_insert",
        f"CREATE TRIGGER {table}_feed_guard_insert BEFORE INSERT ON {table} "
        f"WHEN NEW.feed_seq <= 0 BEGIN SELECT RAISE(ABORT, '{message}'); END",
        f"DROP TRIGGER IF EXISTS {table}_feed_guard_update",
        f"CREATE TRIGGER {table}_feed_guard_update BEFORE UPDATE ON {table} "
        f"WHEN NEW.feed_seq = OLD.feed_seq BEGIN SELECT RAISE(ABORT, '{message}'); END",
        f"DROP TRIGGER IF EXISTS {table}_feed_guard_delete",
        f"CREATE TRIGGER {table}_feed_guard_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are tombstoned, never deleted'); END",
    ]


def _install_guards(target: Table, connection: Any, **_: Any) -> None:
    for statement in guard_ddl(connection.dialect.name, target.name):
        connection.exec_driver_sql(statement)


def register_guard_events() -> None:
    """create_all (tests) installs the same triggers as the migrations."""
    for table in feed_tables():
        if not event.contains(table, "after_create", _install_guards):
            event.listen(table, "after_create", _install_guards)
