"""Several workers and crashed workers: no alert lost, none doubled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.clock import clock
from domain.db import create_db_config
from domain.enums import ConsentRecipient, Role, VisitStatus
from domain.models import Alert, AlertEvent, Notification, Visit
from schedules import alerting, jobs, ladder
from tests.factories import give_consent, make_district, make_org, make_resident, make_user

NOW = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)  # 12:00 JST
VISITS = 60


async def _overdue_town(db) -> list[str]:
    """VISITS residents whose visit window closed two days ago with nothing recorded."""
    clock.set(NOW - timedelta(days=3))
    ids = []
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        await make_user(session, org, Role.COORDINATOR, "coord")
        await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        for n in range(VISITS):
            resident = await make_resident(session, org, district, name=f"住民{n}")
            await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
            visit = Visit(
                org_id=org.id,
                occurrence_key=f"test:{n}",
                resident_id=resident.id,
                due_start=NOW - timedelta(days=2, hours=6),
                due_end=NOW - timedelta(days=2),
                check_step=ladder.WINDOW_CLOSED,
                next_check_at=NOW - timedelta(days=2),
            )
            session.add(visit)
            await session.flush()
            ids.append(visit.id)
    clock.set(NOW)
    return ids


async def _assert_each_visit_alerted_once(db, visit_ids: list[str]) -> None:
    async with db() as session:
        per_visit = dict(
            (await session.execute(select(Alert.visit_id, func.count()).group_by(Alert.visit_id)))
            .tuples()
            .all()
        )
        assert per_visit == dict.fromkeys(visit_ids, 1)
        statuses = set(await session.scalars(select(Visit.status)))
        assert statuses == {VisitStatus.MISSED}
        # Commissioner and coordinator told once per alert; "created" once per alert.
        assert await session.scalar(select(func.count(Notification.id))) == 2 * len(visit_ids)
        created = await session.scalar(select(func.count()).where(AlertEvent.action == "created"))
        assert created == len(visit_ids)


@pytest.mark.postgres_only
async def test_two_workers_sweeping_at_once(db, settings) -> None:
    visit_ids = await _overdue_town(db)
    first = create_db_config(settings.model_copy(update={"db_pool_disabled": False}))
    second = create_db_config(settings.model_copy(update={"db_pool_disabled": False}))
    try:
        done = await asyncio.gather(
            jobs.sweep_visits(first, batch=7),
            jobs.sweep_visits(second, batch=7),
            jobs.sweep_visits(first, batch=11),
            jobs.sweep_visits(second, batch=5),
        )
    finally:
        await first.get_engine().dispose()
        await second.get_engine().dispose()
    # Each visit was claimed by exactly one worker (SKIP LOCKED), whichever it was.
    assert sum(done) == VISITS
    await _assert_each_visit_alerted_once(db, visit_ids)


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, the open transaction never commits."""


async def test_worker_killed_mid_batch_then_restarted(db, db_config, monkeypatch) -> None:
    visit_ids = await _overdue_town(db)
    real_raise = alerting.open_for
    calls = 0

    async def dying_raise(*args, **kwargs):
        nonlocal calls
        calls += 1
        raised = await real_raise(*args, **kwargs)
        if calls == 3:  # the third batch of ten opened its alerts, then the worker died
            raise WorkerKilled()
        return raised

    monkeypatch.setattr(alerting, "open_for", dying_raise)
    with pytest.raises(WorkerKilled):
        await jobs.sweep_visits(db_config, batch=10)
    async with db() as session:
        # Two whole batches committed; the third was lost with the worker.
        assert await session.scalar(select(func.count(Alert.id))) == 20
        assert await session.scalar(select(func.count()).where(Visit.status == VisitStatus.MISSED)) == 20
    monkeypatch.setattr(alerting, "open_for", real_raise)
    assert await jobs.sweep_visits(db_config, batch=10) == VISITS - 20
    assert await jobs.sweep_visits(db_config, batch=10) == 0
    await _assert_each_visit_alerted_once(db, visit_ids)
