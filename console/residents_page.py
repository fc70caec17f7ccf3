"""The residents' pages: search by name or kana, and one resident's page (read-only).

Everything comes from the API's own services, so scope, field rules and audit events are the
API's: the list is `api.residents.service.list_residents` (GET /residents: hiragana, katakana and
half-width kana alike); the page is `read_resident` (emergency contacts only when
`may_see_emergency_contacts`), `list_assignments`, `list_consents`, the contact-notes service
(GET /residents/{id}/notes), the visits service (`schedules.controllers._visits`) and
`list_alerts` (GET /alerts?resident_id=). A resident outside the person's sight is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.contact_notes.schemas import ContactNoteOut
from api.contact_notes.service import NoteFilter, list_notes
from api.organisation.service import check_districts, list_districts
from api.residents.schemas import AssignmentOut, ConsentOut, ResidentOut
from api.residents.service import (
    ResidentFilter,
    list_assignments,
    list_consents,
    list_residents,
    read_resident,
)
from console.filters import PAGE_SIZE, Pager, optional_id
from console.views import render
from domain.access import Principal
from domain.clock import utcnow
from domain.enums import AlertStatus, Role, VisitStatus
from domain.models import User, Visit
from notifications import alert_handling
from notifications.schemas import AlertOut
from schedules.controllers import _visits as list_visits
from schedules.schemas import VisitOut

PATH = "/console/residents"
RECENT_NOTES = 10
UPCOMING_VISITS = 10
OPEN_ALERTS = 50


@dataclass(frozen=True)
class ResidentPage:
    resident: ResidentOut
    district_name: str
    assignments: list[AssignmentOut]
    consents: list[ConsentOut]
    visits: list[VisitOut]
    notes: list[ContactNoteOut]
    alerts: list[AlertOut]
    names: dict[str, str]  # user id → display name, for assignees and visit assignees


async def _district_names(session: AsyncSession, principal: Principal) -> dict[str, str]:
    return {d.id: d.name for d in await list_districts(session, principal)}


async def _names(session: AsyncSession, principal: Principal, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(User.id, User.display_name).where(
            User.id.in_(sorted(user_ids)), User.org_id == principal.org_id
        )
    )
    return dict(rows.tuples().all())


async def resident_page(session: AsyncSession, principal: Principal, resident_id: str) -> ResidentPage:
    resident = await read_resident(session, principal, resident_id)  # 404 outside sight; audited
    assignments = (await list_assignments(session, principal, resident.id)).current
    consents = await list_consents(session, principal, resident.id)
    now = utcnow()
    visits, _ = await list_visits(
        session,
        principal,
        Visit.resident_id == resident.id,
        Visit.due_end > now,
        Visit.status == VisitStatus.PLANNED,
        limit=UPCOMING_VISITS,
    )
    notes, _ = await list_notes(session, principal, NoteFilter(resident_id=resident.id), 0, RECENT_NOTES)
    alerts: list[AlertOut] = []
    for status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED):
        flt = alert_handling.AlertFilter(status=status, resident_id=resident.id, sort="urgent")
        found, _ = await alert_handling.list_alerts(session, principal, flt, offset=0, limit=OPEN_ALERTS)
        alerts.extend(found)
    people = {a.user_id for a in assignments} | {v.assignee_id for v in visits if v.assignee_id}
    districts = await _district_names(session, principal)
    return ResidentPage(
        resident=resident,
        district_name=districts.get(resident.district_id, ""),
        assignments=assignments,
        consents=consents,
        visits=visits,
        notes=notes,
        alerts=alerts,
        names=await _names(session, principal, people),
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
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)
        page = await resident_page(db_session, principal, resident_id)
        return render(
            request,
            "resident.html.j2",
            principal,
            active="residents",
            p=page,
            r=page.resident,
        )
