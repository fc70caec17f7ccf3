"""Tuning of push delivery, read from the environment (MIMAMORI_PUSH_*). Kept here rather than in
the shared Settings because only the notifications slice reads it."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PushSettings(BaseSettings):
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


@lru_cache
def push_settings() -> PushSettings:
    return PushSettings()
