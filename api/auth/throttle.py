"""Failed-login limits per account and per client address, kept in the database so that every API
process enforces the same counts."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.errors import RateLimited
from domain.models import LoginThrottle


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()


# One office (or one NAT) holds many people: an address may fail more often than one account.
ADDRESS_FACTOR = 4


def keys_for(login: str, client_address: str | None) -> list[str]:
    """The account key first, then the client address key."""
    keys = [_key("account", login)]
    if client_address:
        keys.append(_key("address", client_address))
    return keys


async def check(session: AsyncSession, keys: list[str], *, max_failures: int, window: timedelta) -> None:
    now = utcnow()
    limits = {key: max_failures * (1 if index == 0 else ADDRESS_FACTOR) for index, key in enumerate(keys)}
    rows = (await session.scalars(select(LoginThrottle).where(LoginThrottle.key_hash.in_(keys)))).all()
    for row in rows:
        if row.window_start + window > now and row.failures >= limits[row.key_hash]:
            retry_after = int((row.window_start + window - now).total_seconds()) + 1
            raise RateLimited(
                "error.login_rate_limited",
                minutes=max(1, retry_after // 60),
                extra={"retry_after": retry_after},
            )


async def record_failure(session: AsyncSession, keys: list[str], *, window: timedelta) -> None:
    now = utcnow()
    for key in keys:
        row = await session.get(LoginThrottle, key)
        if row is None:
            session.add(LoginThrottle(key_hash=key, window_start=now, failures=1))
        elif row.window_start + window <= now:
            row.window_start, row.failures = now, 1
        else:
            row.failures += 1


async def clear(session: AsyncSession, keys: list[str]) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash.in_(keys)))
