"""Visit plans: create, edit, pause, resume, end, and expansion into visits.

Expansion is idempotent: every visit of a plan has the key `<rule date>/r<plan revision>`, unique
per plan, and rows are inserted with ON CONFLICT DO NOTHING. Editing the cadence or window bumps the
revision, cancels the plan's future untouched visits and re-expands; visits already under way, done
or missed are never rewritten. Pausing and ending cancel future visits.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain import feed
from domain.base import new_id
from domain.clock import utcnow
from domain.enums import HolidayRule, PlanStatus, ResidentStatus, VisitKind, VisitStatus
from domain.errors import Conflict
from domain.events import on_resident_status_changed
from domain.models import Organisation, Resident, Visit, VisitPlan
from domain.org_settings import rules_for, timezone_of
from schedules import alerting, ladder
from schedules.assignees import plan_assignee
from schedules.recurrence import (
    MAX_WINDOW_DAYS,
    Cadence,
    Closures,
    Occurrence,
    RuleTooExpensive,
    occurrences,
    off_loop,
    validate_cadence,
)

log = logging.getLogger("mimamori.schedules")

CADENCE_FIELDS = (
    "rrule",
    "starts_on",
    "ends_on",
    "window_start",
    "window_end",
    "window_days",
    "holiday_rule",
)


def closures_of(org: Organisation) -> Closures:
    rules = rules_for(org)
    return Closures(year_end=rules.year_end_closure, days=frozenset(rules.closure_days))


def cadence_of(plan: VisitPlan, closures: Closures = Closures()) -> Cadence:
    return Cadence(
        rrule=plan.rrule,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        window_start=plan.window_start,
        window_end=plan.window_end,
        window_days=plan.window_days,
        holiday_rule=plan.holiday_rule,
        closures=closures,
    )


async def create_plan(
    session: AsyncSession, org: Organisation, resident: Resident, fields: dict[str, Any], actor_id: str
) -> VisitPlan:
    plan = VisitPlan(org_id=org.id, resident_id=resident.id, created_by=actor_id, revision=1, **fields)
    await off_loop(validate_cadence, cadence_of(plan))
    plan.assignee_id = await plan_assignee(session, org.id, resident, plan.assignee_id)
    session.add(plan)
    await session.flush()
    await expand_plan(session, plan, org, utcnow())
    return plan


async def update_plan(
    session: AsyncSession, plan: VisitPlan, org: Organisation, changes: dict[str, Any]
) -> VisitPlan:
    if plan.status == PlanStatus.ENDED:
        raise Conflict("plan.ended")
    before = plan.assignee_id
    for name, value in changes.items():
        setattr(plan, name, value)
    await off_loop(validate_cadence, cadence_of(plan))
    # An assignee set to null (or a plan stored without one) goes back to the resident's visitor.
    resident = await session.get_one(Resident, plan.resident_id)
    plan.assignee_id = await plan_assignee(session, org.id, resident, plan.assignee_id)
    now = utcnow()
    if any(name in CADENCE_FIELDS for name in changes):
        plan.revision += 1
        await cancel_future_visits(session, plan, now, started_too=False)
        plan.expanded_until = None
    elif plan.assignee_id != before:
        await _reassign_future_visits(session, plan, now)
    await session.flush()
    if plan.status == PlanStatus.ACTIVE:
        await expand_plan(session, plan, org, now)
    return plan


async def pause_plan(session: AsyncSession, plan: VisitPlan, reason: str) -> VisitPlan:
    if plan.status == PlanStatus.ENDED:
        raise Conflict("plan.ended")
    plan.status = PlanStatus.PAUSED
    plan.paused_reason = reason[:200]
    await cancel_future_visits(session, plan, utcnow(), started_too=True)
    plan.expanded_until = None
    return plan


async def resume_plan(session: AsyncSession, plan: VisitPlan, org: Organisation) -> VisitPlan:
    if plan.status != PlanStatus.PAUSED:
        raise Conflict("plan.not_paused")
    plan.status = PlanStatus.ACTIVE
    plan.paused_reason = None
    plan.expanded_until = None
    plan.revision += 1  # the cancelled visits keep their keys; the new ones get fresh ones
    await session.flush()
    await expand_plan(session, plan, org, utcnow())
    return plan


async def end_plan(session: AsyncSession, plan: VisitPlan, org: Organisation) -> VisitPlan:
    if plan.status == PlanStatus.ENDED:
        return plan
    now = utcnow()
    plan.status = PlanStatus.ENDED
    today = now.astimezone(timezone_of(org)).date()
    plan.ends_on = min(plan.ends_on or today, today) if plan.starts_on <= today else plan.starts_on
    await cancel_future_visits(session, plan, now, started_too=True)
    return plan


async def cancel_future_visits(
    session: AsyncSession, plan: VisitPlan, now: datetime, *, started_too: bool
) -> int:
    """Cancel the plan's untouched visits still ahead (and, when pausing or ending, the one under
    way). Done and missed visits and past ones stay as they were."""
    ahead = Visit.due_end > now if started_too else Visit.due_start > now
    result = await session.execute(
        update(Visit)
        .where(
            Visit.plan_id == plan.id,
            Visit.status == VisitStatus.PLANNED,
            Visit.fulfilled_by_note_id.is_(None),
            Visit.deleted_at.is_(None),
            ahead,
        )
        .values(
            status=VisitStatus.CANCELLED,
            check_step=None,
            next_check_at=None,
            updated_at=now,
            feed_seq=await feed.next_position(session, plan.org_id),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _reassign_future_visits(session: AsyncSession, plan: VisitPlan, now: datetime) -> None:
    await session.execute(
        update(Visit)
        .where(
            Visit.plan_id == plan.id,
            Visit.status == VisitStatus.PLANNED,
            Visit.deleted_at.is_(None),
            Visit.due_end > now,
        )
        .values(
            assignee_id=plan.assignee_id,
            updated_at=now,
            feed_seq=await feed.next_position(session, plan.org_id),
        )
        .execution_options(synchronize_session=False)
    )


def _insert_ignoring_duplicates(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(Visit)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["plan_id", "occurrence_key"])
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(Visit)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["plan_id", "occurrence_key"])
        )
    return insert(Visit).values(rows)  # pragma: no cover


def horizon_of(org: Organisation, now: datetime) -> date:
    return now.astimezone(timezone_of(org)).date() + timedelta(weeks=rules_for(org).expansion_weeks)


async def expand_plan(session: AsyncSession, plan: VisitPlan, org: Organisation, now: datetime) -> int:
    """Create the plan's visits up to the horizon. Safe to run any number of times. A rule too
    expensive to expand is refused (422) here: a person is editing it."""
    rows = await expansion_rows(session, plan, org, now, refuse_expensive=True)
    return await insert_visits(session, plan.org_id, rows)


async def insert_visits(session: AsyncSession, org_id: str, rows: list[dict[str, Any]]) -> int:
    """Insert expanded visits (one feed position for all), skipping occurrences that exist."""
    if not rows:
        return 0
    position = await feed.next_position(session, org_id)
    created = 0
    for chunk in range(0, len(rows), 500):
        part = [{**row, "feed_seq": position} for row in rows[chunk : chunk + 500]]
        result = await session.execute(_insert_ignoring_duplicates(session, part))
        created += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return created


def _occurrence_list(cadence: Cadence, zone: ZoneInfo, start: date, horizon: date) -> list[Occurrence]:
    return list(occurrences(cadence, zone, from_date=start, until_date=horizon))


async def expansion_rows(
    session: AsyncSession,
    plan: VisitPlan,
    org: Organisation,
    now: datetime,
    *,
    refuse_expensive: bool = False,
) -> list[dict[str, Any]]:
    """The visits a plan needs up to the horizon (not yet written); moves `expanded_until`."""
    if plan.status != PlanStatus.ACTIVE:
        return []
    resident = await session.get_one(Resident, plan.resident_id)
    if resident.status != ResidentStatus.ACTIVE or resident.deleted_at is not None:
        return []
    rules = rules_for(org)
    zone = timezone_of(org)
    horizon = horizon_of(org, now)
    today = now.astimezone(zone).date()
    start = max(plan.starts_on, today - timedelta(days=MAX_WINDOW_DAYS))
    if plan.expanded_until is not None:
        start = max(start, plan.expanded_until + timedelta(days=1))
    if start > horizon:
        return []
    # After an edit, resume or first expansion (expanded_until unset), occurrence dates already
    # served by a visit of an older revision (done, missed, under way) are kept; routine runs only
    # add days beyond the previous horizon, where the unique key alone prevents duplicates.
    kept = (
        set()
        if plan.expanded_until is not None
        else {
            key.split("/")[0]
            for key in await session.scalars(
                select(Visit.occurrence_key).where(
                    Visit.plan_id == plan.id,
                    Visit.status != VisitStatus.CANCELLED,
                    Visit.due_end > now - timedelta(days=MAX_WINDOW_DAYS + 1),
                )
            )
        }
    )
    try:
        found = await off_loop(_occurrence_list, cadence_of(plan, closures_of(org)), zone, start, horizon)
    except RuleTooExpensive:
        if refuse_expensive:
            raise
        # The hourly job: a rule stored before the limits existed (or a plan begun decades ago)
        # is skipped until it is edited, rather than failing the whole batch every hour.
        log.warning("plan rule too expensive to expand, skipped: plan %s", plan.id)
        found = []
    rows: list[dict[str, Any]] = []
    for occ in found:
        if occ.due_end <= now or occ.key_date.isoformat() in kept:
            continue
        visit = Visit(
            kind=VisitKind.PLANNED, due_start=occ.due_start, due_end=occ.due_end, status=VisitStatus.PLANNED
        )
        step, at = ladder.first_step(visit, org, rules, now)
        rows.append(
            {
                "id": new_id(),
                "org_id": plan.org_id,
                "plan_id": plan.id,
                "occurrence_key": f"{occ.key_date.isoformat()}/r{plan.revision}",
                "kind": VisitKind.PLANNED,
                "resident_id": plan.resident_id,
                "assignee_id": plan.assignee_id,
                "due_start": occ.due_start,
                "due_end": occ.due_end,
                "status": VisitStatus.PLANNED,
                "check_step": step,
                "next_check_at": at,
                "created_at": now,
                "updated_at": now,
            }
        )
    plan.expanded_until = horizon
    return rows


def _days_under(plan: VisitPlan, closures: Closures, zone: ZoneInfo, start: date) -> dict[date, date]:
    """Occurrence date → the day it happens, for the plan's expanded range (skipped ones absent)."""
    assert plan.expanded_until is not None
    cadence = cadence_of(plan, closures)
    return {
        o.key_date: o.local_date
        for o in occurrences(cadence, zone, from_date=start, until_date=plan.expanded_until)
    }


