"""The residents' pages: search by name or kana, and one resident's page.

Everything comes from the API's own services, so scope and field rules are the API's: the list is
`api.residents.service.list_residents` (GET /residents: hiragana, katakana and half-width kana
alike); the page is `read_resident` (emergency contacts only when `may_see_emergency_contacts`),
`list_assignments` (watchers, with their phones' last sync), `list_consents` and the consent
history, the timeline (`console.resident_timeline`: notes and visits), `list_alerts` and the plans
service (`schedules.plan_service`, for whoever may plan in the resident's district). A resident
outside the person's sight is "not found". The services' reads are gathered into one audit event
per page view (`domain.audit.one_read`); API calls still audit each read. The page's forms (plan
editor, office contact) are `console.resident_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.organisation.service import check_districts, list_districts
from api.residents.consent_history import ConsentChange, consent_history
from api.residents.schemas import AssignmentOut, ConsentOut, ResidentOut
from api.residents.service import (
    ResidentFilter,
    list_assignments,
    list_consents,
    list_residents,
    read_resident,
)
from console.cadence import CadenceChoice, choice_of, in_words
from console.filters import PAGE_SIZE, Pager, optional_id
from console.resident_forms import editor_context
from console.resident_timeline import MAX_PAGE, Timeline, timeline
from console.today import _last_syncs as last_syncs
from console.views import render
from domain import audit
from domain.access import Principal, may_plan_for_district
from domain.clock import utcnow
from domain.enums import AlertStatus, Role
from domain.models import User
from notifications import alert_handling
from notifications.schemas import AlertOut
from schedules import plan_service
from schedules.schemas import PlanOut

PATH = "/console/residents"
OPEN_ALERTS = 50
DONE_MESSAGES = {
    "note": "console.resident.note_recorded",
    "plan": "console.resident.plan_saved",
    "ended": "console.resident.plan_ended",
}


@dataclass(frozen=True)
class Watcher:
    assignment: AssignmentOut
    name: str
    role: str  # the user's role: coordinator | commissioner | volunteer
    last_sync_at: datetime | None


@dataclass(frozen=True)
class PlanView:
    plan: PlanOut
    words: str
    choice: CadenceChoice | None  # None: a rule the editor cannot draw (shown as the RRULE)


@dataclass(frozen=True)
class ResidentPage:
    resident: ResidentOut
    district_name: str
    watchers: list[Watcher]
    past_assignments: list[AssignmentOut]
    consents: list[ConsentOut]
    consent_history: list[ConsentChange]
    timeline: Timeline
    alerts: list[AlertOut]
    plans: list[PlanView]
    may_plan: bool
    today: date  # the organisation's calendar day
    now_local: str  # "YYYY-MM-DDTHH:MM" in the organisation's zone, for the contact form
    names: dict[str, str]  # user id → display name, for assignees and visit assignees


async def _district_names(session: AsyncSession, principal: Principal) -> dict[str, str]:
    return {d.id: d.name for d in await list_districts(session, principal)}


async def _people(
    session: AsyncSession, principal: Principal, user_ids: set[str]
) -> dict[str, tuple[str, str]]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(User.id, User.display_name, User.role).where(
            User.id.in_(sorted(user_ids)), User.org_id == principal.org_id
        )
    )
    return {user_id: (name, str(role)) for user_id, name, role in rows.tuples().all()}


def plan_view(plan: PlanOut, locale: str) -> PlanView:
    return PlanView(
        plan, in_words(plan.rrule, plan.window_start, plan.window_end, locale), choice_of(plan.rrule)
    )


async def _open_alerts(session: AsyncSession, principal: Principal, resident_id: str) -> list[AlertOut]:
    alerts: list[AlertOut] = []
    for status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED):
        flt = alert_handling.AlertFilter(status=status, resident_id=resident_id, sort="urgent")
        found, _ = await alert_handling.list_alerts(session, principal, flt, offset=0, limit=OPEN_ALERTS)
        alerts.extend(found)
    return alerts


async def resident_page(
    session: AsyncSession, principal: Principal, resident_id: str, timeline_page: int = 1
) -> ResidentPage:
    """Everything the page shows, read through the API's services; one audit event for it all."""
    with audit.one_read(session, principal, "resident", resident_id, page="console.resident"):
        resident = await read_resident(session, principal, resident_id)  # 404 outside sight
        assignments = await list_assignments(session, principal, resident.id)
        consents = await list_consents(session, principal, resident.id)
        history = await consent_history(session, principal, resident.id)
        found = await timeline(session, principal, resident.id, timeline_page)
        alerts = await _open_alerts(session, principal, resident.id)
        may_plan = may_plan_for_district(principal, resident.district_id)
        plans = await plan_service.list_plans(session, principal, resident_id=resident.id) if may_plan else []
    people = {a.user_id for a in [*assignments.current, *assignments.history]}
    people |= {e.visit.assignee_id for e in found.entries if e.visit and e.visit.assignee_id}
    people |= {p.assignee_id for p in plans if p.assignee_id}
    known = await _people(session, principal, people)
    syncs = await last_syncs(session, principal, {a.user_id for a in assignments.current})
    districts = await _district_names(session, principal)
    now = utcnow().astimezone(principal.zone)
    return ResidentPage(
        resident=resident,
        district_name=districts.get(resident.district_id, ""),
        watchers=[
            Watcher(a, *known.get(a.user_id, ("", "")), syncs.get(a.user_id)) for a in assignments.current
        ],
        past_assignments=assignments.history,
        consents=consents,
        consent_history=history,
        timeline=found,
        alerts=alerts,
        plans=[plan_view(p, principal.locale) for p in reversed(plans)],
        may_plan=may_plan,
        today=now.date(),
        now_local=now.strftime("%Y-%m-%dT%H:%M"),
        names={user_id: name for user_id, (name, _) in known.items()},
    )


class ResidentsController(Controller):
    path = "/"

    @get("/residents", name="console.residents")
    async def search(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        district_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        district = optional_id(district_id, "district_id")
        if district:
            await check_districts(db_session, principal.org_id, [district], "district_id")
        text = (q or "").strip() or None
        residents, total = await list_residents(
            db_session,
            principal,
            ResidentFilter(district_id=district, q=text),
            (page - 1) * PAGE_SIZE,
            PAGE_SIZE,
        )
        districts = await _district_names(db_session, principal)
        options = [
            (i, n)
            for i, n in districts.items()
            if principal.role != Role.COMMISSIONER or i in principal.district_ids
        ]
        return render(
            request,
            "residents.html.j2",
            principal,
            active="residents",
            residents=residents,
            q=text or "",
            district_id=district,
            districts=districts,
            district_options=options,
            pager=Pager(page, total, PATH, {"q": text, "district_id": district}, PAGE_SIZE),
        )

    @get("/residents/{resident_id:str}", name="console.resident")
    async def resident(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 1,
        done: Annotated[str | None, QueryParameter(max_length=10)] = None,
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)
        data = await resident_page(db_session, principal, resident_id, page)
        return render(
            request,
            "resident.html.j2",
            principal,
            active="residents",
            p=data,
            r=data.resident,
            tl=data.timeline,
            done_code=DONE_MESSAGES.get(done or ""),
            **editor_context(),
        )
