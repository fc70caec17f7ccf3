"""`mimamori backup`, then a restore into an empty database as the README describes: the same
residents and contact notes are there."""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from api.backup import pg_target
from api.cli import main
from domain.db import create_db_config, session_scope
from domain.enums import Role
from domain.models import ContactNote, Resident
from domain.settings import Settings, get_settings
from tests.factories import make_district, make_org, make_resident, make_user


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("MIMAMORI_DB_POOL_DISABLED", "true")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    for variable in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    get_settings.cache_clear()


async def _seed(db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        author = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[district])
        for name, note in (("山田 花子", "元気そうでした。"), ("佐藤 一郎", "不在、ポストに手紙。")):
            resident = await make_resident(s, org, district, name=name)
            now = datetime(2026, 12, 1, 10, tzinfo=UTC)
            s.add(
                ContactNote(
                    org_id=org.id,
                    resident_id=resident.id,
                    author_id=author.id,
                    method="visit",
                    outcome="met",
                    body=note,
                    occurred_at=now,
                    received_at=now,
                )
            )


def _contents(database_url: str) -> tuple[list[tuple[str, str]], list[str]]:
    async def read() -> tuple[list[tuple[str, str]], list[str]]:
        config = create_db_config(
            Settings(environment="test", database_url=database_url, db_pool_disabled=True)
        )
        try:
            async with session_scope(config) as session:
                residents = (
                    await session.execute(select(Resident.id, Resident.name).order_by(Resident.id))
                ).all()
                notes = (await session.scalars(select(ContactNote.body).order_by(ContactNote.id))).all()
                return [tuple(r) for r in residents], list(notes)
        finally:
            await config.get_engine().dispose()

    return asyncio.run(read())


def _restore(settings: Settings, backup: Path, empty_url: str, tmp_path: Path) -> str:
    """README, "Backup and restore": SQLite — copy the file into place; PostgreSQL — pg_restore."""
    if settings.is_sqlite:
        restored = tmp_path / "restored" / "mimamori.sqlite3"
        restored.parent.mkdir()
        shutil.copy(backup, restored)
        return f"sqlite+aiosqlite:///{restored}"
    target = pg_target(Settings(environment="test", database_url=empty_url))
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}", str(backup)],
        check=True,
        capture_output=True,
    )
    return empty_url


def test_backup_then_restore_into_an_empty_database_finds_the_same_data(
    settings: Settings, db: Any, cli: Callable[..., Result], empty_database_url: str, tmp_path: Path
) -> None:
    asyncio.run(_seed(db))
    before = _contents(settings.database_url)
    assert len(before[0]) == 2 and sorted(before[1]) == sorted(["元気そうでした。", "不在、ポストに手紙。"])

    target = tmp_path / "out" / "mimamori.backup"
    result = cli("backup", "--to", target)
    assert result.exit_code == 0, result.output
    assert str(target) in result.output and "Backup written" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # residents' data: the owner only
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no partial file left behind

    restored_url = _restore(settings, target, empty_database_url, tmp_path)
    assert _contents(restored_url) == before

    again = cli("backup", "--to", target)  # never overwrites an earlier backup
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_backup_defaults_to_a_private_directory_in_the_data_dir(
    settings: Settings, cli: Callable[..., Result]
) -> None:
    if not settings.is_sqlite and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    result = cli("backup")
    assert result.exit_code == 0, result.output
    folder = settings.data_dir / "backups"
    (made,) = folder.iterdir()
    assert made.name.startswith("mimamori-") and made.suffix == (
        ".sqlite3" if settings.is_sqlite else ".dump"
    )
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(made.stat().st_mode) == 0o600


def test_backup_of_a_missing_sqlite_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "mimamori.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["backup", "--to", str(tmp_path / "b.sqlite3")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert f"No database at {missing}" in result.output
    assert not (tmp_path / "b.sqlite3").exists()


def test_without_pg_dump_the_procedure_is_printed_and_the_password_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql+asyncpg://mimamori:s3cret-pw@db.example:5432/mimamori?ssl=require"
    )
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setattr("api.backup.shutil.which", lambda _name: None)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["backup", "--to", str(tmp_path / "m.dump")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "pg_dump --format=custom" in result.output and "pg_restore" in result.output
    assert "postgresql://mimamori@db.example:5432/mimamori?sslmode=require" in result.output
    assert "s3cret-pw" not in result.output
    assert not (tmp_path / "m.dump").exists()
    assert not [p for p in tmp_path.iterdir() if "m.dump" in p.name]  # no empty or partial file left
