"""Visit plans for a person: who may plan for whom, the cadence a request asks for, and the
create / preview / edit / end operations with their audit events. The plans API
(`schedules.controllers.PlanController`) and the console's plan editor both call these, so the
scope rule (`domain.access.plannable_residents`), the defaults and the validation are one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.access import Principal, plannable_residents, require_role
from domain.clock import utcnow
from domain.enums import Role
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.models import Organisation, Resident, VisitPlan
from domain.org_settings import rules_for, timezone_of
from schedules import plans
from schedules.recurrence import Cadence, next_occurrences, off_loop, validate_cadence
from schedules.schemas import OccurrenceOut, PlanIn, PlanOut, PlanPatch, PreviewIn, PreviewOut

REQUIRED_ON_EDIT = ("rrule", "starts_on", "window_start", "window_end", "window_days", "holiday_rule")


async def org_of(session: AsyncSession, principal: Principal) -> Organisation:
    return await session.get_one(Organisation, principal.org_id)


async def resident_for_planning(session: AsyncSession, principal: Principal, resident_id: str) -> Resident:
    resident = await session.get(Resident, resident_id)
    if resident is None or resident.org_id != principal.org_id or resident.deleted_at is not None:
        raise InvalidInput.field("resident_id", "error.not_found")
    await require_plannable(session, principal, resident)
    return resident


async def require_plannable(session: AsyncSession, principal: Principal, resident: Resident) -> None:
    """District and consent: a commissioner plans only for residents they may see."""
    allowed = await session.scalar(
        select(Resident.id).where(Resident.id == resident.id, plannable_residents(principal))
    )
    if allowed is None:
        raise Forbidden()


async def plan_for(session: AsyncSession, principal: Principal, plan_id: str) -> tuple[VisitPlan, Resident]:
    plan = await session.get(VisitPlan, plan_id)
    if plan is None or plan.org_id != principal.org_id:
        raise NotFound()
    resident = await session.get_one(Resident, plan.resident_id)
    await require_plannable(session, principal, resident)
    return plan, resident


def cadence_fields(data: PlanIn | PreviewIn, org: Organisation, resident: Resident | None) -> dict[str, Any]:
    rules = rules_for(org)
    default = rules.plan_defaults.get(resident.risk_level) if resident is not None else None
    rrule = data.rrule or (default.rrule if default else None)
    if rrule is None:
        raise InvalidInput.field("rrule", "field.required")
    return {
        "rrule": rrule,
        "starts_on": data.starts_on or utcnow().astimezone(timezone_of(org)).date(),
        "ends_on": data.ends_on,
        "window_start": data.window_start,
        "window_end": data.window_end,
        "window_days": data.window_days or (default.window_days if default else 1),
        "preferred_time": data.preferred_time,
        "holiday_rule": data.holiday_rule,
    }


async def list_plans(
    session: AsyncSession,
    principal: Principal,
    *,
    resident_id: str | None = None,
    district_id: str | None = None,
) -> list[PlanOut]:
    """Plans the caller may manage (coordinators: all; commissioners: their districts)."""
    require_role(principal, Role.COORDINATOR, Role.COMMISSIONER)
    query = (
        select(VisitPlan)
        .join(Resident, Resident.id == VisitPlan.resident_id)
        .where(VisitPlan.org_id == principal.org_id, plannable_residents(principal))
        .order_by(VisitPlan.created_at, VisitPlan.id)
        .limit(1000)
    )
    if resident_id:
        query = query.where(VisitPlan.resident_id == resident_id)
    if district_id:
        query = query.where(Resident.district_id == district_id)
    return [PlanOut.model_validate(p) for p in await session.scalars(query)]


async def create(
    session: AsyncSession, principal: Principal, data: PlanIn, *, plan_id: str | None = None
) -> PlanOut:
    """A new plan and its visits for the coming weeks. `plan_id` (a client-made id) makes a second
    submission of the same form answer the plan already made instead of a second plan."""
    org = await org_of(session, principal)
    resident = await resident_for_planning(session, principal, data.resident_id)
    if plan_id is not None:
        # Two copies of one form at once: the resident's row lock (PostgreSQL) lets the second see
        # the first's plan instead of colliding with it.
        await session.execute(select(Resident.id).where(Resident.id == resident.id).with_for_update())
        existing = await session.get(VisitPlan, plan_id)
        if existing is not None:
            if existing.org_id != org.id or existing.resident_id != resident.id:
                raise InvalidInput.field("plan_id", "field.invalid")
            return PlanOut.model_validate(existing)
    fields = cadence_fields(data, org, resident)
    extra = {"id": plan_id} if plan_id is not None else {}
    plan = await plans.create_plan(
        session, org, resident, {**fields, "assignee_id": data.assignee_id, **extra}, principal.user_id
    )
    audit.record(session, principal, "create", "visit_plan", plan.id, fields=[*fields, "assignee_id"])
    return PlanOut.model_validate(plan)


def _local(moment: datetime, org: Organisation) -> str:
    return moment.astimezone(timezone_of(org)).isoformat()


async def preview(session: AsyncSession, principal: Principal, data: PreviewIn) -> PreviewOut:
    """The next `count` occurrences of a cadence, in the organisation's timezone. Saves nothing."""
    require_role(principal, Role.COORDINATOR, Role.COMMISSIONER)
    org = await org_of(session, principal)
    resident = await resident_for_planning(session, principal, data.resident_id) if data.resident_id else None
    fields = cadence_fields(data, org, resident)
    cadence = Cadence(
        **{k: v for k, v in fields.items() if k != "preferred_time"}, closures=plans.closures_of(org)
    )
    await off_loop(validate_cadence, cadence)
    zone = timezone_of(org)
    found = await off_loop(next_occurrences, cadence, zone, after=utcnow(), count=data.count)
    return PreviewOut(
        timezone=str(zone),
        rrule=cadence.rrule,
        occurrences=[
            OccurrenceOut(
                local_date=o.local_date,
                rule_date=o.key_date,
                shifted=o.local_date != o.key_date,
                due_start=o.due_start,
                due_end=o.due_end,
                due_start_local=_local(o.due_start, org),
                due_end_local=_local(o.due_end, org),
            )
            for o in found
        ],
    )


