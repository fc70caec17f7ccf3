"""The one settings object, read from the environment (see README "Configuration")."""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """Never relative to the current directory, so that every command finds the same database
    wherever it is run: `var/` of the source checkout the code runs from (where `make run` keeps
    it), or for an installed package the user's data directory ($XDG_DATA_HOME/mimamori, else
    ~/.local/share/mimamori)."""
    pyproject = PROJECT_DIR / "pyproject.toml"
    if pyproject.is_file() and 'name = "mimamori"' in pyproject.read_text(encoding="utf-8"):
        return PROJECT_DIR / "var"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mimamori"


class PushSettings(BaseSettings):
    """Push delivery and alert streams (MIMAMORI_PUSH_*), reached as `Settings.push`. A settings
    class of its own, not a plain nested model, so that the variables keep their single-underscore
    names (a nested model would read MIMAMORI_PUSH__BATCH_SIZE)."""

    model_config = SettingsConfigDict(env_prefix="MIMAMORI_PUSH_", extra="ignore")

    # A token the phone has not refreshed for this long is presumed dead (FCM's own guidance:
    # tokens inactive for about two months are stale) and stops receiving pushes.
    stale_token_days: int = Field(default=60, ge=1)
    # Deliveries claimed per batch; FCM takes at most 500 per send_each_async call.
    batch_size: int = Field(default=500, ge=1, le=500)
    # Batches per dispatch_once run, so one run stays bounded.
    max_batches: int = Field(default=20, ge=1)
    # A claimed delivery whose dispatcher died is reclaimed after this lease.
    lease_seconds: int = Field(default=300, ge=10)
    # Retries: exponential backoff with full jitter, capped; after the last attempt: dead letter.
    # 16 attempts with a 15-minute cap ride out an FCM outage of about two and a half hours.
    max_attempts: int = Field(default=16, ge=1)
    backoff_base_seconds: float = Field(default=15.0, gt=0)
    backoff_cap_seconds: float = Field(default=900.0, gt=0)
    # Whether firebase-admin may retry 500/503 inside a send call. Off: our outbox retries with
    # backoff and jitter, and an in-call retry would hold the whole batch for seconds.
    sdk_retries: bool = False
    # Alert stream (server-sent events): how often to look at the change feed, how long a
    # stream lives before the client reconnects with Last-Event-ID, rows per look.
    stream_poll_seconds: float = Field(default=2.0, gt=0)
    stream_max_seconds: float = Field(default=900.0, gt=0)
    stream_batch: int = Field(default=100, ge=1, le=1000)
    # Open streams allowed at once in one server process (each polls the database): per device,
    # per user, in total. Beyond them a new stream is answered 429.
    stream_max_per_device: int = Field(default=2, ge=1)
    stream_max_per_user: int = Field(default=4, ge=1)
    stream_max_total: int = Field(default=200, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIMAMORI_", extra="ignore", populate_by_name=True)

    environment: Literal["development", "production", "test"] = "development"
    # DATABASE_URL is the conventional name; MIMAMORI_DATABASE_URL works too.
    database_url: str = Field(
        default="",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy async URL; default: SQLite file mimamori.sqlite3 in the data dir",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    db_echo: bool = False
    db_pool_disabled: bool = False  # NullPool: tests, and the Litestar test client's own event loop
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # A refresh repeated this soon after it rotated, before its successor was used, is the same
    # request arriving again (a retry after a lost answer, a duplicate): answered, not taken as theft.
    refresh_retry_seconds: int = Field(default=60, ge=0, le=600)
    # Absolute limit of one device session: refresh rotates at most this long after the sign-in.
    session_max_days: int = 90
    activation_code_hours: int = 72
    # Sign-in throttling is a progressive delay, never a lock-out (api/auth/throttle.py): after this
    # many failures in the window each further failure doubles the wait, up to the cap.
    login_max_failures: int = 5
    login_failure_window_minutes: int = 15
    login_max_delay_seconds: int = 30
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: comma-separated addresses or
    # networks (e.g. "10.0.0.5,192.168.1.0/24"). Empty: nobody, the peer address is the client.
    trusted_proxies: str = ""
    # Strict-Transport-Security max-age sent on HTTPS responses; 0 turns it off.
    hsts_max_age_seconds: int = 31_536_000
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    # /metrics: with a token, only `Authorization: Bearer <token>` may scrape (from anywhere);
    # without one, only a direct loopback client (docs/security.md, "Metrics").
    metrics_token: str = ""
    log_format: Literal["console", "json"] = "console"
    max_request_bytes: int = 5 * 1024 * 1024
    default_timezone: str = "Asia/Tokyo"
    default_locale: Literal["ja", "en"] = "ja"
    # Jobs: by default the server runs the scheduler; at scale set false and run `mimamori worker`.
    run_scheduler: bool = True
    # Push: FCM when credentials are configured, else the log transport.
    fcm_credentials_file: str = Field(default="", validation_alias="GOOGLE_APPLICATION_CREDENTIALS")
    push_transport: Literal["auto", "fcm", "log", "recording"] = "auto"
    push: PushSettings = Field(default_factory=PushSettings)  # MIMAMORI_PUSH_* tuning, read on its own
    # "fast" (cheapest Argon2 parameters) is for tests only.
    password_hash_profile: Literal["standard", "fast"] = "standard"  # noqa: S105
    demo_password: str = "mimamori-demo"  # noqa: S105  (accepted only for demo accounts)
    # Resource limits (docs/security.md, "Resource limits"): no single request may hold the event
    # loop, the database's write lock or the coordinators' inboxes.
    rrule_max_scan_months: int = Field(default=600, ge=12)  # calendar months one rule may scan
    rrule_max_seconds: float = Field(
        default=5.0, gt=0
    )  # backstop: the months bound refuses hostile rules in <0.1 s
    sync_push_max_records: int = Field(default=500, ge=1)  # records in one push, all tables
    sync_push_max_records_per_table: int = Field(default=500, ge=1)
    # Refused records held per device per hour; at least one full push, or a push refused whole
    # (429) could never fit and the phone would be stuck.
    sync_quarantine_per_device_hour: int = Field(default=500, ge=1)
    # Suppressed statistics of a calendar month are published (and frozen) only this many days
    # after the month ended, in the organisation's calendar (api/reports/publication.py): phones
    # sync late, and a note may still be corrected 72 hours after the server received it
    # (note_correction_hours). A week covers a phone left offline over a weekend or a weekly round
    # plus that correction window; anything later is a correction the published month never shows.
    statistics_settle_days: int = Field(default=7, ge=0, le=92)

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if self.sync_quarantine_per_device_hour < self.sync_push_max_records:
            raise ValueError(
                "MIMAMORI_SYNC_QUARANTINE_PER_DEVICE_HOUR must be >= MIMAMORI_SYNC_PUSH_MAX_RECORDS"
            )
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'mimamori.sqlite3'}"
        self.trusted_proxy_networks()  # refuse a malformed list at start-up, not at the first sign-in
        if self.environment == "production":
            _refuse_weak_production(self)
        if not self.secret_key:
            self.secret_key = _stored_secret(self.data_dir)
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        try:
            return [
                ipaddress.ip_network(item.strip(), strict=False)
                for item in self.trusted_proxies.split(",")
                if item.strip()
            ]
        except ValueError as exc:
            raise ValueError(f"MIMAMORI_TRUSTED_PROXIES: {exc}") from exc


# Keys that appear in documentation, examples and tests: never good enough to sign real tokens.
KNOWN_WEAK_KEYS = frozenset(
    {
        "secret",
        "changeme",
        "change-me",
        "mimamori",
        "password",
        "test-secret-key-that-is-long-enough-for-hs256",
    }
)
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT = 12  # "aaaa…" or "abab…" is long but guessable


def weak_secret_key(key: str) -> bool:
    return (
        key.strip().lower() in KNOWN_WEAK_KEYS
        or len(key) < MIN_SECRET_KEY_LENGTH
        or len(set(key)) < MIN_SECRET_KEY_DISTINCT
    )


def _refuse_weak_production(settings: Settings) -> None:
    """Production starts only with a real signing key and the standard Argon2 parameters."""
    if not settings.secret_key:
        raise ValueError("MIMAMORI_SECRET_KEY is required in production")
    if weak_secret_key(settings.secret_key):
        raise ValueError(
            f"MIMAMORI_SECRET_KEY is too weak for production: use at least {MIN_SECRET_KEY_LENGTH} random "
            "characters, e.g. python3 -c 'import secrets;print(secrets.token_urlsafe(48))'"
        )
    if settings.password_hash_profile == "fast":  # noqa: S105
        raise ValueError("MIMAMORI_PASSWORD_HASH_PROFILE=fast is for tests only, not production")


def _stored_secret(data_dir: Path) -> str:
    """Embedded default: generate the signing key once and keep it beside the database. The file is
    created owner-only from the first byte (no window in which another user could read it), and
    appears only complete: several processes starting together (`serve --workers N`) never read a
    half-written or empty key."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    ensure_private_dir(data_dir)
    key = secrets.token_urlsafe(48)
    draft = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(draft, path)  # atomic, and refuses to replace a key another process linked first
    except FileExistsError:
        return path.read_text().strip()
    finally:
        draft.unlink()
    return key


def ensure_private_dir(path: Path) -> None:
    """The data directory holds the database and the signing key: owner only (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    # Tighten a directory an older version left 0755, but never a shared one such as /tmp.
    if info.st_mode & 0o077 and not info.st_mode & stat.S_ISVTX and info.st_uid == os.getuid():
        path.chmod(0o700)


@lru_cache
def get_settings() -> Settings:
    return Settings()
