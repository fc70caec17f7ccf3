"""Console session tuning, read from the environment (MIMAMORI_CONSOLE_*). Kept here rather than
in the shared Settings because only the console reads it."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIMAMORI_CONSOLE_", extra="ignore")

    # A session unused this long ends (an office PC left signed in); however busy, it ends after
    # the absolute limit (one working day and a bit).
    idle_minutes: int = Field(default=120, ge=1)
    max_hours: int = Field(default=12, ge=1)
    # Secure cookies: on by default in production (MIMAMORI_ENVIRONMENT=production), off otherwise
    # so that `make run` works over plain http://127.0.0.1. Set explicitly behind a TLS proxy.
    secure_cookie: bool | None = None


@lru_cache
def console_settings() -> ConsoleSettings:
    return ConsoleSettings()
