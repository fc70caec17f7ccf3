"""Running the jobs: APScheduler 3 in the server's lifespan (embedded default) or in
`mimamori worker` (production, with `MIMAMORI_RUN_SCHEDULER=false` on the API processes), and
`mimamori worker --once` for cron and operators. Either scheduler runs every job once at start-up,
then on its interval.

Exactly one kind of process should run the scheduler per deployment; even so, running several is
safe, because every job claims its rows through the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from domain.db import tolerate_asyncpg_cancel_race
from domain.metrics import JOB_FAILURES, JOB_SECONDS
from schedules import jobs

log = logging.getLogger("mimamori.schedules")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[SQLAlchemyAsyncConfig], Awaitable[Any]]
    seconds: int
    misfire_grace_seconds: int


# Stable ids (a restarted scheduler replaces, never duplicates); job functions at module level.
JOBS = (
    JobSpec("schedules.expand_plans", jobs.expand_plans, 60 * 60, 30 * 60),
    JobSpec("schedules.sweep", jobs.sweep, 60, 5 * 60),
    JobSpec("schedules.contact_gaps", jobs.detect_contact_gaps, 30 * 60, 30 * 60),
    JobSpec("schedules.follow_sight", jobs.follow_sight, 30 * 60, 30 * 60),
    JobSpec("notifications.dispatch", jobs.dispatch_notifications, 15, 60),
)


# Job runs in flight in this process, so that stopping can interrupt them while the database
# engine is still open (rather than leaving them to the event loop's teardown).
_running: set[asyncio.Task[Any]] = set()


async def run_job(spec: JobSpec, db_config: SQLAlchemyAsyncConfig) -> Any:
    task = asyncio.current_task()
    if task is not None:
        _running.add(task)
    started = time.perf_counter()
    try:
        result = await spec.func(db_config)
    except asyncio.CancelledError:
        # The process is stopping: the run's transaction is rolled back and every effect is
        # idempotent, so the next run (here or in another worker) takes the same work again.
        log.info("job interrupted by shutdown", extra={"job": spec.id})
        return None
    except Exception:
        # One failed run must not stop the scheduler; the next run takes the work again.
        log.exception("job failed", extra={"job": spec.id})
        JOB_FAILURES.labels(spec.id).inc()
        return None
    finally:
        if task is not None:
            _running.discard(task)
        JOB_SECONDS.labels(spec.id).observe(time.perf_counter() - started)
    log.debug("job done", extra={"job": spec.id, "result": result})
    return result


def build_scheduler(db_config: SQLAlchemyAsyncConfig, timezone: str = "UTC") -> AsyncIOScheduler:
    """Every job runs once as soon as the scheduler starts (a fresh install or a restart shows due
    visits, reminders and alerts at once, not an interval later), then on its interval. The first
    runs start a second apart in `JOBS` order (expansion first); a sweep that starts before a long
    expansion has finished takes the new visits on its next run, a minute later."""
    started = datetime.now(UTC)
    scheduler = AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    for position, spec in enumerate(JOBS):
        scheduler.add_job(
            run_job,
            trigger=IntervalTrigger(seconds=spec.seconds, timezone=timezone),
            args=[spec, db_config],
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.misfire_grace_seconds,
            next_run_time=started + timedelta(seconds=position),
        )
    return scheduler


async def run_once(db_config: SQLAlchemyAsyncConfig) -> dict[str, Any]:
    """Every job once, in order (expansion first so that new visits are swept)."""
    return {spec.id: await run_job(spec, db_config) for spec in JOBS}


async def stop(scheduler: AsyncIOScheduler, grace_seconds: float = 10) -> None:
    """Stop starting jobs, interrupt the runs in flight and wait (bounded) until they have rolled
    back — a stop during a long expansion is routine, not an error."""
    if scheduler.running:
        # Pause first: APScheduler's shutdown cancels a run it has submitted but not yet started,
        # and its executor logs that as an error with a traceback. One turn of the loop lets such
        # a run enter `run_job`, where an interruption is routine.
        scheduler.pause()
        await asyncio.sleep(0)
    in_flight = [task for task in _running if not task.done() and task is not asyncio.current_task()]
    if in_flight:
        tolerate_asyncpg_cancel_race()  # interrupting a query must not log an asyncpg race as an error
    for task in in_flight:
        task.cancel()
    if in_flight:
        await asyncio.wait(in_flight, timeout=grace_seconds)
    if scheduler.running:
        scheduler.shutdown(wait=False)


async def run_forever(db_config: SQLAlchemyAsyncConfig, timezone: str = "UTC") -> None:
    scheduler = build_scheduler(db_config, timezone)
    scheduler.start()  # needs the running loop: we are inside it
    try:
        await asyncio.Event().wait()
    finally:
        await stop(scheduler)