async def follow_closures(session: AsyncSession, org: Organisation, before: Closures, now: datetime) -> int:
    """The organisation changed its closure days: plans with a skip/shift rule whose expanded days
    come out differently are planned again under a new revision (future untouched visits cancelled,
    new ones expanded, as for a cadence edit); plans the change does not touch keep their visits."""
    after = closures_of(org)
    if after == before:
        return 0
    zone = timezone_of(org)
    today = now.astimezone(zone).date()
    replanned = 0
    for plan in await session.scalars(
        select(VisitPlan)
        .where(
            VisitPlan.org_id == org.id,
            VisitPlan.status == PlanStatus.ACTIVE,
            VisitPlan.holiday_rule != HolidayRule.NONE,
            VisitPlan.expanded_until.is_not(None),  # unexpanded plans meet the new rules anyway
        )
        .order_by(VisitPlan.id)
    ):
        start = max(plan.starts_on, today - timedelta(days=MAX_WINDOW_DAYS))
        try:
            same = await off_loop(_days_under, plan, before, zone, start) == await off_loop(
                _days_under, plan, after, zone, start
            )
        except RuleTooExpensive:
            continue  # the hourly job skips it too, until it is edited
        if same:
            continue
        plan.revision += 1
        await cancel_future_visits(session, plan, now, started_too=False)
        plan.expanded_until = None
        await session.flush()
        await insert_visits(session, plan.org_id, await expansion_rows(session, plan, org, now))
        replanned += 1
    return replanned