async def update(session: AsyncSession, principal: Principal, plan_id: str, data: PlanPatch) -> PlanOut:
    """Edit a plan. A new cadence or window replaces future untouched visits."""
    plan, _ = await plan_for(session, principal, plan_id)
    changes = data.model_dump(exclude_unset=True)
    for required in REQUIRED_ON_EDIT:
        if required in changes and changes[required] is None:
            raise InvalidInput.field(required, "field.required")
    await plans.update_plan(session, plan, await org_of(session, principal), changes)
    audit.record(session, principal, "update", "visit_plan", plan.id, fields=list(changes))
    return PlanOut.model_validate(plan)


async def pause(session: AsyncSession, principal: Principal, plan_id: str, reason: str) -> PlanOut:
    plan, _ = await plan_for(session, principal, plan_id)
    await plans.pause_plan(session, plan, reason)
    audit.record(session, principal, "pause", "visit_plan", plan.id)
    return PlanOut.model_validate(plan)


async def resume(session: AsyncSession, principal: Principal, plan_id: str) -> PlanOut:
    plan, _ = await plan_for(session, principal, plan_id)
    await plans.resume_plan(session, plan, await org_of(session, principal))
    audit.record(session, principal, "resume", "visit_plan", plan.id)
    return PlanOut.model_validate(plan)


async def end(session: AsyncSession, principal: Principal, plan_id: str) -> PlanOut:
    """Future visits are cancelled; the history stays. Ending again changes nothing."""
    plan, _ = await plan_for(session, principal, plan_id)
    await plans.end_plan(session, plan, await org_of(session, principal))
    audit.record(session, principal, "end", "visit_plan", plan.id)
    return PlanOut.model_validate(plan)
