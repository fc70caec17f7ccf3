"""`mimamori demo` on a fresh machine: migrates an empty SQLite file and loads the town once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from api import cli as cli_module
from api.cli import main
from domain.db import create_db_config, session_scope
from domain.models import Resident
from domain.settings import Settings, get_settings


def test_demo_command_migrates_and_loads_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MIMAMORI_DB_POOL_DISABLED", "true")
    monkeypatch.setattr(cli_module, "_chosen_locale", None)
    for variable in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(main, ["demo"], catch_exceptions=False)
        assert first.exit_code == 0, first.output
        assert "デモデータを読み込みました。" in first.stdout
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        second = runner.invoke(main, ["demo"], catch_exceptions=False)
        assert second.exit_code == 1
        assert "demo data: database not empty, nothing loaded" in second.stdout
    finally:
        get_settings.cache_clear()

    async def count() -> int:
        config = create_db_config(Settings(database_url=url, data_dir=tmp_path, db_pool_disabled=True))
        try:
            async with session_scope(config) as session:
                return int(await session.scalar(select(func.count()).select_from(Resident)))
        finally:
            await config.get_engine().dispose()

    assert asyncio.run(count()) == 300
