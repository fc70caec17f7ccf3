"""Reports on a generated town (run by hand, not by the test suite).

    python -m bench.reports_bench                 # 100,000 residents, 1,000,000 notes, PostgreSQL
    python -m bench.reports_bench --scale 0.1     # 10,000 residents, 100,000 notes
    python -m bench.reports_bench --db sqlite --scale 0.02
    python -m bench.reports_bench --scale 0.1 --explain   # and the reports' query plans
    python -m bench.reports_bench --scale 1 --runs 3 --no-exports   # the reports only

The town (bench/reports_town.py) is built once per size in a PostgreSQL database of its own and
reused by later runs (`--fresh` rebuilds it).

Times, as the endpoints run them (the service functions they call, with the application's
connection pool), each beside a bare aggregate query over the same rows measured in the same run
(the machines are shared and noisy: read the ratio, not the time); best of `--runs`, ours and
bare alternating run by run:

* working list, first page (50), as a coordinator of the whole town and as a commissioner (consent
  checked per resident). Bare: `count(*)` over the same rows — active, visible to the caller, and
  overdue by the same per-risk cut-offs on the same "last contact per resident" the list uses.
  That last contact is `residents.last_contact_at`, which the contact-note path keeps as the
  newest note in which the person was reached, so neither the list nor the bare query aggregates
  the notes to find it; the list reads notes only for the method of the 50 shown.
* coverage, 30 days, every district. Bare (a): residents reached per district and method in the
  period — `count(DISTINCT resident)` over the same rows the report reads for it: the notes of
  the period, not deleted, in which the person was reached, joined to the active, not deleted
  residents of the districts asked for. Bare (b): since the report also counts every resident,
  every assignment and every consent of the town, (a) plus one plain GROUP BY over each of those
  row sets. Both bare queries run with the report's transaction settings
  (`coverage.report_memory`: work_mem), so neither side spills where the other does not.
* the whole working list and the whole resident list as CSV, as the endpoints stream them: time,
  file size, peak Python memory (tracemalloc, a separate run) and the process's peak resident set
  size during the export (sampled every 5 ms) above its size before.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from litestar.response import Stream
from sqlalchemy import and_, delete, event, func, or_, select, text

from api.reports import coverage, csv_export, publication, trends, working_list
from api.residents import exports as resident_exports
from api.residents import service as resident_service
from bench.reports_town import NOTES_PER_RESIDENT, NOW, Town, postgres_town, sqlite_town
from domain.access import Principal, visible_residents
from domain.clock import clock
from domain.db import create_db_config, session_scope
from domain.enums import Role
from domain.models import Assignment, Consent, ContactNote, Organisation, PublishedStatistics, Resident
from domain.settings import Settings

PAGE = 50


async def _best_ms(
    config: Any, work: Callable[[Any], Awaitable[Any]], runs: int, *, warm_up: bool = True
) -> float:
    """The best of `runs`, after one run not counted (the pool's connections opened, the
    statements prepared, the pages cached, as in a running server)."""
    best = float("inf")
    if warm_up:
        async with session_scope(config) as session:
            await work(session)
    for _ in range(runs):
        async with session_scope(config) as session:
            started = time.perf_counter()
            await work(session)
            best = min(best, time.perf_counter() - started)
    return best * 1000


async def _best_pair_ms(
    config: Any, ours: Callable[[Any], Awaitable[Any]], bare: Callable[[Any], Awaitable[Any]], runs: int
) -> tuple[float, float]:
    """The best of `runs` of each, the two alternating run by run (one uncounted warm-up each),
    so that both meet the same load on a shared machine."""
    best = [float("inf"), float("inf")]
    for counted in [False] + [True] * runs:
        for i, work in enumerate((ours, bare)):
            async with session_scope(config) as session:
                started = time.perf_counter()
                await work(session)
                if counted:
                    best[i] = min(best[i], time.perf_counter() - started)
    return best[0] * 1000, best[1] * 1000


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _rss() -> int:
    """The process's resident set size now, bytes (Linux)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096
    except OSError:
        return 0


async def _peak_rss(work: Awaitable[Any]) -> tuple[Any, int, int]:
    """`work`'s result, the RSS before it and the highest RSS seen while it ran."""
    before = _rss()
    peak = before
    done = False

    async def sample() -> None:
        nonlocal peak
        while not done:
            peak = max(peak, _rss())
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    try:
        result = await work
    finally:
        done = True
        await sampler
    return result, before, max(peak, _rss())


def _overdue(cut: working_list.Cutoffs) -> Any:
    basis = func.coalesce(Resident.last_contact_at, Resident.created_at)
    return or_(*((Resident.risk_level == r) & (basis < at) for r, at in cut.before.items()))


async def _explain(config: Any, principal: Principal, cut: working_list.Cutoffs) -> None:
    f = working_list.WorkingListFilter()
    query = working_list.overdue_query(principal, f, cut)
    never, reached = working_list.page_parts(query, False, cut)
    statements = {
        "count": query.with_only_columns(
            func.count(), func.count(Resident.last_contact_at), maintain_column_froms=True
        ),
        "page, never reached part": never.limit(PAGE),
        "page, reached part": reached.limit(PAGE),
        "page, reached part, newest first": working_list.page_parts(query, True, cut)[0].limit(PAGE),
    }
    async with session_scope(config) as session:
        for label, statement in statements.items():
            compiled = statement.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
            plan = await session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))
            print(f"--- {principal.role} {label}")
            print("\n".join(row[0] for row in plan))


async def _explain_coverage(config: Any, principal: Principal, period: coverage.Period) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) each statement the coverage report runs, as it ran them (the
    statements are recorded during one report, then explained in a transaction with the same
    settings)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") or statement.lstrip().startswith("WITH"):
            seen.append((statement, params))

    engine = config.get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with session_scope(config) as session:
            await coverage.coverage(session, principal, period, None)
            await session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    async with session_scope(config) as session:
        await coverage.report_memory(session)
        conn = await session.connection()
        for statement, params in seen:
            plan = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params)
            print(f"--- coverage: {' '.join(statement.split())[:100]}")
            print("\n".join(row[0] for row in plan))


async def _stream_size(stream: Stream) -> int:
    size = 0
    async for chunk in stream.iterator:  # type: ignore[attr-defined]
        size += len(chunk)
    return size


