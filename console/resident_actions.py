"""What a resident's page does: more of the timeline (HTMX), the plan editor (live preview, create,
edit, end) and recording an office contact.

Each goes through the API's own service — `schedules.plan_service` (the plans API's create /
preview / update / end, same scope and validation), `api.contact_notes.service.create_note` (so an
office contact fulfils the due visit and resolves the missed-contact alert exactly as a phone's
note does). Forms carry an id made when the page was drawn: sending one twice makes one plan, one
note. Every POST passes the console's CSRF guard. Volunteers work in the phone app: refused here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.contact_notes.service import create_note
from console import resident_forms
from console.cadence import in_words, visit_day
from console.resident_timeline import MAX_PAGE, timeline
from console.views import render
from domain import audit
from domain.access import Principal
from domain.enums import Role
from domain.errors import Forbidden, InvalidInput, NotFound
from schedules import plan_service

PATH = "/console/residents"


def _not_volunteer(principal: Principal) -> None:
    if principal.role == Role.VOLUNTEER:
        raise Forbidden()


async def _back(session: AsyncSession, resident_id: str, done: str, anchor: str) -> Redirect:
    await session.commit()  # a redirect: the autocommit hook would not commit it
    return Redirect(f"{PATH}/{resident_id}?done={done}#{anchor}", status_code=303)


class ResidentActionsController(Controller):
    path = "/residents/{resident_id:str}"

    @get("/timeline", name="console.resident_timeline")
    async def more(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 2,
    ) -> Template:
        """The next page of the timeline, for the "more" button (HTMX)."""
        _not_volunteer(principal)
        with audit.one_read(db_session, principal, "resident", resident_id, page="console.resident_timeline"):
            found = await timeline(db_session, principal, resident_id, page)
        return render(request, "_timeline.html.j2", principal, tl=found, resident_id=resident_id)

    @post("/plans/preview", status_code=200)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
    ) -> Template:
        """The rule in words and the next visits it makes (organisation time zone, holiday rule):
        saves nothing."""
        _not_volunteer(principal)
        form = await request.form()
        try:
            data = resident_forms.preview_in(form, resident_id)
            found = await plan_service.preview(db_session, principal, data)
        except InvalidInput as exc:
            return render(request, "_cadence_preview.html.j2", principal, status_code=422, errors=exc.errors)
        assert data.rrule is not None
        return render(
            request,
            "_cadence_preview.html.j2",
            principal,
            words=in_words(data.rrule, data.window_start, data.window_end, principal.locale),
            preview=found,
            days=[
                (
                    visit_day(
                        datetime.fromisoformat(o.due_start_local),
                        datetime.fromisoformat(o.due_end_local),
                        principal.locale,
                    ),
                    o,
                )
                for o in found.occurrences
            ],
            errors=[],
        )

    @post("/plans", status_code=303)
    async def create_plan(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
    ) -> Redirect:
        _not_volunteer(principal)
        form = await request.form()
        data = resident_forms.plan_in(form, resident_id)
        key = resident_forms.client_key(form, "plan_key")
        await plan_service.create(db_session, principal, data, plan_id=key)
        return await _back(db_session, resident_id, "plan", "plans")

    @post("/plans/{plan_id:str}", status_code=303)
    async def update_plan(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        plan_id: FromPath[str],
    ) -> Redirect:
        _not_volunteer(principal)
        await self._own_plan(db_session, principal, resident_id, plan_id)
        data = resident_forms.plan_patch(await request.form())
        await plan_service.update(db_session, principal, plan_id, data)
        return await _back(db_session, resident_id, "plan", "plans")

    @post("/plans/{plan_id:str}/end", status_code=303)
    async def end_plan(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        plan_id: FromPath[str],
    ) -> Redirect:
        _not_volunteer(principal)
        await self._own_plan(db_session, principal, resident_id, plan_id)
        await plan_service.end(db_session, principal, plan_id)  # ending twice changes nothing
        return await _back(db_session, resident_id, "ended", "plans")

    @post("/contact-notes", status_code=303)
    async def record_contact(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
    ) -> Redirect:
        """An office contact, recorded as the API records one (POST /residents/{id}/contact-notes)."""
        _not_volunteer(principal)
        data = resident_forms.contact_note_in(await request.form())
        await create_note(db_session, principal, resident_id, data)  # the same id again: no second note
        return await _back(db_session, resident_id, "note", "timeline")

    @staticmethod
    async def _own_plan(session: AsyncSession, principal: Principal, resident_id: str, plan_id: str) -> None:
        plan, _ = await plan_service.plan_for(session, principal, plan_id)
        if plan.resident_id != resident_id:
            raise NotFound()
