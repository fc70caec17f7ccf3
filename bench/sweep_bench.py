"""Missed-contact sweep cost per due visit (run by hand or by `make bench`, not by the test suite).

    python -m bench.sweep_bench                      # 1,000 and 10,000 due visits, both databases
    python -m bench.sweep_bench --due 200 --db sqlite

A lean town built with bulk inserts (so that building it costs seconds, not minutes): one resident
per due visit, each with consent for the district commissioner and volunteers and a primary
volunteer; each resident's one visit has a ladder step due now (70% morning reminders, 20% "please
record or sync", 10% grace over → missed-visit alert, as in `bench.sched_bench`). The large town
also holds `--idle` times as many visits that are not due (done, nothing to check), so the table is
several times larger than the work: the sweep must cost per due visit, not per row.

Printed per size: one sweep (`jobs.sweep_visits`) in ms per due visit (wall clock, and the CPU
time of this process alone, steadier on a shared machine) and the SQL statements it sent, beside
a baseline measured in the same run on the same rows: one bare SELECT of every due visit (the
claim query without limit). `--profile` adds a cProfile and the most frequent statements.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import cProfile
import os
import pstats
import random
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text

from bench.sched_bench import _create_database, _drop_database
from domain import feed
from domain.clock import clock
from domain.db import create_db_config, session_scope
from domain.enums import PlanStatus, Role, VisitStatus
from domain.models import (
    Alert,
    Assignment,
    Consent,
    Delivery,
    Device,
    District,
    Notification,
    Organisation,
    Resident,
    User,
    UserDistrict,
    Visit,
    VisitPlan,
)
from domain.settings import Settings
from schedules import jobs, ladder

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # Wednesday 12:00 JST
DISTRICTS = 20
CHUNK = 5000
BATCH = jobs.SWEEP_BATCH
PROFILE = False  # --profile: cProfile of the sweep, top functions by cumulative time
PROFILE_SORT = os.environ.get("BENCH_PROFILE_SORT", "cumulative")


def _row(**fields: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "created_at": NOW, "updated_at": NOW, **fields}


async def _generate(config: Any, due: int, idle_per_due: int, rng: random.Random) -> dict[str, int]:
    clock.set(NOW)
    async with session_scope(config) as session:
        org = Organisation(name="ベンチ市")
        session.add(org)
        await session.flush()
        districts = [District(org_id=org.id, name=f"地区{n}") for n in range(DISTRICTS)]
        session.add_all(districts)
        await session.flush()
        coords = [
            User(org_id=org.id, login=f"coord{n}", display_name="coord", role=Role.COORDINATOR)
            for n in range(2)
        ]
        comms = [
            User(org_id=org.id, login=f"comm{n}", display_name="comm", role=Role.COMMISSIONER)
            for n in range(DISTRICTS)
        ]
        vols = [
            User(org_id=org.id, login=f"vol{n}", display_name="vol", role=Role.VOLUNTEER)
            for n in range(max(10, due // 50))
        ]
        session.add_all(coords + comms + vols)
        await session.flush()
        for district, comm in zip(districts, comms, strict=True):
            session.add(UserDistrict(org_id=org.id, user_id=comm.id, district_id=district.id))
        for n, user in enumerate(coords + comms + vols):
            session.add(
                Device(
                    org_id=org.id,
                    user_id=user.id,
                    client_id=f"d-{n}",
                    platform="android",
                    push_token=f"tok-{user.id}",
                    push_token_updated_at=NOW - timedelta(days=1),
                    last_sync_at=NOW - timedelta(hours=3),
                )
            )
        org_id, district_ids, vol_ids = org.id, [d.id for d in districts], [v.id for v in vols]

    visits_total = 0
    for start in range(0, due, CHUNK):
        async with session_scope(config) as session:
            seq = await feed.next_position(session, org_id)  # Core inserts take a real feed position
        rows_r, rows_c, rows_a, rows_p, rows_v = [], [], [], [], []
        for i in range(start, min(start + CHUNK, due)):
            rid, pid, vol = uuid.uuid4().hex, uuid.uuid4().hex, vol_ids[i % len(vol_ids)]
            rows_r.append(
                _row(
                    id=rid,
                    org_id=org_id,
                    district_id=district_ids[i % DISTRICTS],
                    name=f"住民{i}",
                    kana="",
                    address="",
                    household="alone",
                    risk_level=("high", "medium", "low")[i % 3],
                    support_needs="",
                    status="active",
                    last_contact_at=NOW - timedelta(days=2),
                    feed_seq=seq,
                )
            )
            for recipient in ("district_commissioner", "volunteers"):
                rows_c.append(
                    _row(
                        org_id=org_id,
                        resident_id=rid,
                        recipient=recipient,
                        status="given",
                        purpose="",
                        given_on=(NOW - timedelta(days=100)).date(),
                        feed_seq=seq,
                    )
                )
            rows_a.append(
                _row(
                    org_id=org_id,
                    resident_id=rid,
                    user_id=vol,
                    role="primary",
                    started_at=NOW - timedelta(days=100),
                    feed_seq=seq,
                )
            )
            rows_p.append(
                _row(
                    id=pid,
                    org_id=org_id,
                    resident_id=rid,
                    assignee_id=vol,
                    rrule="FREQ=WEEKLY",
                    starts_on=(NOW - timedelta(weeks=8)).date(),
                    window_days=1,
                    holiday_rule="none",
                    status=PlanStatus.ACTIVE,
                    expanded_until=(NOW + timedelta(weeks=8)).date(),
                    revision=1,
                )
            )
            roll = rng.random()
            if roll < 0.7:
                step, opened, closes = (
                    ladder.REMINDER_MORNING,
                    NOW - timedelta(hours=1),
                    NOW + timedelta(hours=5),
                )
            elif roll < 0.9:
                step, opened, closes = (
                    ladder.WINDOW_CLOSED,
                    NOW - timedelta(hours=6),
                    NOW - timedelta(minutes=5),
                )
            else:
                step, opened, closes = (
                    ladder.GRACE_OVER,
                    NOW - timedelta(hours=30),
                    NOW - timedelta(hours=24, minutes=5),
                )
            base = {
                "org_id": org_id,
                "plan_id": pid,
                "kind": "planned",
                "resident_id": rid,
                "assignee_id": vol,
            }
            rows_v.append(
                _row(
                    **base,
                    occurrence_key=f"{opened.date().isoformat()}/due",
                    due_start=opened,
                    due_end=closes,
                    status=VisitStatus.PLANNED,
                    check_step=step,
                    next_check_at=NOW - timedelta(minutes=5),
                    feed_seq=seq,
                )
            )
            for k in range(idle_per_due):  # past visits, done: nothing left to check
                opened = NOW - timedelta(weeks=k + 1)
                rows_v.append(
                    _row(
                        **base,
                        occurrence_key=f"{opened.date().isoformat()}/{k}",
                        due_start=opened,
                        due_end=opened + timedelta(hours=6),
                        status=VisitStatus.DONE,
                        check_step=None,
                        next_check_at=None,
                        feed_seq=seq,
                    )
                )
        async with session_scope(config) as session:
            await session.execute(insert(Resident), rows_r)
            await session.execute(insert(VisitPlan), rows_p)
            await session.execute(insert(Consent), rows_c)
            await session.execute(insert(Assignment), rows_a)
            for v_start in range(0, len(rows_v), CHUNK):
                await session.execute(insert(Visit), rows_v[v_start : v_start + CHUNK])
        visits_total += len(rows_v)
    if config.get_engine().dialect.name == "postgresql":
        async with config.get_engine().connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    return {"due": due, "visits": visits_total}


async def _bare_select_ms(config: Any) -> float:
    """The baseline: one SELECT of every due visit, as the claim query reads them (no limit)."""
    async with session_scope(config) as session:
        query = (
            select(Visit)
            .where(Visit.next_check_at.is_not(None), Visit.next_check_at <= NOW)
            .order_by(Visit.next_check_at, Visit.id)
        )
        started = time.perf_counter()
        rows = list(await session.scalars(query))
        elapsed = time.perf_counter() - started
    assert rows, "nothing due"
    return elapsed * 1000


def _count_statements(config: Any) -> list[Any]:
    """SQL statements sent (executemany counts once): [count..., listener] — pop the listener."""
    counted: list[Any] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted.insert(0, 1)
        if PROFILE:
            kinds[" ".join(statement.split())[:110]] += 1

    kinds: Counter[str] = Counter()
    if PROFILE:
        atexit.register(lambda: print(*(f"{n:6} {s}" for s, n in kinds.most_common(25)), sep="\n"))

    event.listen(config.get_engine().sync_engine, "before_cursor_execute", count)
    counted.append(count)
    return counted


async def _one_size(backend: str, due: int, idle_per_due: int, label: str) -> dict[str, Any]:
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
        town = await _generate(config, due, idle_per_due, random.Random(42))
        clock.set(NOW)
        bare_ms = await _bare_select_ms(config)
        profile = cProfile.Profile() if PROFILE else None
        statements = _count_statements(config)
        started, cpu_started = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        swept = await jobs.sweep_visits(config, BATCH)
        sweep_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats(PROFILE_SORT).print_stats(35)
        event.remove(config.get_engine().sync_engine, "before_cursor_execute", statements.pop())
        assert swept == due, (swept, due)
        async with session_scope(config) as session:
            left = await session.scalar(select(func.count()).where(Visit.next_check_at <= NOW))
            counts = {
                name: await session.scalar(select(func.count()).select_from(model))
                for name, model in (
                    ("alerts", Alert),
                    ("notifications", Notification),
                    ("deliveries", Delivery),
                )
            }
        assert left == 0, "the sweep left due work behind"
        return {
            **town,
            **counts,
            "sweep_s": sweep_s,
            "cpu_s": cpu_s,
            "bare_ms": bare_ms,
            "statements": sum(statements),
        }
    finally:
        await config.get_engine().dispose()
        await _drop_database(backend, cleanup)


def _print(backend: str, r: dict[str, Any]) -> None:
    per_due = r["sweep_s"] * 1000 / r["due"]
    print(
        f"{backend:>10} {r['due']:>7,} due / {r['visits']:>8,} visits | sweep {r['sweep_s']:7.2f} s = "
        f"{per_due:6.3f} ms/due visit (this process's CPU {r['cpu_s'] * 1000 / r['due']:6.3f} ms) | bare SELECT of the due visits {r['bare_ms']:7.1f} ms = "
        f"{r['bare_ms'] / r['due']:6.3f} ms/due visit (sweep/bare x{per_due / (r['bare_ms'] / r['due']):.0f}) | "
        f"{r['statements']:,} SQL statements | wrote {r['alerts']:,} alerts, {r['notifications']:,} notifications, {r['deliveries']:,} deliveries",
        flush=True,
    )


async def _bench(backend: str, sizes: list[int], idle: int) -> None:
    results = []
    for n, due in enumerate(sizes):
        # The largest town also carries `idle` non-due visits per due one: O(due), not O(table).
        idle_per_due = idle if n == len(sizes) - 1 else 1
        results.append(await _one_size(backend, due, idle_per_due, f"s{due}"))
        _print(backend, results[-1])
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"{backend:>10} per due visit large/small: "
            f"{(large['sweep_s'] / large['due']) / (small['sweep_s'] / small['due']):.2f} "
            f"(due x{large['due'] / small['due']:.0f}, table x{large['visits'] / small['visits']:.0f}; ~1 = O(due))"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--due", type=int, nargs="+", default=[1000, 10_000], help="due visits per town")
    parser.add_argument("--idle", type=int, default=5, help="non-due visits per due one in the largest town")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--batch", type=int, default=jobs.SWEEP_BATCH, help="visits per transaction")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each sweep")
    args = parser.parse_args()
    global PROFILE, BATCH
    PROFILE, BATCH = args.profile, args.batch
    backends = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(
        f"sweep_bench: due={args.due} idle/due={args.idle} batch={args.batch} "
        f"started {datetime.now(UTC).isoformat(timespec='seconds')}",
        flush=True,
    )
    for backend in backends:
        asyncio.run(_bench(backend, sorted(args.due), args.idle))


if __name__ == "__main__":
    main()
