"""Sign-in throttling: a progressive delay, never a lock-out that an attacker could trigger.

Every failed sign-in (or activation) counts against three keys, kept in the database so that every
API process sees the same numbers:

* **this login from this address** — one client guessing one account. Past the free failures each
  further failure doubles the wait before the next try (1 s, 2 s, 4 s … up to the cap); an attempt
  earlier than that is answered 429 with `retry_after`, and of several attempts sent at once only
  one takes the turn. Only that client on that account waits.
* **this login from anywhere** — guesses spread over many addresses. The server holds each attempt
  for the same growing delay (capped) but still answers it, so the real user's right password keeps
  working from their own phone, only slower.
* **this address for any login** — one client trying many accounts, or a town hall where everybody
  shares one NAT address: four times as many free failures, then held like the account key.

No counter is ever read or written while Argon2 runs (see `api/auth/service.py`), and a failure is
counted with one atomic upsert per key, so concurrent failures on PostgreSQL neither lose
increments nor collide on the primary key.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.errors import RateLimited
from domain.models import LoginThrottle
from domain.settings import Settings

# One office (or one NAT) holds many people: an address may fail more often than one account.
ADDRESS_FACTOR = 4


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()


@dataclass(frozen=True)
class Keys:
    pair: str
    account: str
    address: str | None

    def all(self) -> list[str]:
        return [key for key in (self.pair, self.account, self.address) if key]


def keys_for(login: str, client_address: str | None) -> Keys:
    address = client_address or "unknown"
    account = _key("account", login)
    pair = _key("pair", f"{login.strip()}\n{address}")
    return Keys(
        # Prefixed with the account key, so that a coordinator's unlock finds every address's
        # counter for one login without the addresses (see `unlock`).
        pair=f"{account}/{pair[:32]}",
        account=account,
        address=_key("address", client_address) if client_address else None,
    )


ACTIVATION_PREFIX = "activate:"  # activation attempts count under their own keys


async def unlock(session: AsyncSession, login: str) -> int:
    """Forget the failures of one login, sign-in and activation alike, from every address: a
    coordinator who has checked who is calling lets them try again at once. The address keys stay
    (they count guesses at other accounts too). Returns how many counters were cleared."""
    table = LoginThrottle.__table__
    cleared = 0
    for name in (login, f"{ACTIVATION_PREFIX}{login}"):
        account = _key("account", name)
        result = await session.execute(
            delete(table).where((table.c.key_hash == account) | table.c.key_hash.startswith(f"{account}/"))
        )
        cleared += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return cleared


async def slowed(session: AsyncSession, settings: Settings, logins: list[str]) -> set[str]:
    """Which of `logins` are being slowed now after failed sign-ins or activations (what a
    coordinator's unlock would clear): their account counter is past the free failures within
    the current window. Read only."""
    wanted: dict[str, str] = {}
    for login in logins:
        for name in (login, f"{ACTIVATION_PREFIX}{login}"):
            wanted[_key("account", name)] = login
    if not wanted:
        return set()
    now = utcnow()
    rows = (
        await session.scalars(select(LoginThrottle).where(LoginThrottle.key_hash.in_(list(wanted))))
    ).all()
    return {
        wanted[row.key_hash]
        for row in rows
        if row.window_start + timedelta(minutes=settings.login_failure_window_minutes) > now
        and delay_seconds(row.failures, settings.login_max_failures, settings.login_max_delay_seconds) > 0
    }


def delay_seconds(failures: int, free: int, cap: int) -> float:
    """0 for the first `free` failures, then 1, 2, 4, … seconds, never more than `cap`."""
    if failures < free:
        return 0.0
    return float(min(cap, 2 ** min(failures - free, 30)))


def _remaining(row: LoginThrottle, free: int, settings: Settings, now: datetime) -> float:
    if row.window_start + timedelta(minutes=settings.login_failure_window_minutes) <= now:
        return 0.0  # the window is over: the counter starts again at the next failure
    wait = delay_seconds(row.failures, free, settings.login_max_delay_seconds)
    last = row.last_failure_at or row.window_start
    return max(0.0, (last + timedelta(seconds=wait) - now).total_seconds())


@dataclass(frozen=True)
class Assessment:
    hold: float  # seconds to hold the attempt (account and address keys)
    turn: LoginThrottle | None  # the pair counter whose turn this attempt must take, if slowed


async def assess(session: AsyncSession, settings: Settings, keys: Keys) -> Assessment:
    """Read only. Refuse (429) an attempt that comes too early on the pair key; otherwise say how
    long to hold it for the account and address keys, and whether it must take its turn."""
    now = utcnow()
    free = {keys.pair: settings.login_max_failures, keys.account: settings.login_max_failures}
    if keys.address:
        free[keys.address] = settings.login_max_failures * ADDRESS_FACTOR
    rows = (await session.scalars(select(LoginThrottle).where(LoginThrottle.key_hash.in_(keys.all())))).all()
    hold, turn = 0.0, None
    for row in rows:
        remaining = _remaining(row, free[row.key_hash], settings, now)
        if row.key_hash != keys.pair:
            hold = max(hold, remaining)
        elif remaining > 0:
            raise _too_early(remaining)
        elif delay_seconds(row.failures, free[row.key_hash], settings.login_max_delay_seconds) > 0:
            turn = row
    return Assessment(hold, turn)


def _too_early(remaining: float) -> RateLimited:
    retry_after = max(1, math.ceil(remaining))
    return RateLimited("error.login_rate_limited", seconds=retry_after, extra={"retry_after": retry_after})


async def take_turn(session: AsyncSession, assessment: Assessment) -> None:
    """Once a client is being slowed, its next attempt takes its turn with a compare-and-set, so
    that attempts sent at the same moment cannot all slip through the same opening (429 for the
    others). A short write of its own; nothing when the client is not slowed."""
    row = assessment.turn
    if row is None:
        return
    table = LoginThrottle.__table__
    same_last = (
        table.c.last_failure_at == row.last_failure_at
        if row.last_failure_at is not None
        else table.c.last_failure_at.is_(None)
    )
    result = await session.execute(
        update(table)
        .where(table.c.key_hash == row.key_hash, table.c.failures == row.failures, same_last)
        .values(last_failure_at=utcnow())
    )
    await session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        raise _too_early(1)


async def pause(seconds: float) -> None:
    """Hold an attempt (no database transaction is open while it waits)."""
    await asyncio.sleep(seconds)


async def record_failure(session: AsyncSession, settings: Settings, keys: Keys) -> None:
    """One atomic upsert per key: a new window starts when the old one is over."""
    now = utcnow()
    window_over = now - timedelta(minutes=settings.login_failure_window_minutes)
    table = LoginThrottle.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for key in sorted(keys.all()):  # a fixed order: two failures never wait on each other's rows
        statement = insert(table).values(key_hash=key, window_start=now, failures=1, last_failure_at=now)
        expired = table.c.window_start <= window_over
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key_hash],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_start": case((expired, statement.excluded.window_start), else_=table.c.window_start),
                "last_failure_at": statement.excluded.last_failure_at,
            },
        )
        await session.execute(statement)


async def clear(session: AsyncSession, keys: Keys) -> None:
    """A successful sign-in forgets this account's failures. The address key stays: somebody's
    own successful sign-in must not wipe the count of guesses made from the same address."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash.in_([keys.pair, keys.account])))


PURGE_BATCH = 500
PURGE_EVERY = 20  # about one failure in twenty purges: enough to keep up, cheap under a flood


async def purge_expired(session: AsyncSession, settings: Settings, *, force: bool = False) -> None:
    """Forget counters whose window ended long ago, so that guesses at random logins from random
    addresses cannot grow the table without bound. Run in its own short transaction after a
    failure; on PostgreSQL it skips rows another sign-in holds (never waits, never deadlocks)."""
    if secrets.randbelow(PURGE_EVERY) and not force:
        return
    table = LoginThrottle.__table__
    cutoff = utcnow() - 2 * timedelta(minutes=settings.login_failure_window_minutes)
    expired = select(table.c.key_hash).where(table.c.window_start < cutoff).limit(PURGE_BATCH)
    if session.get_bind().dialect.name == "postgresql":
        expired = expired.with_for_update(skip_locked=True)
    await session.execute(delete(table).where(table.c.key_hash.in_(expired.scalar_subquery())))
