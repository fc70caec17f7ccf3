"""HTTP: visit plans, visit lists, organisation rules and safety-check campaigns. Thin: checks who
may act (domain.access) and calls the services. Importing this module registers the contact-note
listener (schedules.contacts), so an app that serves these routes also reacts to notes."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import schedules.contacts  # noqa: F401  (registers the contact-recorded listener)
from domain import audit
from domain.access import (
    Principal,
    may_plan_for_district,
    plannable_residents,
    require_role,
    resident_fields_for,
    visible_residents,
)
from domain.clock import utcnow
from domain.enums import Role, VisitStatus
from domain.errors import FieldError, Forbidden, InvalidInput, NotFound
from domain.models import District, Organisation, Resident, SafetyCheckCampaign, Visit
from domain.org_settings import OrgRules, merged, range_of, rules_for, timezone_of
from schedules import campaign_close, campaigns, ladder, plan_service, plans
from schedules.recurrence import validate_rrule
from schedules.schemas import (
    CampaignIn,
    CampaignOut,
    PauseIn,
    PlanIn,
    PlanOut,
    PlanPatch,
    PreviewIn,
    PreviewOut,
    VisitOut,
)

# What a visit list shows of the resident: enough to find and help the person, never more than the
# viewer's role allows (volunteers: domain.access.VOLUNTEER_RESIDENT_FIELDS).
RESIDENT_ESSENTIALS = (
    "id",
    "name",
    "kana",
    "address",
    "phone",
    "latitude",
    "longitude",
    "risk_level",
    "support_needs",
    "household",
    "district_id",
    "status",
)
MAX_RANGE_DAYS = 92


async def _org(session: AsyncSession, principal: Principal) -> Organisation:
    return await session.get_one(Organisation, principal.org_id)


class PlanController(Controller):
    path = "/api/v1/plans"
    tags = ["plans"]

    @get("/", operation_id="listPlans")
    async def list_plans(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: Annotated[str | None, QueryParameter(name="resident_id")] = None,
        district_id: Annotated[str | None, QueryParameter(name="district_id")] = None,
    ) -> list[PlanOut]:
        """Plans the caller may manage (coordinators: all; commissioners: their districts)."""
        return await plan_service.list_plans(
            db_session, principal, resident_id=resident_id, district_id=district_id
        )

    @post("/", status_code=HTTP_201_CREATED, operation_id="createPlan")
    async def create_plan(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[PlanIn],
    ) -> PlanOut:
        """Create a plan; its visits for the coming weeks are created at once. Without `rrule`, the
        organisation's default for the resident's risk level applies."""
        return await plan_service.create(db_session, principal, data)

    @post("/preview", status_code=HTTP_200_OK, operation_id="previewPlan")
    async def preview(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[PreviewIn],
    ) -> PreviewOut:
        """The next `count` occurrences of a cadence, in the organisation's timezone. Saves nothing."""
        return await plan_service.preview(db_session, principal, data)

    @get("/{plan_id:str}", operation_id="getPlan")
    async def get_plan(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        plan_id: FromPath[str],
    ) -> PlanOut:
        plan, _ = await plan_service.plan_for(db_session, principal, plan_id)
        return PlanOut.model_validate(plan)

    @patch("/{plan_id:str}", operation_id="updatePlan")
    async def update_plan(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        plan_id: FromPath[str],
        data: JSONBody[PlanPatch],
    ) -> PlanOut:
        """Edit a plan. A new cadence or window replaces future untouched visits; visits under way,
        done or missed stay as they are."""
        return await plan_service.update(db_session, principal, plan_id, data)

    @post("/{plan_id:str}/pause", status_code=HTTP_200_OK, operation_id="pausePlan")
    async def pause(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        plan_id: FromPath[str],
        data: JSONBody[PauseIn],
    ) -> PlanOut:
        """Pause (hospital, away, refused): future visits are cancelled until the plan is resumed."""
        return await plan_service.pause(db_session, principal, plan_id, data.reason)

    @post("/{plan_id:str}/resume", status_code=HTTP_200_OK, operation_id="resumePlan")
    async def resume(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        plan_id: FromPath[str],
    ) -> PlanOut:
        """Resume a paused plan: visits are planned again from now."""
        return await plan_service.resume(db_session, principal, plan_id)

    @post("/{plan_id:str}/end", status_code=HTTP_200_OK, operation_id="endPlan")
    async def end(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        plan_id: FromPath[str],
    ) -> PlanOut:
        """End a plan: future visits are cancelled; the history stays."""
        return await plan_service.end(db_session, principal, plan_id)


