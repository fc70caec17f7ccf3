from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.i18n import negotiate
from domain.settings import Settings


def test_embedded_default_generates_and_keeps_a_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIMAMORI_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = Settings(data_dir=tmp_path)
    second = Settings(data_dir=tmp_path)
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.database_url == f"sqlite+aiosqlite:///{tmp_path / 'mimamori.sqlite3'}"
    assert (first.host, first.port) == ("127.0.0.1", 8000)


def test_production_requires_a_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIMAMORI_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="MIMAMORI_SECRET_KEY"):
        Settings(environment="production", data_dir=tmp_path)


def test_environment_variables_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("MIMAMORI_PORT", "9001")
    monkeypatch.setenv("MIMAMORI_HOST", "0.0.0.0")
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", "k" * 40)
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert (settings.host, settings.port) == ("0.0.0.0", 9001)
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "ja"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("ja,en;q=0.8", "ja"),
        ("fr", "ja"),
        ("fr,en;q=0.5", "en"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected
