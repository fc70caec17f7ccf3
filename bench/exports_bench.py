"""Peak memory of a whole-town export in each format (run by hand, not by the test suite).

    python -m bench.exports_bench                          # 5,000 and 20,000 residents, SQLite
    python -m bench.exports_bench --db postgresql --residents 20000

For each town size: the resident list and the contact notes (2 a resident) as a coordinator of
the whole town exports them (the functions GET /residents?format=… and GET /contact-notes?format=…
call), the body read to the end as the server sends it. Printed: file size, time, and the peak
Python memory while the file is made and sent (tracemalloc: everything Python allocates, XlsxWriter
included, as it is pure Python). Bounded memory means the peak does not grow with the town.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
import tracemalloc
from typing import Any

from api.contact_notes import exports as note_exports
from api.contact_notes.service import NoteFilter
from api.reports.export_files import EXPORT_FORMATS
from api.residents import exports as resident_exports
from api.residents.service import ResidentFilter
from bench import reports_bench
from bench.sched_bench import _create_database, _drop_database
from domain.access import Principal
from domain.clock import clock
from domain.db import create_db_config, session_scope
from domain.enums import Role
from domain.settings import Settings

NOTES_PER_RESIDENT = 2


async def _read(config: Any, make: Any) -> int:
    async with session_scope(config) as session:
        stream = await make(session)
    size = 0
    async for chunk in stream.iterator:
        size += len(chunk)
    return size


async def _measure(config: Any, make: Any) -> tuple[int, float, int]:
    """(file bytes, seconds, peak bytes) for one export read to its end: timed without tracing
    (tracemalloc slows XlsxWriter about five times), then again traced for the peak."""
    started = time.perf_counter()
    size = await _read(config, make)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    await _read(config, make)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size, elapsed, peak


async def _bench(backend: str, residents: int) -> None:
    reports_bench.NOTES_PER_RESIDENT = NOTES_PER_RESIDENT
    url, cleanup = await _create_database(backend, f"exports_{residents}")
    settings = Settings(environment="test", database_url=url, db_pool_disabled=True, secret_key="x" * 40)
    config = create_db_config(settings)
    try:
        started = time.perf_counter()
        org_id, user_id = await reports_bench._generate(config, residents, random.Random(7))
        print(
            f"[{backend}] town: {residents:,} residents, {residents * NOTES_PER_RESIDENT:,} notes "
            f"({time.perf_counter() - started:.0f} s to build)",
            flush=True,
        )
        principal = Principal(user_id=user_id, org_id=org_id, role=Role.COORDINATOR)
        for fmt in EXPORT_FORMATS:
            for label, make in (
                (
                    "residents",
                    lambda s, fmt=fmt: resident_exports.residents_file(
                        s, principal, ResidentFilter(), "ja", config, fmt
                    ),
                ),
                (
                    "contact notes",
                    lambda s, fmt=fmt: note_exports.notes_file(s, principal, NoteFilter(), "ja", config, fmt),
                ),
            ):
                size, seconds, peak = await _measure(config, make)
                print(
                    f"[{backend}] {residents:>6,} residents  {label:13s} {fmt:9s} "
                    f"{size / 1e6:6.1f} MB file  {seconds:5.1f} s  peak Python memory {peak / 1e6:5.1f} MB",
                    flush=True,
                )
    finally:
        await config.get_engine().dispose()
        clock.reset()
        await _drop_database(backend, cleanup)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--residents", type=int, nargs="+", default=[5_000, 20_000])
    args = parser.parse_args()
    for residents in args.residents:
        asyncio.run(_bench(args.db, residents))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (all runs, town generation included): {rss:.0f} MB")


if __name__ == "__main__":
    main()
