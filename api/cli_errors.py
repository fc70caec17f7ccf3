"""What the `mimamori` command says when the database is not ready, instead of a traceback."""

from __future__ import annotations

import socket

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from domain.db import sqlstate_of
from domain.i18n import register

register(
    {
        "cli.not_migrated": {
            "ja": "データベースがまだ準備されていません。先に `mimamori migrate` を実行してください（{target}）。",
            "en": "The database is not set up yet: run `mimamori migrate` first ({target}).",
        },
        "cli.db_unreachable": {
            "ja": "データベースに接続できません（{target}）。DATABASE_URL と MIMAMORI_DATA_DIR を確認してください。",
            "en": "Cannot reach the database ({target}). Check DATABASE_URL and MIMAMORI_DATA_DIR.",
        },
    }
)

# PostgreSQL: undefined table / column. SQLite says it in words.
_MISSING_SCHEMA = {"42P01", "42703"}
_SQLITE_MISSING = ("no such table", "no such column")
_SQLITE_UNREACHABLE = ("unable to open database file",)


def database_target(url: str) -> str:
    """The database as a person can recognise it, never with its password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "?"
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database or ":memory:")
    return parsed.render_as_string(hide_password=True)


def database_problem(exc: BaseException, url: str) -> tuple[str, dict[str, str]] | None:
    """The message code for a database that is not set up or not reachable; None for anything else
    (a real fault keeps its traceback)."""
    target = {"target": database_target(url)}
    if isinstance(exc, DBAPIError):
        text = str(exc.orig).lower()
        if sqlstate_of(exc) in _MISSING_SCHEMA or any(words in text for words in _SQLITE_MISSING):
            return "cli.not_migrated", target
        if any(words in text for words in _SQLITE_UNREACHABLE) or exc.connection_invalidated:
            return "cli.db_unreachable", target
        if isinstance(exc.orig, OSError) or "connect" in text:
            return "cli.db_unreachable", target
        return None
    if isinstance(exc, (ConnectionError, socket.gaierror, TimeoutError)):
        return "cli.db_unreachable", target
    return None
