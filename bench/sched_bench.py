"""Sweep and expansion benchmark on a generated town (run by hand, not by the test suite).

    python -m bench.sched_bench                   # 100,000 residents, 1,000,000 visits, 1% due
    python -m bench.sched_bench --scale 0.1       # 10,000 residents, 100,000 visits
    python -m bench.sched_bench --db sqlite       # one database only

For each database it builds the town twice: at full size and with 10x fewer residents (and so 10x
fewer visits and 10x fewer due). It times one sweep (reminders, requests to record, missed-visit
alerts for the visits due now), the claim query alone, and one expansion run (every plan one day
short of its horizon, as on a normal morning). The figure that matters is printed last: the sweep's
cost per due visit at both sizes (ratio ~1: the cost follows the visits due, not the table size),
and the claim query's time with nothing due at both sizes (ratio ~1: the index finds due work
without scanning the table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain.clock import clock
from domain.db import create_db_config, session_scope
from domain.enums import PlanStatus, Role, VisitStatus
from domain.models import (
    Assignment,
    Base,
    Consent,
    Device,
    District,
    Organisation,
    Resident,
    User,
    UserDistrict,
    Visit,
    VisitPlan,
)
from domain.settings import Settings
from schedules import jobs, ladder

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # Wednesday 12:00 JST
VISITS_PER_RESIDENT = 10
DISTRICTS = 20
CHUNK = 5000


def _ids(n: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(n)]


async def _create_database(backend: str, label: str) -> tuple[str, Any]:
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="sched_bench_")) / f"{label}.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        cleanup = path
    else:
        name = f"sched_bench_{os.getpid()}_{label}"
        admin = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        cleanup = name
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    return url, cleanup


async def _drop_database(backend: str, cleanup: Any) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(str(cleanup) + suffix).unlink, missing_ok=True)
        return
    admin = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{cleanup}" WITH (FORCE)'))
    await admin.dispose()


async def _generate(config: Any, residents: int, due_fraction: float, rng: random.Random) -> dict[str, int]:
    """The town: districts with a commissioner each, two coordinators, volunteers; one weekly plan
    per resident with VISITS_PER_RESIDENT visits (past ones done, future ones planned); a fraction
    of all visits has a ladder step due now (reminders, requests to record, missed alerts)."""
    clock.set(NOW)
    async with session_scope(config) as session:
        org = Organisation(name="ベンチ市")
        session.add(org)
        await session.flush()
        districts = [District(org_id=org.id, name=f"地区{n}") for n in range(DISTRICTS)]
        session.add_all(districts)
        await session.flush()
        users = [
            User(org_id=org.id, login=f"coord{n}-{org.id[:6]}", display_name="coord", role=Role.COORDINATOR)
            for n in range(2)
        ]
        commissioners = []
        for district in districts:
            user = User(
                org_id=org.id, login=f"comm-{district.id[:8]}", display_name="comm", role=Role.COMMISSIONER
            )
            commissioners.append((district, user))
            users.append(user)
        volunteers = [
            User(org_id=org.id, login=f"vol{n}-{org.id[:6]}", display_name="vol", role=Role.VOLUNTEER)
            for n in range(max(10, residents // 50))
        ]
        users += volunteers
        session.add_all(users)
        await session.flush()
        for district, user in commissioners:
            session.add(UserDistrict(org_id=org.id, user_id=user.id, district_id=district.id))
        for user in users:
            session.add(
                Device(
                    org_id=org.id,
                    user_id=user.id,
                    client_id=f"d-{user.id[:8]}",
                    platform="android",
                    push_token=f"tok-{user.id}",
                    last_sync_at=NOW - timedelta(hours=3),
                )
            )
        org_id = org.id
        district_ids = [d.id for d in districts]
        volunteer_ids = [v.id for v in volunteers]

    resident_ids = _ids(residents)
    plan_ids = _ids(residents)
    total_visits = residents * VISITS_PER_RESIDENT
    due_target = int(total_visits * due_fraction)
    due_residents = (
        set(rng.sample(range(residents), due_target)) if due_target <= residents else set(range(residents))
    )
    horizon = (NOW + timedelta(hours=9)).date() + timedelta(weeks=8)
    feed_seq = 1
    for start in range(0, residents, CHUNK):
        async with session_scope(config) as session:
            rows_r, rows_p, rows_v, rows_c, rows_a = [], [], [], [], []
            for i in range(start, min(start + CHUNK, residents)):
                rid, pid = resident_ids[i], plan_ids[i]
                assignee = volunteer_ids[i % len(volunteer_ids)]
                rows_r.append(
                    {
                        "id": rid,
                        "org_id": org_id,
                        "district_id": district_ids[i % DISTRICTS],
                        "name": f"住民{i}",
                        "kana": "",
                        "address": "",
                        "household": "alone",
                        "risk_level": ("high", "medium", "low")[i % 3],
                        "support_needs": "",
                        "status": "active",
                        "last_contact_at": NOW - timedelta(days=2),
                        "created_at": NOW - timedelta(days=100),
                        "updated_at": NOW,
                        "feed_seq": feed_seq,
                    }
                )
                # Consent and an assignment, as in a real town: messages reach only those who may see.
                for recipient in ("district_commissioner", "volunteers"):
                    rows_c.append(
                        {
                            "id": uuid.uuid4().hex,
                            "org_id": org_id,
                            "resident_id": rid,
                            "recipient": recipient,
                            "status": "given",
                            "purpose": "",
                            "given_on": (NOW - timedelta(days=100)).date(),
                            "created_at": NOW,
                            "updated_at": NOW,
                            "feed_seq": feed_seq,
                        }
                    )
                rows_a.append(
                    {
                        "id": uuid.uuid4().hex,
                        "org_id": org_id,
                        "resident_id": rid,
                        "user_id": assignee,
                        "role": "primary",
                        "started_at": NOW - timedelta(days=100),
                        "created_at": NOW,
                        "updated_at": NOW,
                        "feed_seq": feed_seq,
                    }
                )
                rows_p.append(
                    {
                        "id": pid,
                        "org_id": org_id,
                        "resident_id": rid,
                        "assignee_id": assignee,
                        "rrule": "FREQ=WEEKLY",
                        "starts_on": (NOW - timedelta(weeks=8)).date(),
                        "window_days": 1,
                        "holiday_rule": "none",
                        "status": PlanStatus.ACTIVE,
                        "expanded_until": horizon - timedelta(days=1),
                        "revision": 1,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
                weekday_offset = timedelta(days=i % 7)
                for k in range(VISITS_PER_RESIDENT):
                    due_start = NOW - timedelta(weeks=7 - k) + weekday_offset - timedelta(hours=2)
                    due_end = due_start + timedelta(hours=6)
                    past = due_end < NOW
                    row = {
                        "id": uuid.uuid4().hex,
                        "org_id": org_id,
                        "plan_id": pid,
                        "occurrence_key": f"{due_start.date().isoformat()}/r1",
                        "kind": "planned",
                        "resident_id": rid,
                        "assignee_id": assignee,
                        "due_start": due_start,
                        "due_end": due_end,
                        "status": VisitStatus.DONE if past else VisitStatus.PLANNED,
                        "check_step": None if past else ladder.REMINDER_EVENING,
                        "next_check_at": None if past else due_start - timedelta(hours=16),
                        "created_at": NOW,
                        "updated_at": NOW,
                        "feed_seq": feed_seq,
                    }
                    if not past and row["next_check_at"] <= NOW:
                        row["next_check_at"] = NOW + timedelta(days=1)
                    rows_v.append(row)
                if i in due_residents:
                    # One visit of this resident has a step due now: 70% morning reminders, 20%
                    # "please record", 10% grace over (missed alert).
                    roll = rng.random()
                    if roll < 0.7:  # window open since an hour: the morning reminder is due
                        step, opened, closes = (
                            ladder.REMINDER_MORNING,
                            NOW - timedelta(hours=1),
                            NOW + timedelta(hours=5),
                        )
                    elif roll < 0.9:  # window closed five minutes ago: ask to record or sync
                        step, opened, closes = (
                            ladder.WINDOW_CLOSED,
                            NOW - timedelta(hours=6),
                            NOW - timedelta(minutes=5),
                        )
                    else:  # grace over: missed, alert
                        step, opened, closes = (
                            ladder.GRACE_OVER,
                            NOW - timedelta(hours=30),
                            NOW - timedelta(hours=24, minutes=5),
                        )
                    rows_v[-3].update(
                        status=VisitStatus.PLANNED,
                        check_step=step,
                        due_start=opened,
                        due_end=closes,
                        next_check_at=NOW - timedelta(minutes=5),
                    )
            await session.execute(insert(Resident), rows_r)
            await session.execute(insert(VisitPlan), rows_p)
            await session.execute(insert(Consent), rows_c)
            await session.execute(insert(Assignment), rows_a)
            for v_start in range(0, len(rows_v), CHUNK):
                await session.execute(insert(Visit), rows_v[v_start : v_start + CHUNK])
    if config.get_engine().dialect.name == "postgresql":
        async with config.get_engine().connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    return {"residents": residents, "visits": total_visits, "due": len(due_residents)}


async def _claim_query_ms(config: Any) -> float:
    async with session_scope(config) as session:
        query = (
            select(Visit.id)
            .where(Visit.next_check_at.is_not(None), Visit.next_check_at <= NOW)
            .order_by(Visit.next_check_at, Visit.id)
            .limit(jobs.BATCH)
        )
        started = time.perf_counter()
        for _ in range(20):
            (await session.execute(query)).all()
        return (time.perf_counter() - started) / 20 * 1000


async def _one_size(backend: str, residents: int, due_fraction: float, label: str) -> dict[str, float]:
    url, cleanup = await _create_database(backend, label)
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=Path(tempfile.gettempdir()),
        secret_key="bench-secret-key-long-enough-for-hs256",
        run_scheduler=False,
    )
    config = create_db_config(settings)
    try:
        started = time.perf_counter()
        town = await _generate(config, residents, due_fraction, random.Random(42))
        generated = time.perf_counter() - started
        clock.set(NOW)
        started = time.perf_counter()
        swept = await jobs.sweep_visits(config)
        sweep_s = time.perf_counter() - started
        # The next sweep finds nothing due: its cost is the claim query alone.
        started = time.perf_counter()
        await jobs.sweep_visits(config)
        idle_sweep_ms = (time.perf_counter() - started) * 1000
        # The claim query's own cost with nothing due: one index probe, whatever the table size.
        claim_ms = await _claim_query_ms(config)
        clock.set(NOW + timedelta(hours=12))  # the next morning's expansion: one more day per plan
        started = time.perf_counter()
        created = await jobs.expand_plans(config)
        expand_s = time.perf_counter() - started
        async with session_scope(config) as session:
            leftover = await session.scalar(select(Visit.id).where(Visit.next_check_at <= NOW).limit(1))
        assert leftover is None, "the sweep left due work behind"
        assert swept == town["due"], (swept, town)
        return {
            **town,
            "generate_s": generated,
            "claim_ms": claim_ms,
            "sweep_s": sweep_s,
            "idle_sweep_ms": idle_sweep_ms,
            "expand_s": expand_s,
            "expanded_visits": created,
            "plans": residents,
        }
    finally:
        await config.get_engine().dispose()
        await _drop_database(backend, cleanup)


async def _bench(backend: str, scale: float, due_fraction: float) -> None:
    large_n = max(100, int(100_000 * scale))
    small_n = max(10, large_n // 10)
    print(f"\n== {backend}: scale {scale} ({large_n:,} residents) vs 10x fewer ({small_n:,}) ==")
    large = await _one_size(backend, large_n, due_fraction, "large")
    small = await _one_size(backend, small_n, due_fraction, "small")
    for name, r in (("large", large), ("small", small)):
        print(
            f"{name:>5}: {r['residents']:>8,} residents {r['visits']:>10,} visits {r['due']:>7,} due | "
            f"generate {r['generate_s']:7.1f} s | sweep {r['sweep_s']:7.2f} s "
            f"({r['sweep_s'] / max(r['due'], 1) * 1000:6.2f} ms/due visit) | idle sweep {r['idle_sweep_ms']:6.1f} ms | "
            f"claim query {r['claim_ms']:6.2f} ms | expansion {r['expand_s']:7.2f} s for {r['plans']:,} plans "
            f"({r['expand_s'] / r['plans'] * 1000:5.2f} ms/plan, {r['expanded_visits']:,} visits)"
        )
    per_due = (large["sweep_s"] / large["due"]) / (small["sweep_s"] / small["due"])
    print(
        f"sweep time ratio large/small: {large['sweep_s'] / small['sweep_s']:.2f} "
        f"(due ratio {large['due'] / small['due']:.1f}, table ratio {large['visits'] / small['visits']:.1f})"
    )
    print(f"sweep cost per due visit, large/small: {per_due:.2f}  (~1: grows with the visits due)")
    print(
        f"claim query, large/small: {large['claim_ms'] / small['claim_ms']:.2f}  (~1: independent of table size)"
    )
    print(f"idle sweep, large/small: {large['idle_sweep_ms'] / small['idle_sweep_ms']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 residents / 1,000,000 visits")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--due", type=float, default=0.01, help="fraction of all visits due now")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(
        f"sched_bench: scale={args.scale} due={args.due} visits/resident={VISITS_PER_RESIDENT} "
        f"batch={jobs.BATCH} started {datetime.now(UTC).isoformat(timespec='seconds')}"
    )
    for backend in backends:
        asyncio.run(_bench(backend, args.scale, args.due))


if __name__ == "__main__":
    main()
