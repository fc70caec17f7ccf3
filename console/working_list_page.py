"""The working list page and its CSV: residents not contacted within their limit, through
`api.reports.working_list.working_list` — the service behind GET /api/v1/reports/working-list, with
its scope (`visible_residents`), its audit event and, for the file, its export rule (`may_export`)
and CSV writer. Only the cookie session differs from the API's bearer token."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.organisation.service import check_districts, list_districts, list_users
from api.reports import csv_export, working_list
from console.filters import PAGE_SIZE, Pager, link, optional_id, optional_risk
from console.views import page_locale, render
from domain.access import Principal, may_export, may_manage_users
from domain.enums import RiskLevel, Role
from domain.errors import Forbidden

PATH = "/console/working-list"
Sort = Literal["last_contact_at", "-last_contact_at"]
ASSIGNEE_OPTIONS = 500  # people offered in the assignee filter


def _filter(
    district_id: str | None, assignee_id: str | None, risk_level: str | None, sort: Sort
) -> working_list.WorkingListFilter:
    return working_list.WorkingListFilter(
        district_id=optional_id(district_id, "district_id"),
        assignee_id=optional_id(assignee_id, "assignee_id"),
        risk_level=optional_risk(risk_level),
        newest_first=sort.startswith("-"),
    )


async def _checked(
    session: AsyncSession, principal: Principal, f: working_list.WorkingListFilter
) -> working_list.WorkingListFilter:
    if f.district_id:  # as the API: an unknown district is named, not an empty list
        await check_districts(session, principal.org_id, [f.district_id], "district_id")
    return f


async def _assignee_options(session: AsyncSession, principal: Principal) -> list[tuple[str, str]]:
    """Whom the filter offers. Coordinators: the organisation's active people (the users list is
    theirs to read); commissioners may not list users, so they are offered themselves."""
    if may_manage_users(principal):
        users, _ = await list_users(
            session,
            principal,
            role=None,
            district_id=None,
            active=True,
            q=None,
            offset=0,
            limit=ASSIGNEE_OPTIONS,
        )
        return [(u.id, u.display_name) for u in users]
    return [(principal.user_id, "")]


async def _district_options(session: AsyncSession, principal: Principal) -> list[tuple[str, str]]:
    districts = await list_districts(session, principal)
    if principal.role == Role.COMMISSIONER:  # the others would list nobody for them
        districts = [d for d in districts if d.id in principal.district_ids]
    return [(d.id, d.name) for d in districts]


class WorkingListController(Controller):
    path = "/"

    @get("/working-list", name="console.working_list")
    async def page(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        district_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        assignee_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        risk_level: Annotated[str | None, QueryParameter(max_length=20)] = None,
        sort: FromQuery[Sort] = "last_contact_at",
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        f = await _checked(db_session, principal, _filter(district_id, assignee_id, risk_level, sort))
        query: dict[str, Any] = {
            "district_id": f.district_id,
            "assignee_id": f.assignee_id,
            "risk_level": f.risk_level,
            "sort": sort,
        }
        offset = (page - 1) * PAGE_SIZE
        rows, total, cut = await working_list.working_list(db_session, principal, f, offset, PAGE_SIZE)
        return render(
            request,
            "working_list.html.j2",
            principal,
            active="working_list",
            rows=rows,
            cut=cut,
            f=f,
            sort=sort,
            pager=Pager(page, total, PATH, query, PAGE_SIZE),
            districts=await _district_options(db_session, principal),
            assignees=await _assignee_options(db_session, principal),
            risks=list(RiskLevel),
            may_export=may_export(principal),
            csv_href=link(f"{PATH}.csv", query),
        )

    @get("/working-list.csv", name="console.working_list_csv")
    async def csv(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        district_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        assignee_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        risk_level: Annotated[str | None, QueryParameter(max_length=20)] = None,
        sort: FromQuery[Sort] = "last_contact_at",
    ) -> Response[bytes]:
        """The same file as GET /api/v1/reports/working-list?format=csv, audited as an export."""
        if not may_export(principal):
            raise Forbidden()
        f = await _checked(db_session, principal, _filter(district_id, assignee_id, risk_level, sort))
        rows, _, cut = await working_list.working_list(db_session, principal, f, None, None, purpose="export")
        text = csv_export.working_list_csv(rows, page_locale(request, principal), principal.zone)
        return csv_export.csv_response(text, "working-list", cut.today)
