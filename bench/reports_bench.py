"""Reports on a generated town (run by hand, not by the test suite).

    python -m bench.reports_bench                 # 100,000 residents, 1,000,000 notes, PostgreSQL
    python -m bench.reports_bench --scale 0.1     # 10,000 residents, 100,000 notes
    python -m bench.reports_bench --db sqlite

Times, as a coordinator of the whole town asks them (the service functions the endpoints call):
the working list's first page, the coverage report for 30 days, and the whole working list as CSV
as the endpoint streams it (with its peak Python memory, tracemalloc). Each is printed beside a bare aggregate query over the
same rows, measured in the same run (these machines are noisy: read the ratio, not the time).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, text

from api.reports import coverage, csv_export, working_list
from bench.sched_bench import _create_database, _drop_database
from domain.access import Principal
from domain.clock import clock
from domain.db import create_db_config, session_scope
from domain.enums import Role
from domain.models import ContactNote, District, Organisation, Resident, User
from domain.settings import Settings

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # Wednesday 12:00 JST
NOTES_PER_RESIDENT = 10
DISTRICTS = 20
CHUNK = 5000
METHODS = ("home_visit", "phone", "meeting_place", "meal_delivery", "message", "sensor")
OUTCOMES = ("met_well", "met_well", "met_concern", "phone_only", "no_answer")


async def _generate(config: Any, residents: int, rng: random.Random) -> tuple[str, str]:
    """Residents over DISTRICTS districts, one in three of them overdue; NOTES_PER_RESIDENT notes
    each over the last 120 days."""
    clock.set(NOW)
    async with session_scope(config) as session:
        org = Organisation(name="ベンチ市")
        session.add(org)
        await session.flush()
        districts = [District(org_id=org.id, name=f"地区{n}") for n in range(DISTRICTS)]
        session.add_all(districts)
        coordinator = User(
            org_id=org.id, login=f"coord-{org.id[:6]}", display_name="coord", role=Role.COORDINATOR
        )
        session.add(coordinator)
        await session.flush()
        org_id, coordinator_id, district_ids = org.id, coordinator.id, [d.id for d in districts]
    for start in range(0, residents, CHUNK):
        async with session_scope(config) as session:
            rows_r, rows_n = [], []
            for i in range(start, min(start + CHUNK, residents)):
                rid = uuid.uuid4().hex
                last = NOW - timedelta(days=rng.choice((3, 10, 45, 90)), hours=rng.randrange(24))
                rows_r.append(
                    {
                        "id": rid,
                        "org_id": org_id,
                        "district_id": district_ids[i % DISTRICTS],
                        "name": f"住民{i}",
                        "kana": f"ジュウミン{i}",
                        "address": f"ベンチ市{i}",
                        "household": "alone",
                        "risk_level": ("high", "medium", "low")[i % 3],
                        "support_needs": "",
                        "status": "active",
                        "last_contact_at": last,
                        "created_at": NOW - timedelta(days=400),
                        "updated_at": NOW,
                        "feed_seq": 1,
                    }
                )
                for k in range(NOTES_PER_RESIDENT):
                    at = (
                        last
                        if k == 0
                        else NOW - timedelta(days=rng.randrange(120), minutes=rng.randrange(1440))
                    )
                    rows_n.append(
                        {
                            "id": uuid.uuid4().hex,
                            "org_id": org_id,
                            "resident_id": rid,
                            "author_id": coordinator_id,
                            "method": rng.choice(METHODS),
                            "outcome": "met_well" if k == 0 else rng.choice(OUTCOMES),
                            "warning_signs": [],
                            "body": "",
                            "visibility": "team",
                            "follow_up_needed": False,
                            "occurred_at": at,
                            "received_at": at,
                            "created_at": NOW,
                            "updated_at": NOW,
                            "feed_seq": 1,
                        }
                    )
            await session.execute(insert(Resident), rows_r)
            for n_start in range(0, len(rows_n), CHUNK):
                await session.execute(insert(ContactNote), rows_n[n_start : n_start + CHUNK])
    if config.get_engine().dialect.name == "postgresql":
        async with config.get_engine().connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    return org_id, coordinator_id


async def _best_ms(config: Any, work: Callable[[Any], Awaitable[Any]], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        async with session_scope(config) as session:
            started = time.perf_counter()
            await work(session)
            best = min(best, time.perf_counter() - started)
    return best * 1000


async def _bench(backend: str, scale: float, runs: int) -> None:
    residents = int(100_000 * scale)
    url, cleanup = await _create_database(backend, f"reports_{residents}")
    settings = Settings(environment="test", database_url=url, db_pool_disabled=True, secret_key="x" * 40)
    config = create_db_config(settings)
    try:
        started = time.perf_counter()
        org_id, user_id = await _generate(config, residents, random.Random(11))
        print(
            f"[{backend}] town: {residents:,} residents, {residents * NOTES_PER_RESIDENT:,} notes "
            f"({time.perf_counter() - started:.0f} s to build)"
        )
        principal = Principal(user_id=user_id, org_id=org_id, role=Role.COORDINATOR)
        f = working_list.WorkingListFilter()
        org = None
        async with session_scope(config) as session:
            org = await session.get_one(Organisation, org_id)
        cut = working_list.cutoffs(principal, org, None, NOW)
        period = coverage.period_of(principal, None, None)

        async def page(session: Any) -> Any:
            return await working_list.working_list(session, principal, f, 0, 50)

        async def bare_overdue(session: Any) -> Any:
            basis = func.coalesce(Resident.last_contact_at, Resident.created_at)
            clauses = [(Resident.risk_level == r) & (basis < at) for r, at in cut.before.items()]
            query = select(func.count()).where(Resident.org_id == org_id, Resident.status == "active")
            return await session.scalar(query.where(or_(*clauses)))

        async def report(session: Any) -> Any:
            return await coverage.coverage(session, principal, period, None)

        async def bare_coverage(session: Any) -> Any:
            return (
                await session.execute(
                    select(Resident.district_id, ContactNote.method, func.count(Resident.id.distinct()))
                    .join(ContactNote, ContactNote.resident_id == Resident.id)
                    .where(
                        Resident.org_id == org_id,
                        ContactNote.occurred_at >= period.start,
                        ContactNote.occurred_at < period.end,
                    )
                    .group_by(Resident.district_id, ContactNote.method)
                )
            ).all()

        async def export(session: Any) -> int:
            """As GET /reports/working-list?format=csv sends it: ids and the audit event in the
            request's session, then the file streamed batch by batch; returns its size."""
            ids, plan = await working_list.export_plan(session, principal, f)

            async def batches() -> Any:
                async for rows in working_list.export_rows(config, principal, ids, plan):
                    yield csv_export.working_list_cells(rows, "ja", principal.zone)

            size = 0
            async for chunk in csv_export.csv_chunks(csv_export.working_list_headers("ja"), batches()):
                size += len(chunk)
            return size

        async def bare_export(session: Any) -> Any:
            basis = func.coalesce(Resident.last_contact_at, Resident.created_at)
            clauses = [(Resident.risk_level == r) & (basis < at) for r, at in cut.before.items()]
            return (
                await session.execute(
                    select(Resident.name, Resident.kana, Resident.address, Resident.last_contact_at).where(
                        Resident.org_id == org_id, Resident.status == "active", or_(*clauses)
                    )
                )
            ).all()

        for label, ours, bare in (
            ("working list, first page", page, bare_overdue),
            ("coverage, 30 days, all districts", report, bare_coverage),
            ("working list CSV, every row", export, bare_export),
        ):
            ours_ms = await _best_ms(config, ours, runs)
            bare_ms = await _best_ms(config, bare, runs)
            print(
                f"[{backend}] {label:34s} {ours_ms:9.1f} ms   bare query {bare_ms:8.1f} ms   ratio {ours_ms / bare_ms:5.2f}"
            )
        tracemalloc.start()
        async with session_scope(config) as session:
            size = await export(session)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"[{backend}] CSV export (streamed): {size / 1e6:.1f} MB file, peak Python memory {peak / 1e6:.0f} MB"
        )
    finally:
        await config.get_engine().dispose()
        clock.reset()
        await _drop_database(backend, cleanup)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 100,000 residents")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--runs", type=int, default=3, help="best of N")
    args = parser.parse_args()
    asyncio.run(_bench(args.db, args.scale, args.runs))


if __name__ == "__main__":
    main()
