"""The one settings object, read from the environment (see README "Configuration")."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIMAMORI_", extra="ignore", populate_by_name=True)

    environment: Literal["development", "production", "test"] = "development"
    # DATABASE_URL is the conventional name; MIMAMORI_DATABASE_URL works too.
    database_url: str = Field(
        default="",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy async URL; default: SQLite file var/mimamori.sqlite3",
    )
    data_dir: Path = DEFAULT_DATA_DIR
    db_echo: bool = False
    db_pool_disabled: bool = False  # NullPool: tests, and the Litestar test client's own event loop
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    activation_code_hours: int = 72
    login_max_failures: int = 5
    login_failure_window_minutes: int = 15
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"
    max_request_bytes: int = 5 * 1024 * 1024
    default_timezone: str = "Asia/Tokyo"
    default_locale: Literal["ja", "en"] = "ja"
    # Jobs: by default the server runs the scheduler; at scale set false and run `mimamori worker`.
    run_scheduler: bool = True
    # Push: FCM when credentials are configured, else the log transport.
    fcm_credentials_file: str = Field(default="", validation_alias="GOOGLE_APPLICATION_CREDENTIALS")
    push_transport: Literal["auto", "fcm", "log", "recording"] = "auto"
    # "fast" (cheapest Argon2 parameters) is for tests only.
    password_hash_profile: Literal["standard", "fast"] = "standard"  # noqa: S105
    demo_password: str = "mimamori-demo"  # noqa: S105  (accepted only for demo accounts)
    # Resource limits (docs/security.md, "Resource limits"): no single request may hold the event
    # loop, the database's write lock or the coordinators' inboxes.
    rrule_max_scan_months: int = Field(default=600, ge=12)  # calendar months one rule may scan
    rrule_max_seconds: float = Field(default=1.0, gt=0)  # wall time one rule expansion may take
    sync_push_max_records: int = Field(default=500, ge=1)  # records in one push, all tables
    sync_push_max_records_per_table: int = Field(default=500, ge=1)
    # Refused records held per device per hour; at least one full push, or a push refused whole
    # (429) could never fit and the phone would be stuck.
    sync_quarantine_per_device_hour: int = Field(default=500, ge=1)

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if self.sync_quarantine_per_device_hour < self.sync_push_max_records:
            raise ValueError(
                "MIMAMORI_SYNC_QUARANTINE_PER_DEVICE_HOUR must be >= MIMAMORI_SYNC_PUSH_MAX_RECORDS"
            )
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'mimamori.sqlite3'}"
        if not self.secret_key:
            if self.environment == "production":
                raise ValueError("MIMAMORI_SECRET_KEY is required in production")
            self.secret_key = _stored_secret(self.data_dir)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _stored_secret(data_dir: Path) -> str:
    """Embedded default: generate the signing key once and keep it beside the database."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
