"""The change feed stamps every write of a synced table, and nothing writes around it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from domain import feed
from domain.clock import utcnow
from domain.db import create_db_config
from domain.models import Resident
from tests.factories import make_district, make_org, make_resident


async def _town(db):
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        resident = await make_resident(session, org, district)
    return org, district, resident


async def test_inserts_and_updates_advance_the_feed(db) -> None:
    org, _district, resident = await _town(db)
    assert resident.feed_seq > 0
    async with db() as session:
        mark = await feed.high_watermark(session, org.id)
    assert mark >= resident.feed_seq
    async with db() as session:
        row = await session.get(Resident, resident.id)
        row.support_needs = "配食サービス利用"
    async with db() as session:
        row = await session.get(Resident, resident.id)
        assert row.feed_seq > mark
        assert await feed.high_watermark(session, org.id) >= row.feed_seq


async def test_orm_delete_of_a_synced_row_is_refused(db) -> None:
    _, _, resident = await _town(db)
    with pytest.raises(feed.ChangeFeedError):
        async with db() as session:
            await session.delete(await session.get(Resident, resident.id))
            await session.flush()


async def test_core_writes_around_the_feed_are_rejected_by_the_database(db) -> None:
    org, _, resident = await _town(db)
    with pytest.raises((IntegrityError, DBAPIError)):
        async with db() as session:
            await session.execute(update(Resident).where(Resident.id == resident.id).values(name="別人"))
    with pytest.raises((IntegrityError, DBAPIError)):
        async with db() as session:
            await session.execute(delete(Resident).where(Resident.id == resident.id))
    # Stamped Core writes are fine.
    async with db() as session:
        position = await feed.next_position(session, org.id)
        await session.execute(
            update(Resident).where(Resident.id == resident.id).values(status_reason="入院", feed_seq=position)
        )
    async with db() as session:
        assert (
            await session.scalar(select(Resident.status_reason).where(Resident.id == resident.id))
        ) == "入院"


async def test_tombstones_keep_the_row_and_advance_the_feed(db) -> None:
    _, _, resident = await _town(db)
    async with db() as session:
        row = await session.get(Resident, resident.id)
        row.deleted_at = utcnow()
    async with db() as session:
        row = await session.get(Resident, resident.id)
        assert row.deleted_at is not None and row.feed_seq > resident.feed_seq


@pytest.mark.postgres_only
async def test_the_watermark_leaves_the_feed_lock_free_while_the_reader_goes_on(
    db, settings, backend
) -> None:
    """A pull reads on after taking its watermark: writers must not queue behind it meanwhile."""
    org, district, resident = await _town(db)
    config = create_db_config(settings)
    async with config.get_session() as reader:
        await reader.execute(select(Resident.id).limit(1))  # the reader's transaction is open
        mark = await feed.watermark(reader, org.id)
        assert mark >= resident.feed_seq

        async def write() -> int:
            async with db() as writer:
                return (await make_resident(writer, org, district)).feed_seq

        position = await asyncio.wait_for(write(), timeout=10)  # not blocked by the reader
        assert position > mark
        await reader.rollback()
    await config.get_engine().dispose()
