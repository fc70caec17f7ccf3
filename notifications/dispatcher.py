"""Sends due deliveries from the outbox. Interface agreed between slices; the notifications work
implements it: `dispatch_once(db_config, now=None) -> int` claims due deliveries in bounded
batches, sends them through the configured transport and records each attempt. Returns how many
deliveries it handled."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig


async def dispatch_once(db_config: SQLAlchemyAsyncConfig) -> int:
    raise NotImplementedError("the notifications work implements the dispatcher")
