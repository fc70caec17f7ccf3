"""Migration 0004 carries what phones hold over to manifest versions: after the upgrade a phone's
cursor is still placed and every id it may hold is still remembered (no lost deletions)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain import migrate
from domain.db import create_db_config
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


async def test_upgrade_turns_manifest_and_pending_into_versions(empty_settings: Settings) -> None:
    config = create_db_config(empty_settings)
    await asyncio.to_thread(migrate.upgrade, config, "0002")
    engine = create_async_engine(empty_settings.database_url, poolclass=NullPool)
    rows_at_0002 = [
        "INSERT INTO organisations (id, name, timezone, locale, settings, created_at, updated_at) "
        "VALUES ('o', '町', 'Asia/Tokyo', 'ja', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO users (id, org_id, login, display_name, role, locale, active, is_demo, created_at, "
        "updated_at) VALUES ('u', 'o', 'v', 'v', 'volunteer', 'ja', true, false, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)",
        "INSERT INTO devices (id, org_id, user_id, client_id, platform, created_at, updated_at) "
        "VALUES ('p', 'o', 'u', 'p', 'android', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO sync_device_state (device_id, org_id, user_id, scope_key, manifest, manifest_recheck, "
        "manifest_from, manifest_at, pending, pending_recheck, pending_at, pending_scope_key, created_at, "
        "updated_at) VALUES ('p', 'o', 'u', 'k', :m, '{}', 5, 7, :p, '{}', 9, 'k', CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)",
    ]
    manifests = {"m": json.dumps({"residents": ["r1", "r2"]}), "p": json.dumps({"residents": ["r1"]})}
    try:
        async with engine.begin() as c:
            for statement in rows_at_0002:
                await c.execute(text(statement), manifests if ":m" in statement else {})
        await asyncio.to_thread(migrate.upgrade, config, "head")
        async with engine.connect() as c:
            rows = (
                await c.execute(text("SELECT base, lo, hi, held FROM sync_manifest_versions ORDER BY lo"))
            ).all()
            floor = (await c.execute(text("SELECT cursor_floor FROM sync_device_state"))).scalar_one()
        held = [r.held if isinstance(r.held, dict) else json.loads(r.held) for r in rows]
        assert [(r.base, r.lo, r.hi) for r in rows] == [(5, 5, 7), (7, 9, 9)]
        assert held == [{"residents": ["r1", "r2"]}, {"residents": ["r1"]}]
        assert floor == 0
        await asyncio.to_thread(migrate.downgrade, config, "0002")  # and back: one manifest, nothing lost
        async with engine.connect() as c:
            manifest = (await c.execute(text("SELECT manifest FROM sync_device_state"))).scalar_one()
        manifest = manifest if isinstance(manifest, dict) else json.loads(manifest)
        assert sorted(manifest["residents"]) == ["r1", "r2"]
    finally:
        await engine.dispose()
