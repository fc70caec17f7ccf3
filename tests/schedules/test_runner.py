"""Running the jobs: the scheduler's configuration, the app lifespan and `mimamori worker --once`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from api.app import create_app
from domain.clock import clock
from domain.enums import Role
from domain.models import Visit, VisitPlan
from domain.settings import get_settings
from schedules.runner import JOBS, build_scheduler
from tests.factories import make_district, make_org, make_resident, make_user


def test_scheduler_jobs_have_stable_ids_timezone_misfire_grace_and_coalescing(db_config) -> None:
    scheduler = build_scheduler(db_config, "Asia/Tokyo")
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "schedules.expand_plans",
        "schedules.sweep",
        "schedules.contact_gaps",
        "schedules.follow_sight",
        "notifications.dispatch",
    }
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 60
        assert str(job.trigger.timezone) == "Asia/Tokyo"
    assert str(scheduler.timezone) == "Asia/Tokyo"


async def test_app_lifespan_starts_the_scheduler_only_when_asked(settings) -> None:
    app = create_app(settings.model_copy(update={"run_scheduler": True}))
    async with AsyncTestClient(app=app):
        scheduler = app.state.scheduler
        assert scheduler.running and {j.id for j in scheduler.get_jobs()} == {s.id for s in JOBS}
    assert not scheduler.running
    quiet = create_app(settings)
    async with AsyncTestClient(app=quiet):
        assert getattr(quiet.state, "scheduler", None) is None


async def _seed(db) -> None:
    clock.set(datetime(2026, 11, 1, 0, 0, tzinfo=UTC))  # Sunday 09:00 JST
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        user = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        resident = await make_resident(session, org, district)
        # A plan written without expansion (as an import would): the worker expands it.
        session.add(
            VisitPlan(
                org_id=org.id,
                resident_id=resident.id,
                assignee_id=user.id,
                rrule="FREQ=WEEKLY",
                starts_on=date(2026, 11, 1),
                window_start=time(9),
                window_end=time(17),
            )
        )


def test_worker_once_runs_every_job_and_exits(settings, db, monkeypatch) -> None:
    import asyncio

    asyncio.run(_seed(db))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", settings.secret_key)
    get_settings.cache_clear()
    from api.cli import main

    try:
        result = CliRunner().invoke(main, ["worker", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines] == [s.id for s in JOBS]
    assert "notifications.dispatch: 0" in lines  # the dispatcher is not built yet: quietly nothing

    async def count() -> int:
        async with db() as session:
            return int(await session.scalar(select(func.count(Visit.id))))

    assert asyncio.run(count()) == 9  # Sundays 1 Nov … 27 Dec: eight weeks ahead


async def test_the_server_runs_its_jobs_at_start_up_not_an_interval_later(settings, db) -> None:
    """A fresh install shows its plans' visits at once (issue #10, finding 7)."""
    import asyncio

    await _seed(db)
    app = create_app(settings.model_copy(update={"run_scheduler": True}))

    async def count() -> int:
        async with db() as session:
            return int(await session.scalar(select(func.count(Visit.id))))

    async with AsyncTestClient(app=app):
        for _ in range(150):  # up to 30 s on a busy machine; the landed code waited an hour
            if await count():
                break
            await asyncio.sleep(0.2)
        jobs = app.state.scheduler.get_jobs()
    assert await count() == 9  # the weekly plan expanded eight weeks ahead, without waiting an hour
    assert {j.id for j in jobs} == {s.id for s in JOBS}  # and each job stays on its interval


async def test_stopping_interrupts_a_running_job_quietly(db_config, caplog) -> None:
    """A stop (SIGTERM, redeploy) during a long expansion rolls that run back and says so once, at
    INFO — no traceback in the operator's log, no task left to the event loop's teardown."""
    import asyncio
    import logging

    from schedules.runner import JobSpec, run_job, stop

    started = asyncio.Event()

    async def long_expansion(_config) -> None:
        started.set()
        await asyncio.Event().wait()

    spec = JobSpec("test.long_expansion", long_expansion, 3600, 60)
    scheduler = build_scheduler(db_config, "Asia/Tokyo")
    caplog.set_level(logging.INFO, logger="mimamori.schedules")
    run = asyncio.create_task(run_job(spec, db_config))
    await started.wait()
    await stop(scheduler, grace_seconds=5)
    assert run.done() and run.result() is None
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "mimamori.schedules"]
    assert messages == [(logging.INFO, "job interrupted by shutdown")]


async def test_stopping_just_after_a_run_was_submitted_logs_no_error(db_config, caplog) -> None:
    """`make run` stopped in the second a start-up job is handed to APScheduler: the run had not
    begun, and APScheduler's shutdown used to cancel it and log 'Error running job' with a
    CancelledError traceback (seen in CI). Stopping now lets it begin, then interrupts it quietly."""
    import asyncio
    import logging

    from schedules.runner import stop

    caplog.set_level(logging.INFO)
    for turns in range(6):
        scheduler = build_scheduler(db_config, "Asia/Tokyo")
        scheduler.start()  # the first job is due at once: it is submitted within a turn or two
        for _ in range(turns):
            await asyncio.sleep(0)
        await stop(scheduler, grace_seconds=5)
        await asyncio.sleep(0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
