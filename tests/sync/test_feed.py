"""The change feed under sync: no write goes around it, and no pull reads past a writer in flight."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from domain import feed
from domain.access import Principal
from domain.alerts import open_alert
from domain.base import FeedMixin
from domain.clock import utcnow
from domain.db import create_db_config
from domain.enums import ConsentRecipient, LegalBasis, Role
from domain.feed import ChangeFeedError, feed_tables
from domain.models import CommissionerActivity, EmergencyContact, LegalBasisRecord, Resident
from domain.models import Device as DeviceRow
from notifications.outbox import enqueue
from sync.pull import PullParams, pull
from sync.records import SYNC_TABLES
from tests.sync.conftest import Town, add_note, phone


async def test_every_syncable_table_is_guarded(db, town: Town, now) -> None:
    await add_note(db, town, town.shared, town.volunteer, now)
    async with db() as s:
        await open_alert(s, org_id=town.org.id, kind="k", cause_key="c", resident_id=town.shared.id)
        await enqueue(s, org_id=town.org.id, user_ids=[town.volunteer.id], kind="k", title="t")
        s.add(EmergencyContact(org_id=town.org.id, resident_id=town.shared.id, name="長男", phone="090"))
        s.add(
            CommissionerActivity(
                org_id=town.org.id,
                commissioner_id=town.commissioner.id,
                kind="survey",
                activity_date=now.date(),
            )
        )
        s.add(
            LegalBasisRecord(
                org_id=town.org.id,
                resident_id=town.other.id,
                basis=LegalBasis.COUNCIL_CONFIDENTIALITY,
                recipient=ConsentRecipient.DISTRICT_COMMISSIONER,
                recorded_at=now,
            )
        )
    guarded = {t.name for t in feed_tables()}
    assert {t.model.__tablename__ for t in SYNC_TABLES.values()} <= guarded
    assert {"consents", "legal_bases", "assignments", "emergency_contacts"} <= guarded
    for table in feed_tables():
        async with db() as s:
            row_id = await s.scalar(select(table.c.id).limit(1))
        assert row_id is not None, table.name
        attempts = {
            "update without a feed position": update(table)
            .where(table.c.id == row_id)
            .values(deleted_at=utcnow()),
            "insert without a feed position": table.insert().values(
                {**{c.name: None for c in table.columns if c.nullable}, "id": "bypass", "feed_seq": 0}
            ),
            "delete": delete(table).where(table.c.id == row_id),
        }
        for what, statement in attempts.items():
            with pytest.raises((IntegrityError, DBAPIError)):
                async with db() as s:
                    await s.execute(statement)
            assert what
        async with db() as s:  # the sanctioned Core path: stamp a new position
            position = await feed.next_position(s, town.org.id)
            await s.execute(update(table).where(table.c.id == row_id).values(feed_seq=position))
    with pytest.raises(ChangeFeedError):
        async with db() as s:
            await s.delete(await s.get(Resident, town.shared.id))
            await s.flush()


def test_every_feed_model_is_a_feed_mixin() -> None:
    for table in SYNC_TABLES.values():
        assert issubclass(table.model, FeedMixin)


@pytest.mark.postgres_only
async def test_out_of_order_commits_are_never_skipped(client, db, settings, town: Town, now) -> None:
    """Writer A takes a feed position first but commits last; writer B commits in between. A pull
    taken while A is in flight must not hand out a cursor past A's position."""
    device = await phone(client, "comm")
    await device.pull()
    config = create_db_config(settings)
    async with config.get_session() as writer_a, config.get_session() as writer_b:
        resident_a = await writer_a.get(Resident, town.private.id)
        resident_a.support_needs = "A: 見守り強化"
        await writer_a.flush()  # position allocated, not committed
        position_a = resident_a.feed_seq

        resident_b = await writer_b.get(Resident, town.shared.id)
        resident_b.support_needs = "B: 配食"
        await writer_b.flush()
        position_b = resident_b.feed_seq
        assert position_b > position_a
        await writer_b.commit()  # the later writer commits first

        # The hazard is real: what is committed now reaches past A's position.
        async with db() as s:
            assert await s.scalar(select(func.max(Resident.feed_seq))) == position_b

        # (The pull runs in-process: the test client would block this event loop while it waits.)
        pulling = asyncio.create_task(_pull_directly(config, town, device.last_pulled_at))
        await asyncio.sleep(0.5)
        assert not pulling.done(), "the pull must wait for the writer in flight"
        await writer_a.commit()
        body = await asyncio.wait_for(pulling, timeout=10)
    assert body["timestamp"] >= position_b
    sent = {r["id"]: r["support_needs"] for r in body["changes"]["residents"]["updated"]}
    assert sent == {town.private.id: "A: 見守り強化", town.shared.id: "B: 配食"}
    await config.get_engine().dispose()


async def _pull_directly(config, town: Town, cursor: int | None) -> dict:
    async with config.get_session() as session:
        device_id = await session.scalar(
            select(DeviceRow.id).where(DeviceRow.user_id == town.commissioner.id)
        )
        principal = Principal(
            user_id=town.commissioner.id,
            org_id=town.org.id,
            role=Role.COMMISSIONER,
            district_ids=frozenset({town.district_a.id}),
            device_id=device_id,
        )
        return await pull(session, principal, PullParams(last_pulled_at=cursor or 0))


@pytest.mark.postgres_only
async def test_pull_during_long_writer_then_next_pull_gets_it(client, db, settings, town: Town, now) -> None:
    """If the writer commits only after the pull read its rows, its position is above the cursor."""
    device = await phone(client, "comm")
    await device.pull()
    config = create_db_config(settings)
    async with config.get_session() as writer:
        first = await device.pull()  # nothing in flight
        resident = await writer.get(Resident, town.private.id)
        resident.support_needs = "後から"
        await writer.flush()
        assert resident.feed_seq > first["timestamp"]
        await writer.commit()
    body = await device.pull()
    assert [r["support_needs"] for r in body["changes"]["residents"]["updated"]] == ["後から"]
    await config.get_engine().dispose()


@pytest.mark.postgres_only
async def test_writer_after_rolled_back_savepoint_still_holds_the_feed_lock(
    db, settings, town: Town, now
) -> None:
    """PostgreSQL releases an advisory lock taken inside a savepoint that rolls back. A writer whose
    first feed write was in such a savepoint (e.g. `open_alert` losing a race) must still hold the
    lock for its later writes, or a pull could read past them."""
    async with db() as s:  # the phone's device row and first sync
        s.add(DeviceRow(org_id=town.org.id, user_id=town.commissioner.id, client_id="p", platform="android"))
    config = create_db_config(settings)
    first = await _pull_directly(config, town, None)
    async with config.get_session() as writer:
        savepoint = await writer.begin_nested()
        (await writer.get(Resident, town.private.id)).support_needs = "取り消される"
        await writer.flush()  # first allocation of this transaction, inside the savepoint
        await savepoint.rollback()
        (await writer.get(Resident, town.shared.id)).support_needs = "残る"
        await writer.flush()
        pulling = asyncio.create_task(_pull_directly(config, town, first["timestamp"]))
        await asyncio.sleep(0.5)
        assert not pulling.done(), "the pull must wait for the writer in flight"
        await writer.commit()
        body = await asyncio.wait_for(pulling, timeout=10)
    assert [r["support_needs"] for r in body["changes"]["residents"]["updated"]] == ["残る"]
    await config.get_engine().dispose()
