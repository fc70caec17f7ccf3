"""Dispatch benchmark: N due deliveries through the FCM transport (real firebase-admin, answered at
once by an in-process stand-in), on SQLite and PostgreSQL, against the same N messages sent with
bare `messaging.send_each_async` calls (500 per call) and no bookkeeping, in the same run.

    python -m bench.notify_bench                      # both databases, 10,000 deliveries
    python -m bench.notify_bench --backend sqlite --n 2000 --rounds 1

Each round runs the bare sends, then the dispatcher (the deliveries are reset to due in between);
each round gives a ratio of two runs made back to back, and the median of those ratios is the
figure (these machines are shared and their load swings; best rates are printed too).

The ratio (bare rate / dispatcher rate) is the cost of our reliability: claiming with leases,
recording every attempt, and the state changes, in three transactions per batch of 500.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path

from firebase_admin import messaging
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain.clock import clock
from domain.db import create_db_config, session_scope
from domain.enums import DeliveryStatus, Role
from domain.models import Base, Delivery, DeliveryAttempt, Device, Organisation, User
from domain.settings import PushSettings, Settings
from notifications.dispatcher import dispatch_once
from notifications.fcm import FcmTransport, build_message
from notifications.outbox import enqueue
from notifications.testing import PROJECT_ID, FcmStandIn, TestCredential
from notifications.transports import PushMessage

PG_ADMIN = os.environ.get("MIMAMORI_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
USERS = 100
DAYTIME = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo: outside quiet hours


async def _admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _seed(settings: Settings, n: int) -> None:
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    config = create_db_config(settings)
    async with session_scope(config) as session:
        org = Organisation(name="ベンチ市")
        session.add(org)
        await session.flush()
        users = [
            User(org_id=org.id, login=f"u{i}", display_name=f"u{i}", role=Role.COMMISSIONER)
            for i in range(USERS)
        ]
        session.add_all(users)
        await session.flush()
        session.add_all(
            Device(
                org_id=org.id,
                user_id=u.id,
                client_id="phone",
                platform="android",
                push_token=f"token-{i}",
                push_token_updated_at=DAYTIME,
            )
            for i, u in enumerate(users)
        )
        await session.flush()
        user_ids = [u.id for u in users]
    for start in range(0, n // USERS, 10):  # 10 rounds of messages to everyone per transaction
        async with session_scope(config) as session:
            for _ in range(min(10, n // USERS - start)):
                await enqueue(
                    session,
                    org_id=org.id,
                    user_ids=user_ids,
                    kind="reminder",
                    params={"resident_name": "山田 花子"},
                    visit_id=uuid.uuid4().hex,
                )
    await config.get_engine().dispose()


async def _dispatch_all(settings: Settings, transport: FcmTransport) -> tuple[int, float]:
    config = create_db_config(settings)
    push = PushSettings(_env_file=None)
    handled = 0
    started = time.perf_counter()
    while True:
        done = await dispatch_once(config, transport=transport, config=push)
        handled += done
        if done == 0:
            break
    elapsed = time.perf_counter() - started
    async with session_scope(config) as session:
        sent = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.SENT)
        )
    await config.get_engine().dispose()
    assert sent == handled, f"{sent} sent of {handled} handled"
    return handled, elapsed


async def _reset(settings: Settings) -> None:
    """Make every delivery due again (benchmark only: deliveries are not a change-feed table)."""
    config = create_db_config(settings)
    async with session_scope(config) as session:
        await session.execute(delete(DeliveryAttempt))
        await session.execute(
            update(Delivery).values(
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=DAYTIME,
                sent_at=None,
                provider_message_id=None,
            )
        )
    await config.get_engine().dispose()


async def _bare(transport: FcmTransport, n: int) -> float:
    messages = [
        build_message(
            PushMessage(
                delivery_id=str(i),
                device_id=str(i),
                token=f"token-{i % USERS}",
                title="訪問予定：山田 花子さん",
                body="期限に訪問の予定があります。",
                data={"kind": "reminder", "notification_id": uuid.uuid4().hex},
                collapse_key="reminder:x",
            )
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    for start in range(0, n, 500):
        batch = await messaging.send_each_async(messages[start : start + 500], app=transport.app)
        assert batch.success_count == len(messages[start : start + 500])
    return time.perf_counter() - started


async def run(backend: str, n: int, rounds: int) -> dict[str, float]:
    clock.set(DAYTIME)
    bare_times: list[float] = []
    ours_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
            db_name = None
        else:
            db_name = f"notify_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            await _admin(f'CREATE DATABASE "{db_name}"')
            url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db_name}"
        settings = Settings(
            environment="test",
            database_url=url,
            data_dir=Path(tmp),
            secret_key="b" * 48,
            run_scheduler=False,
            log_level="WARNING",
        )
        try:
            await _seed(settings, n)
            transport = FcmTransport(TestCredential(), project_id=PROJECT_ID)
            standin = FcmStandIn().start()
            try:
                for round_number in range(rounds):
                    if round_number:
                        await _reset(settings)
                    bare_times.append(await _bare(transport, n))
                    standin.received.clear()
                    standin.delivered.clear()
                    handled, seconds = await _dispatch_all(settings, transport)
                    assert len(standin.delivered) == handled == n, (len(standin.delivered), handled, n)
                    ours_times.append(seconds)
            finally:
                standin.stop()
                await transport.close()
        finally:
            if db_name:
                await _admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    return {
        "n": n,
        "bare_s": min(bare_times),
        "ours_s": min(ours_times),
        "bare_all": bare_times,
        "ours_all": ours_times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", DeprecationWarning)
    print(
        f"# notify_bench: n={args.n}, batch=500, python {sys.version.split()[0]}, {platform.machine()}, "
        f"{os.cpu_count()} cpus, {args.rounds} rounds, FCM answered in process (respx), "
        f"SDK in-call retries off, load average {os.getloadavg()[0]:.1f}"
    )
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = asyncio.run(run(backend, args.n, args.rounds))
        bare_rate, ours_rate = r["n"] / r["bare_s"], r["n"] / r["ours_s"]
        ratios = sorted(o / b for o, b in zip(r["ours_all"], r["bare_all"], strict=True))
        print(
            f"{backend:10s} dispatcher best {ours_rate:,.0f} deliveries/s ({r['ours_s']:.2f}s for {r['n']}) | "
            f"bare send_each_async best {bare_rate:,.0f}/s ({r['bare_s']:.2f}s) | "
            f"median per-round ratio bare/dispatcher = {statistics.median(ratios):.2f}x"
        )
        print(
            f"{'':10s} rounds (s): dispatcher {[round(t, 1) for t in r['ours_all']]}, "
            f"bare {[round(t, 1) for t in r['bare_all']]}, ratios {[round(x, 2) for x in ratios]}"
        )


if __name__ == "__main__":
    main()
