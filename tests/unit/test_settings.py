from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.i18n import negotiate
from domain.settings import PushSettings, Settings, get_settings


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


# Every documented push and alert-stream variable, a value other than its default, and where the one
# settings object keeps it. Push tuning used to be a settings object of its own
# (notifications/config.py); folding it into Settings must not rename a variable.
PUSH_VARIABLES: dict[str, tuple[str, object]] = {
    "MIMAMORI_PUSH_TRANSPORT": ("push_transport", "log"),
    "MIMAMORI_PUSH_STALE_TOKEN_DAYS": ("push.stale_token_days", 30),
    "MIMAMORI_PUSH_BATCH_SIZE": ("push.batch_size", 7),
    "MIMAMORI_PUSH_MAX_BATCHES": ("push.max_batches", 3),
    "MIMAMORI_PUSH_LEASE_SECONDS": ("push.lease_seconds", 120),
    "MIMAMORI_PUSH_MAX_ATTEMPTS": ("push.max_attempts", 4),
    "MIMAMORI_PUSH_BACKOFF_BASE_SECONDS": ("push.backoff_base_seconds", 2.5),
    "MIMAMORI_PUSH_BACKOFF_CAP_SECONDS": ("push.backoff_cap_seconds", 60.0),
    "MIMAMORI_PUSH_SDK_RETRIES": ("push.sdk_retries", True),
    "MIMAMORI_PUSH_STREAM_POLL_SECONDS": ("push.stream_poll_seconds", 0.5),
    "MIMAMORI_PUSH_STREAM_MAX_SECONDS": ("push.stream_max_seconds", 30.0),
    "MIMAMORI_PUSH_STREAM_BATCH": ("push.stream_batch", 10),
    "MIMAMORI_PUSH_STREAM_MAX_PER_DEVICE": ("push.stream_max_per_device", 1),
    "MIMAMORI_PUSH_STREAM_MAX_PER_USER": ("push.stream_max_per_user", 9),
    "MIMAMORI_PUSH_STREAM_MAX_TOTAL": ("push.stream_max_total", 50),
}


def _attribute(settings: Settings, dotted: str) -> object:
    value: object = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _documented_push_variables() -> set[str]:
    """MIMAMORI_PUSH_* names in README's settings table; `..._CAP_SECONDS` in a row stands for the
    variable of that row's family ending so."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `MIMAMORI_PUSH_")]
    names = {name for row in rows for name in re.findall(r"`(MIMAMORI_PUSH_[A-Z_]+)`", row)}
    for row in rows:
        for tail in re.findall(r"`\.\.\.(_[A-Z_]+)`", row):
            first = re.findall(r"`(MIMAMORI_PUSH_[A-Z_]+)`", row)[0]
            family = first.rsplit("_", 2)[0]
            names |= {known for known in PUSH_VARIABLES if known.startswith(family) and known.endswith(tail)}
    return names


def test_every_push_setting_is_documented_under_its_variable() -> None:
    fields = {f"MIMAMORI_PUSH_{name.upper()}" for name in PushSettings.model_fields}
    assert fields | {"MIMAMORI_PUSH_TRANSPORT"} == set(PUSH_VARIABLES)
    assert _documented_push_variables() == set(PUSH_VARIABLES)


@pytest.mark.parametrize("variable", sorted(PUSH_VARIABLES))
def test_each_push_variable_takes_effect_in_the_one_settings_object(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attribute, value = PUSH_VARIABLES[variable]
    assert _attribute(Settings(data_dir=tmp_path, secret_key="k" * 40), attribute) != value
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", "k" * 40)
    monkeypatch.setenv(variable, str(value).lower() if isinstance(value, bool) else str(value))
    get_settings.cache_clear()
    try:
        assert _attribute(get_settings(), attribute) == value  # what the app and the jobs read
    finally:
        get_settings.cache_clear()


def _read_key_at_once(data_dir: str, barrier, keys) -> None:  # type: ignore[no-untyped-def]
    from domain.settings import _stored_secret

    barrier.wait()
    keys.put(_stored_secret(Path(data_dir)))


def test_processes_starting_together_all_get_the_same_complete_key(tmp_path: Path) -> None:
    """`serve --workers N` starts N processes at once on a fresh data directory: none may sign
    tokens with an empty or half-written key (the old create-then-write let a second process read
    the file between the two)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for round_ in range(30):
        data_dir = tmp_path / f"round{round_}"
        barrier, keys = context.Barrier(6), context.Queue()
        processes = [
            context.Process(target=_read_key_at_once, args=(str(data_dir), barrier, keys)) for _ in range(6)
        ]
        for process in processes:
            process.start()
        seen = [keys.get(timeout=30) for _ in processes]
        for process in processes:
            process.join(timeout=30)
        stored = (data_dir / "secret_key").read_text()
        assert len(stored) >= 32
        assert seen == [stored] * 6
        assert sorted(p.name for p in data_dir.iterdir()) == ["secret_key"]  # no draft left behind