async def _bench(
    backend: str,
    scale: float,
    runs: int,
    fresh: bool,
    explain: bool,
    exports: bool = True,
    suppression_only: bool = False,
) -> None:
    residents = int(100_000 * scale)
    rng = random.Random(11)
    print(f"[{backend}] load average before: {_loadavg()}", flush=True)
    cleanup: Path | None = None
    if backend == "postgresql":
        town: Town = await postgres_town(residents, rng, fresh)
    else:
        town, cleanup = await sqlite_town(residents, rng)
    built = "reused" if town.built_s is None else f"built in {town.built_s:.0f} s"
    print(
        f"[{backend}] town: {residents:,} residents, {residents * NOTES_PER_RESIDENT:,} notes ({built})",
        flush=True,
    )
    clock.set(NOW)
    settings = Settings(environment="test", database_url=town.url, secret_key="x" * 40)
    config = create_db_config(settings)
    try:
        coordinator = Principal(user_id=town.coordinator_id, org_id=town.org_id, role=Role.COORDINATOR)
        commissioner = Principal(
            user_id=town.commissioner_id,
            org_id=town.org_id,
            role=Role.COMMISSIONER,
            district_ids=frozenset({town.district_id}),
        )
        async with session_scope(config) as session:
            # a kept town keeps the last run's publications: every run publishes its months anew
            await session.execute(
                delete(PublishedStatistics).where(PublishedStatistics.org_id == town.org_id)
            )
        async with session_scope(config) as session:
            org = await session.get_one(Organisation, town.org_id)
            cut = working_list.cutoffs(coordinator, org, None, NOW)
        period = coverage.period_of(coordinator, None, None)
        async with session_scope(config) as session:
            district_ids = [d.id for d in await coverage.districts_in_scope(session, coordinator, None)]
        f = working_list.WorkingListFilter()
        if explain and backend == "postgresql":
            await _explain(config, coordinator, cut)
            await _explain(config, commissioner, cut)
            await _explain_coverage(config, coordinator, period)

        def page_of(principal: Principal) -> Callable[[Any], Awaitable[Any]]:
            async def page(session: Any) -> Any:
                return await working_list.working_list(session, principal, f, 0, PAGE)

            return page

        def bare_count_of(principal: Principal) -> Callable[[Any], Awaitable[Any]]:
            async def bare(session: Any) -> Any:
                return await session.scalar(
                    select(func.count()).where(
                        visible_residents(principal, cut.today), Resident.status == "active", _overdue(cut)
                    )
                )

            return bare

        async def report(session: Any) -> Any:
            return await coverage.coverage(session, coordinator, period, None)

        # The bare queries read the same rows as the report: active residents of the town's
        # districts, notes of the period not deleted in which the person was reached; and run
        # with the same transaction settings (`coverage.report_memory`: work_mem).
        in_town = and_(
            Resident.org_id == town.org_id,
            Resident.deleted_at.is_(None),
            Resident.district_id.in_(district_ids),
        )

        async def bare_coverage(session: Any) -> Any:
            """Residents reached per district and method: count(DISTINCT resident)."""
            await coverage.report_memory(session)
            return (
                await session.execute(
                    select(Resident.district_id, ContactNote.method, func.count(Resident.id.distinct()))
                    .join(ContactNote, ContactNote.resident_id == Resident.id)
                    .where(
                        in_town,
                        Resident.status == "active",
                        ContactNote.org_id == town.org_id,
                        ContactNote.deleted_at.is_(None),
                        ContactNote.outcome.not_in(coverage.NOT_REACHED),
                        ContactNote.occurred_at >= period.start,
                        ContactNote.occurred_at < period.end,
                    )
                    .group_by(Resident.district_id, ContactNote.method)
                )
            ).all()

        async def bare_coverage_all(session: Any) -> Any:
            """The notes of the period as above, and one plain GROUP BY over each other row set
            the report counts: the residents, the assignments, the consents."""
            await bare_coverage(session)
            not_ended = and_(in_town, Resident.status != "ended")
            await session.execute(
                select(Resident.district_id, Resident.status, Resident.risk_level, func.count())
                .where(not_ended)
                .group_by(Resident.district_id, Resident.status, Resident.risk_level)
            )
            await session.execute(
                select(Resident.district_id, Assignment.user_id, func.count())
                .join(Assignment, Assignment.resident_id == Resident.id)
                .where(not_ended, Assignment.ended_at.is_(None), Assignment.deleted_at.is_(None))
                .group_by(Resident.district_id, Assignment.user_id)
            )
            consented = select(Consent.resident_id).where(Consent.org_id == town.org_id)
            await session.execute(
                select(Resident.district_id, func.count())
                .where(in_town, Resident.status == "active", Resident.id.not_in(consented))
                .group_by(Resident.district_id)
            )

        async def working_list_csv(session: Any) -> int:
            """As GET /reports/working-list?format=csv sends it: ids and the audit event in the
            request's session, then the file streamed batch by batch; returns its size."""
            ids, plan = await working_list.export_plan(session, coordinator, f)
            await session.commit()  # as the request does before the body is sent

            async def batches() -> Any:
                async for rows in working_list.export_rows(config, coordinator, ids, plan):
                    yield csv_export.working_list_cells(rows, "ja", coordinator.zone)

            size = 0
            async for chunk in csv_export.csv_chunks(
                csv_export.working_list_headers("ja"), batches(), coordinator.zone
            ):
                size += len(chunk)
            return size

        async def residents_csv(session: Any) -> int:
            """As GET /residents?format=csv sends it."""
            stream = await resident_exports.residents_file(
                session, coordinator, resident_service.ResidentFilter(), "ja", config
            )
            await session.commit()
            return await _stream_size(stream)

        async def trends_of(session: Any, k: int | None) -> Any:
            """suppress=true: the last 12 ended months, published by this request (rolled back, so
            that every run publishes them); without: the last 12 weeks."""
            if k:
                out = await trends.monthly(session, coordinator, 12, None, k, settle_days=0)
                await session.rollback()
                return out
            return await trends.weekly(session, coordinator, 12, None)

        # suppressed coverage is published for whole ended months only: the last one, both ways
        month = coverage.ended_months(coordinator, 1)[0]

        async def coverage_csv_of(session: Any, k: int | None) -> Any:
            """As GET /reports/coverage?format=csv counts it (the file's writing left out)."""
            if k:  # the month's first request publishes it (rolled back: every run does)
                out = await publication.suppressed_coverage(
                    session, coordinator, month, None, k, settle_days=0, purpose="export"
                )
                await session.rollback()
                return out
            return await coverage.coverage(session, coordinator, month, None, purpose="export")

        async def published_csv_of(session: Any) -> Any:
            """A month already published: read from published_statistics."""
            return await publication.suppressed_coverage(
                session, coordinator, month, None, 5, settle_days=0, purpose="export"
            )

        # suppress=true beside suppress=false, both as the endpoints run them (k = 5)
        suppressed_rows = (
            (
                "trends, 12 months suppressed vs 12 weeks",
                lambda s: trends_of(s, 5),
                lambda s: trends_of(s, None),
            ),
            (
                "coverage CSV of a month, suppress vs not",
                lambda s: coverage_csv_of(s, 5),
                lambda s: coverage_csv_of(s, None),
            ),
        )
        for label, ours, plain in suppressed_rows:
            ours_ms, plain_ms = await _best_pair_ms(config, ours, plain, runs)
            print(
                f"[{backend}] {label:40s} {ours_ms:9.1f} ms   unsuppressed {plain_ms:8.1f} ms   "
                f"ratio {ours_ms / plain_ms:5.2f}",
                flush=True,
            )
        # last: it stores the month's publication, which the rows above must not find
        published_ms, plain_ms = await _best_pair_ms(
            config, published_csv_of, lambda s: coverage_csv_of(s, None), runs
        )
        print(
            f"[{backend}] {'coverage CSV of a published month':40s} {published_ms:9.1f} ms   "
            f"unsuppressed {plain_ms:8.1f} ms   ratio {published_ms / plain_ms:5.2f}",
            flush=True,
        )
        if suppression_only:
            print(f"[{backend}] load average after: {_loadavg()}")
            return
        rows = (
            ("working list, first page (coordinator)", page_of(coordinator), bare_count_of(coordinator)),
            ("working list, first page (commissioner)", page_of(commissioner), bare_count_of(commissioner)),
            ("coverage, 30 days, all districts", report, bare_coverage),
            ("coverage, vs bare over all its row sets", report, bare_coverage_all),
        )
        for label, ours, bare in rows:
            ours_ms, bare_ms = await _best_pair_ms(config, ours, bare, runs)
            print(
                f"[{backend}] {label:40s} {ours_ms:9.1f} ms   bare query {bare_ms:8.1f} ms   "
                f"ratio {ours_ms / bare_ms:5.2f}",
                flush=True,
            )
        async with session_scope(config) as session:
            listed = await bare_count_of(coordinator)(session)
        for label, export in (
            (f"working list CSV, whole town ({listed:,} rows)", working_list_csv),
            (f"residents CSV, whole town ({residents:,} rows)", residents_csv),
        )[: 2 if exports else 0]:
            export_ms = await _best_ms(config, export, max(1, runs - 1), warm_up=False)
            async with session_scope(config) as session:
                size, rss_before, rss_peak = await _peak_rss(export(session))
            tracemalloc.start()
            async with session_scope(config) as session:
                await export(session)
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"[{backend}] {label:40s} {export_ms / 1000:6.2f} s   {size / 1e6:.1f} MB file   "
                f"peak Python memory {traced_peak / 1e6:.0f} MB   "
                f"RSS {rss_before / 1e6:.0f} -> {rss_peak / 1e6:.0f} MB",
                flush=True,
            )
        print(f"[{backend}] load average after: {_loadavg()}")
    finally:
        await config.get_engine().dispose()
        clock.reset()
        if cleanup is not None:
            shutil.rmtree(cleanup.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 100,000 residents")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--runs", type=int, default=5, help="best of N")
    parser.add_argument("--fresh", action="store_true", help="rebuild the kept PostgreSQL town")
    parser.add_argument("--explain", action="store_true", help="print the reports' query plans")
    parser.add_argument("--no-exports", action="store_true", help="skip the whole-town CSV exports")
    parser.add_argument(
        "--suppression-only",
        action="store_true",
        help="only the suppressed trends (12 ended months) and a month's coverage CSV beside the unsuppressed ones",
    )
    args = parser.parse_args()
    asyncio.run(
        _bench(
            args.db,
            args.scale,
            args.runs,
            args.fresh,
            args.explain,
            not args.no_exports,
            args.suppression_only,
        )
    )


if __name__ == "__main__":
    main()