DAY_OR_MOMENT = (
    "A day (2026-12-01: from its start, or for `to` through its end, in the organisation's time "
    "zone) or a date and time (2026-12-01T09:00:00+09:00; without offset: local time)"
)


def _range(org: Organisation, from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    zone = timezone_of(org)
    start_of_today = datetime.combine(utcnow().astimezone(zone).date(), time(0, 0), tzinfo=zone)
    start = _moment(from_, "from", zone) if from_ else start_of_today
    end = _moment(to, "to", zone, end_of_day=True) if to else start + timedelta(days=14)
    if end <= start:
        raise InvalidInput(errors=[FieldError("to", "visits.range_reversed")])
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInput(errors=[FieldError("to", "visits.range_too_long", {"max": MAX_RANGE_DAYS})])
    return start, end


def _moment(value: str, field: str, zone: Any, *, end_of_day: bool = False) -> datetime:
    """A day where a day is meant (its start, or for an end its end), else an instant. A time
    without offset is the organisation's local time."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time(0, 0))
        else:
            # An unencoded "+09:00" arrives as " 09:00": read it as the offset it was.
            moment = datetime.fromisoformat(re.sub(r" (\d{2}:?\d{2})$", r"+\1", text))
    except (ValueError, OverflowError):
        raise InvalidInput.field(field, "field.type.day_or_datetime") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


async def _visits(
    session: AsyncSession,
    principal: Principal,
    *conditions: Any,
    limit: int,
    offset: int = 0,
    newest_first: bool = False,
) -> tuple[list[VisitOut], int]:
    fields = resident_fields_for(principal)
    shown = [f for f in RESIDENT_ESSENTIALS if fields is None or f in fields]
    where = (
        Visit.org_id == principal.org_id,
        Visit.deleted_at.is_(None),
        visible_residents(principal),
        *conditions,
    )
    base = select(Visit, Resident).join(Resident, Resident.id == Visit.resident_id).where(*where)
    total = int(
        await session.scalar(
            select(func.count())
            .select_from(Visit)
            .join(Resident, Resident.id == Visit.resident_id)
            .where(*where)
        )
        or 0
    )
    order = (Visit.due_start.desc(), Visit.id) if newest_first else (Visit.due_start, Visit.id)
    rows = (await session.execute(base.order_by(*order).limit(limit).offset(offset))).all()
    items = [
        VisitOut(
            id=v.id,
            plan_id=v.plan_id,
            kind=v.kind,
            status=v.status,
            due_start=v.due_start,
            due_end=v.due_end,
            assignee_id=v.assignee_id,
            contact_recorded=v.fulfilled_by_note_id is not None,
            completed_at=v.completed_at,
            late=ladder.is_late(v),
            campaign_id=v.campaign_id,
            resident={f: getattr(r, f) for f in shown},
        )
        for v, r in rows
    ]
    if items:
        audit.record(
            session,
            principal,
            "read",
            "resident",
            None,
            fields=shown,
            count=len({i.resident["id"] for i in items}),
        )
    return items, total


class VisitController(Controller):
    path = "/api/v1"
    tags = ["visits"]

    @get("/me/visits", operation_id="listMyVisits")
    async def my_visits(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        from_: Annotated[
            str | None,
            QueryParameter(name="from", max_length=40, description=f"{DAY_OR_MOMENT}. Default: today 00:00"),
        ] = None,
        to: Annotated[
            str | None,
            QueryParameter(name="to", max_length=40, description=f"{DAY_OR_MOMENT}. Default: from + 14 days"),
        ] = None,
        include_cancelled: Annotated[bool, QueryParameter(name="include_cancelled")] = False,
    ) -> list[VisitOut]:
        """My visits whose window overlaps [from, to): the resident's essentials (as much as my role
        may see), the status, and whether contact was recorded."""
        org = await _org(db_session, principal)
        start, end = _range(org, from_, to)
        conditions = [Visit.assignee_id == principal.user_id, Visit.due_start < end, Visit.due_end > start]
        if not include_cancelled:
            conditions.append(Visit.status != VisitStatus.CANCELLED)
        items, _ = await _visits(db_session, principal, *conditions, limit=1000)
        return items

    @get("/districts/{district_id:str}/visits", operation_id="listDistrictVisits")
    async def district_visits(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        district_id: FromPath[str],
        from_: Annotated[
            str | None, QueryParameter(name="from", max_length=40, description=DAY_OR_MOMENT)
        ] = None,
        to: Annotated[str | None, QueryParameter(name="to", max_length=40, description=DAY_OR_MOMENT)] = None,
        status: Annotated[VisitStatus | None, QueryParameter(name="status")] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, QueryParameter(name="page_size", ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """Every visit in a district (coordinators; commissioners of that district)."""
        district = await db_session.get(District, district_id)
        if district is None or district.org_id != principal.org_id:
            raise NotFound()
        if not may_plan_for_district(principal, district_id):
            raise Forbidden()
        org = await _org(db_session, principal)
        start, end = _range(org, from_, to)
        conditions = [Resident.district_id == district_id, Visit.due_start < end, Visit.due_end > start]
        if status is not None:
            conditions.append(Visit.status == status)
        items, total = await _visits(
            db_session, principal, *conditions, limit=page_size, offset=(page - 1) * page_size
        )
        return {
            "items": [i.model_dump(mode="json") for i in items],
            "total": total,
            "page": page,
            "page_size": page_size,
        }


class OrgRulesController(Controller):
    path = "/api/v1/org/rules"
    tags = ["organisation"]

    @get("/", operation_id="getOrgRules")
    async def get_rules(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> dict[str, Any]:
        """The organisation's rules: quiet hours, reminders, grace, escalation deadlines, contact-gap
        days and suggested plan defaults per risk level."""
        require_role(principal, Role.COORDINATOR, Role.COMMISSIONER)
        org = await _org(db_session, principal)
        return {"timezone": org.timezone, **rules_for(org).model_dump(mode="json")}

    @patch("/", operation_id="updateOrgRules")
    async def update_rules(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        """Change some rules (coordinators). Unknown or invalid values are refused field by field."""
        require_role(principal, Role.COORDINATOR)
        org = await _org(db_session, principal)
        try:
            settings = merged(org, data)
        except ValidationError as exc:
            raise InvalidInput(errors=[_field_error(e) for e in exc.errors()]) from None
        # Each suggested default RRULE must itself be valid.
        for risk, default in OrgRules.model_validate(settings).plan_defaults.items():
            validate_rrule(default.rrule, field=f"plan_defaults.{risk}.rrule")
        closed_before = plans.closures_of(org)
        org.settings = settings
        audit.record(db_session, principal, "update", "org_rules", org.id, fields=list(data))
        # New closure days move or skip visits already planned on them (and free the old ones).
        await plans.follow_closures(db_session, org, closed_before, utcnow())
        return {"timezone": org.timezone, **settings}


def _field_error(error: Any) -> FieldError:
    loc = ".".join(str(p) for p in error.get("loc", ())) or "body"
    kind = error.get("type", "")
    code = {"extra_forbidden": "field.unknown", "missing": "field.required"}.get(kind, "field.invalid")
    if kind.startswith(("greater", "less")):
        if (bounds := range_of(loc)) is not None:
            return FieldError(loc, "field.between", {"min": bounds[0], "max": bounds[1]})
        code = "field.range"
    return FieldError(loc, code)


class SafetyCheckController(Controller):
    path = "/api/v1/safety-checks"
    tags = ["safety checks"]

    @post("/", status_code=HTTP_201_CREATED, operation_id="startSafetyCheck")
    async def start(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[CampaignIn],
    ) -> CampaignOut:
        """安否確認: ask for contact with every active resident of these districts now."""
        for district_id in data.district_ids:
            if not may_plan_for_district(principal, district_id):
                raise Forbidden()
        org = await _org(db_session, principal)
        campaign = await campaigns.start_campaign(
            db_session,
            org,
            title=data.title,
            district_ids=data.district_ids,
            hours=data.hours,
            actor_id=principal.user_id,
        )
        audit.record(db_session, principal, "create", "safety_check", campaign.id)
        return await _campaign_out(db_session, campaign, principal)

    @get("/", operation_id="listSafetyChecks")
    async def list_campaigns(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> list[CampaignOut]:
        require_role(principal, Role.COORDINATOR, Role.COMMISSIONER)
        found = await db_session.scalars(
            select(SafetyCheckCampaign)
            .where(SafetyCheckCampaign.org_id == principal.org_id)
            .order_by(SafetyCheckCampaign.started_at.desc(), SafetyCheckCampaign.id)
            .limit(50)
        )
        return [await _campaign_out(db_session, c, principal) for c in found if _may_see(principal, c)]

    @get("/{campaign_id:str}", operation_id="getSafetyCheck")
    async def progress(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        campaign_id: FromPath[str],
    ) -> CampaignOut:
        """Progress: reached, not reached, missed (alerted), outcomes, per district."""
        campaign = await db_session.get(SafetyCheckCampaign, campaign_id)
        if campaign is None or campaign.org_id != principal.org_id:
            raise NotFound()
        if not _may_see(principal, campaign):
            raise Forbidden()
        return await _campaign_out(db_session, campaign, principal)

    @post("/{campaign_id:str}/close", status_code=HTTP_200_OK, operation_id="closeSafetyCheck")
    async def close(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        campaign_id: FromPath[str],
    ) -> CampaignOut:
        """Close the campaign (coordinators): no more reminders or alerts for it, its visits not yet
        made are cancelled, and the final tally (residents, confirmed safe, needing help,
        unreachable, not checked, per district) is stored and answered. Closing again answers the
        same tally."""
        require_role(principal, Role.COORDINATOR)
        campaign = await db_session.get(SafetyCheckCampaign, campaign_id)
        if campaign is None or campaign.org_id != principal.org_id:
            raise NotFound()
        closed_now = await campaign_close.close_campaign(db_session, campaign, principal.user_id)
        audit.record(
            db_session, principal, "close", "safety_check", campaign.id, already_closed=not closed_now
        )
        return await _campaign_out(db_session, campaign, principal)


def _may_see(principal: Principal, campaign: SafetyCheckCampaign) -> bool:
    return any(may_plan_for_district(principal, d) for d in campaign.district_ids)


async def _campaign_out(
    session: AsyncSession, campaign: SafetyCheckCampaign, principal: Principal
) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        title=campaign.title,
        district_ids=campaign.district_ids,
        started_at=campaign.started_at,
        due_at=campaign.due_at,
        closed_at=campaign.closed_at,
        closed_by=campaign.closed_by,
        # The stored tally counts every resident of the campaign: for coordinators only.
        final_tally=campaign.final_tally if principal.is_coordinator else None,
        # Figures only over the residents the caller may see (district and consent).
        progress=await campaigns.progress(session, campaign, plannable_residents(principal)),
    )


CONTROLLERS = [PlanController, VisitController, OrgRulesController, SafetyCheckController]
