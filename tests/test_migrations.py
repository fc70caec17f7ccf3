"""The migrations and the models agree, on SQLite and PostgreSQL, and upgrading keeps data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain import migrate
from domain.db import create_db_config
from domain.feed import FEED_SEQUENCE
from domain.models import Base
from domain.settings import Settings


@pytest.fixture
def empty_settings(empty_database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=empty_database_url,
        db_pool_disabled=True,
        data_dir=tmp_path,
        secret_key="x" * 40,
    )


async def _insert_town_rows(connection) -> None:
    await connection.execute(
        text(
            "INSERT INTO districts (id, org_id, name, created_at, updated_at) VALUES ('d-1', 'org-0', '本町', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
    )
    await connection.execute(
        text(
            "INSERT INTO residents (id, org_id, district_id, name, kana, address, household, risk_level, support_needs, "
            "status, created_at, updated_at, feed_seq) VALUES ('res-1', 'org-0', 'd-1', '見守 太郎', 'ミマモリ タロウ', "
            "'本町1-1', 'alone', 'high', '', 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
        )
    )
    await connection.execute(
        text(
            "INSERT INTO visit_plans (id, org_id, resident_id, rrule, starts_on, window_start, window_end, window_days, "
            "holiday_rule, status, created_at, updated_at) VALUES ('plan-1', 'org-0', 'res-1', 'FREQ=WEEKLY', "
            "'2026-01-05', '09:00:00', '18:00:00', 1, 'shift', 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
    )
    # Consent withdrawn but kept sharing by the old `legal_basis` column: once for a recipient the
    # basis covers, once for one it cannot (0003 moves both, the second as an ended record).
    for cid, recipient, basis, seq in (
        ("con-1", "district_commissioner", "evacuation_support_list", 2),
        ("con-2", "volunteers", "council_confidentiality", 3),
    ):
        await connection.execute(
            text(
                "INSERT INTO consents (id, org_id, resident_id, recipient, status, purpose, legal_basis, created_at, "
                "updated_at, feed_seq) VALUES (:id, 'org-0', 'res-1', :recipient, 'withdrawn', '', :basis, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :seq)"
            ),
            {"id": cid, "recipient": recipient, "basis": basis, "seq": seq},
        )


def _diffs(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_migrations_create_exactly_the_models(empty_settings: Settings) -> None:
    config = create_db_config(empty_settings)
    await asyncio.to_thread(migrate.upgrade, config)
    engine = create_async_engine(empty_settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(_diffs)
            assert diffs == [], f"models and migrations disagree: {diffs}"
            current = {
                row[0] for row in await connection.execute(text("SELECT version_num FROM alembic_version"))
            }
        assert current == migrate.head_revisions(config)
    finally:
        await engine.dispose()


async def test_each_revision_upgrades_with_data_and_downgrades(empty_settings: Settings) -> None:
    config = create_db_config(empty_settings)
    script = ScriptDirectory.from_config(migrate.AlembicCommands(config).config)
    revisions = list(reversed(list(script.walk_revisions())))  # oldest first
    assert revisions, "there must be at least one migration"
    engine = create_async_engine(empty_settings.database_url, poolclass=NullPool)
    try:
        for index, revision in enumerate(revisions):
            await asyncio.to_thread(migrate.upgrade, config, revision.revision)
            # Data written at each revision survives every later upgrade.
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO organisations (id, name, timezone, locale, settings, created_at, updated_at) "
                        "VALUES (:id, :name, 'Asia/Tokyo', 'ja', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": f"org-{index}", "name": f"町{index}"},
                )
        async with engine.connect() as connection:
            names = sorted(row[0] for row in await connection.execute(text("SELECT name FROM organisations")))
        assert names == sorted(f"町{index}" for index in range(len(revisions)))

        # A resident with a visit plan written at the first revision survives every later one, and the
        # change-feed guards are still in place afterwards.
        await asyncio.to_thread(migrate.downgrade, config, revisions[0].revision)
        async with engine.begin() as connection:
            await _insert_town_rows(connection)
        await asyncio.to_thread(migrate.upgrade, config, "head")
        async with engine.connect() as connection:
            plan = (
                await connection.execute(text("SELECT rrule FROM visit_plans WHERE id = 'plan-1'"))
            ).scalar_one()
            name = (
                await connection.execute(text("SELECT name FROM residents WHERE id = 'res-1'"))
            ).scalar_one()
        assert (plan, name) == ("FREQ=WEEKLY", "見守 太郎")
        with pytest.raises(DBAPIError):
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE residents SET name = 'x' WHERE id = 'res-1'"))
        # Legal bases moved into records of their own; the column is gone; both tables are guarded.
        async with engine.connect() as connection:
            moved = (
                await connection.execute(
                    text(
                        "SELECT resident_id, recipient, basis, ended_at IS NULL, feed_seq > 0 FROM legal_bases "
                        "ORDER BY recipient"
                    )
                )
            ).all()
            consent_columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("consents")}
            )
        assert [tuple(row) for row in moved] == [
            ("res-1", "district_commissioner", "evacuation_support_list", True, True),
            ("res-1", "volunteers", "council_confidentiality", False, True),
        ]
        assert "legal_basis" not in consent_columns
        for statement in (
            "UPDATE consents SET status = 'given' WHERE id = 'con-1'",
            "UPDATE legal_bases SET note = 'x' WHERE resident_id = 'res-1'",
        ):
            with pytest.raises(DBAPIError):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))

        # The newest migration downgrades cleanly and upgrades again without losing the rows.
        previous = revisions[-2].revision if len(revisions) > 1 else None
        if previous:
            await asyncio.to_thread(migrate.downgrade, config, previous)
            await asyncio.to_thread(migrate.upgrade, config, "head")
            async with engine.connect() as connection:
                count = (await connection.execute(text("SELECT count(*) FROM organisations"))).scalar_one()
            assert count == len(revisions)
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_back(empty_settings: Settings) -> None:
    config = create_db_config(empty_settings)
    await asyncio.to_thread(migrate.upgrade, config)
    await asyncio.to_thread(migrate.downgrade, config, "base")
    await asyncio.to_thread(migrate.upgrade, config)
    engine = create_async_engine(empty_settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diffs) == []
    finally:
        await engine.dispose()


async def test_0017_repairs_residents_whose_status_an_import_overwrote(empty_settings: Settings) -> None:
    """Before 0017 an import with a consent column stored the consent's value as the resident's
    status, and every read of the resident failed: such residents become active (watched), with a
    new feed position so that phones get the repaired row; others are left as they are."""
    config = create_db_config(empty_settings)
    await asyncio.to_thread(migrate.upgrade, config, "0016")
    engine = create_async_engine(empty_settings.database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO organisations (id, name, timezone, locale, settings, created_at, updated_at) "
                    "VALUES ('org-0', '町', 'Asia/Tokyo', 'ja', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO districts (id, org_id, name, created_at, updated_at) "
                    "VALUES ('d-1', 'org-0', '本町', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            # The feed has moved on past the rows' positions, as in any database in use.
            if connection.dialect.name == "postgresql":
                await connection.execute(text(f"SELECT setval('{FEED_SEQUENCE}', 10)"))
            else:
                await connection.execute(
                    text("INSERT INTO change_feed_counter (id, position) VALUES (1, 10)")
                )
            for rid, status in (("r-given", "given"), ("r-withdrawn", "withdrawn"), ("r-paused", "paused")):
                await connection.execute(
                    text(
                        "INSERT INTO residents (id, org_id, district_id, name, kana, address, household, risk_level, "
                        "support_needs, status, created_at, updated_at, feed_seq) VALUES (:id, 'org-0', 'd-1', '見守 太郎', "
                        "'', '本町1-1', 'alone', 'high', '', :status, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 5)"
                    ),
                    {"id": rid, "status": status},
                )
        await asyncio.to_thread(migrate.upgrade, config, "head")
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT id, status, feed_seq > 5 FROM residents ORDER BY id"))
            ).all()
        assert [(rid, status, bool(moved)) for rid, status, moved in rows] == [
            ("r-given", "active", True),
            ("r-paused", "paused", False),
            ("r-withdrawn", "active", True),
        ]
    finally:
        await engine.dispose()