async def follow_resident_status(session: AsyncSession, resident: Resident) -> None:
    """Pausing (hospital, away) or ending a resident cancels every visit of theirs not yet over, at
    once, so phones drop them on their next pull (the change feed carries the cancellation).
    Ending also resolves their alerts as `resident_ended`. Resuming expands their active plans
    again under a new revision (the cancelled visits keep their occurrence keys). Plans paused for
    another reason (a refusal) stay paused."""
    now = utcnow()
    if resident.status == ResidentStatus.ENDED:
        await alerting.resolve_for_ended(session, resident)
    if resident.status != ResidentStatus.ACTIVE:
        await session.execute(
            update(Visit)
            .where(
                Visit.resident_id == resident.id,
                Visit.status == VisitStatus.PLANNED,
                Visit.fulfilled_by_note_id.is_(None),
                Visit.deleted_at.is_(None),
                Visit.due_end > now,
            )
            .values(
                status=VisitStatus.CANCELLED,
                check_step=None,
                next_check_at=None,
                updated_at=now,
                feed_seq=await feed.next_position(session, resident.org_id),
            )
            .execution_options(synchronize_session="fetch")
        )
        for plan in await _active_plans(session, resident):
            plan.expanded_until = None  # expansion restarts from today on resuming
        return
    org = await session.get_one(Organisation, resident.org_id)
    for plan in await _active_plans(session, resident):
        plan.expanded_until = None
        plan.revision += 1
        await session.flush()
        # Not refused here (a rule stored before the limits): the hourly job logs and skips it.
        await insert_visits(session, plan.org_id, await expansion_rows(session, plan, org, now))


async def _active_plans(session: AsyncSession, resident: Resident) -> list[VisitPlan]:
    return list(
        await session.scalars(
            select(VisitPlan)
            .where(VisitPlan.resident_id == resident.id, VisitPlan.status == PlanStatus.ACTIVE)
            .order_by(VisitPlan.id)
        )
    )


on_resident_status_changed(follow_resident_status)
