"""`mimamori backup`: a consistent copy of the database in a file only its owner can read.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot while the
service keeps running (WAL: readers never block writers, so it does not stop the service writing).
The copy is checked (`PRAGMA quick_check`), switched to a self-contained rollback journal, and only
then renamed to its final name, so a file of that name is always a whole backup.

PostgreSQL: `pg_dump --format=custom` when it is on PATH (the password goes through PGPASSWORD,
never the command line); restore with `pg_restore` (README, "Backup and restore").

Backups hold every resident's personal data: created 0600 from the first byte, in a 0700 directory.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from domain.i18n import register
from domain.settings import Settings, ensure_private_dir

register(
    {
        "cli.backup_done": {
            "ja": "バックアップを作成しました: {path}（{size}バイト）\n戻し方: README「バックアップと復元」",
            "en": "Backup written: {path} ({size} bytes)\nTo restore: README, “Backup and restore”",
        },
        "cli.backup_exists": {
            "ja": "{path} は既にあります。上書きしません。別のファイル名を指定してください。",
            "en": "{path} already exists; it is not overwritten. Name another file.",
        },
        "cli.backup_no_database": {
            "ja": "データベース {path} がありません（まだ mimamori migrate していませんか）。",
            "en": "No database at {path} (has `mimamori migrate` been run?).",
        },
        "cli.backup_damaged": {
            "ja": "バックアップの検査に失敗しました（{detail}）。ファイルは残していません。",
            "en": "The backup failed its check ({detail}); no file was kept.",
        },
        "cli.backup_no_pg_dump": {
            "ja": "pg_dump が見つかりません（PostgreSQL のクライアント、サーバーと同じか新しい版を入れてください）。"
            "手順: pg_dump --format=custom --file=mimamori.dump {target}\n"
            "復元: pg_restore --no-owner --dbname=<空のデータベース> mimamori.dump（README「バックアップと復元」）",
            "en": "pg_dump is not on PATH (install the PostgreSQL client, the server's version or newer). "
            "By hand: pg_dump --format=custom --file=mimamori.dump {target}\n"
            "Restore: pg_restore --no-owner --dbname=<empty database> mimamori.dump (README, “Backup and restore”)",
        },
        "cli.backup_pg_failed": {
            "ja": "pg_dump が失敗しました（終了コード {code}）: {detail}",
            "en": "pg_dump failed (exit status {code}): {detail}",
        },
    }
)


class BackupFailed(Exception):
    def __init__(self, code: str, params: dict[str, str]) -> None:
        super().__init__(code)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int


def default_target(settings: Settings, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite3" if settings.is_sqlite else "dump"
    return settings.data_dir / "backups" / f"mimamori-{stamp}.{suffix}"


def backup(settings: Settings, target: Path | None = None) -> Backup:
    target = target or default_target(settings)
    if target.exists():
        raise BackupFailed("cli.backup_exists", {"path": str(target)})
    if target.parent == settings.data_dir / "backups":
        ensure_private_dir(target.parent)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _private_file(partial)
    try:
        if settings.is_sqlite:
            _sqlite(settings, partial)
        else:
            _pg_dump(settings, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, target.stat().st_size)


def _private_file(path: Path) -> None:
    """Owner-only from the first byte: no moment in which another user could open it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite(settings: Settings, partial: Path) -> None:
    source_path = make_url(settings.database_url).database or ""
    if not source_path or not Path(source_path).is_file():
        raise BackupFailed("cli.backup_no_database", {"path": source_path or ":memory:"})
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)  # one step: one consistent snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if verdict != "ok":
        raise BackupFailed("cli.backup_damaged", {"detail": str(verdict)[:200]})


def pg_target(settings: Settings) -> str:
    """The database for pg_dump, as a libpq URL without the password (asyncpg's `ssl=` is
    libpq's `sslmode=`)."""
    url = make_url(settings.database_url)
    query = dict(url.query)
    if "ssl" in query:
        query.setdefault("sslmode", query.pop("ssl"))
    bare = URL.create("postgresql", url.username, None, url.host, url.port, url.database, query)
    return bare.render_as_string(hide_password=False)


def _pg_dump(settings: Settings, partial: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupFailed("cli.backup_no_pg_dump", {"target": pg_target(settings)})
    url = make_url(settings.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    command = [
        program,
        "--format=custom",
        "--no-owner",
        f"--file={partial}",
        f"--dbname={pg_target(settings)}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "-"
        raise BackupFailed("cli.backup_pg_failed", {"code": str(done.returncode), "detail": detail[:300]})
