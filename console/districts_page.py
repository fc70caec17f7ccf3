"""The districts page: per district, coverage over a period and the weekly trend as charts (drawn
by `api.reports.charts`, inline so that the strict CSP allows them), the caseloads of
commissioners and volunteers, residents with no plan, and districts without a commissioner.

Figures come from `api.reports.coverage.coverage` and `api.reports.trends.weekly`, the services
behind GET /api/v1/reports/coverage and /trends: the same scope (`domain.access.coverage_districts`:
coordinators every district, commissioners theirs, volunteers none) and the same audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

import console.messages_districts  # noqa: F401  (registers the page's texts)
from api.reports import charts, coverage, trends
from api.reports.schemas import DistrictCoverage
from console.filters import optional_id
from console.views import page_locale, render
from domain.access import Principal
from domain.enums import Role
from domain.errors import InvalidInput

PATH = "/console/districts"
TREND_WEEKS = 12
MAX_TREND_DISTRICTS = 10  # more than this in view: one trend summed over them, per district on choice


def optional_date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.field(field, "field.invalid") from None


def drawn(svg: str) -> Markup:
    """A chart to place inline: `api.reports.charts` escapes every text it draws."""
    return Markup(svg)  # noqa: S704 - built by charts.py, all text escaped there (tested)


@dataclass(frozen=True)
class DistrictView:
    coverage: DistrictCoverage
    trend_svg: Markup | None


class DistrictsController(Controller):
    path = "/"

    @get("/districts", name="console.districts")
    async def page(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        from_: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        to: Annotated[str | None, QueryParameter(max_length=10)] = None,
        district_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        chosen = optional_id(district_id, "district_id")
        period = coverage.period_of(principal, optional_date(from_, "from"), optional_date(to, "to"))
        locale = page_locale(request, principal)
        in_view = await coverage.districts_in_scope(db_session, principal, None)
        report = await coverage.coverage(db_session, principal, period, chosen)
        views = []
        for d in report.districts:
            trend = None
            if len(report.districts) <= MAX_TREND_DISTRICTS:
                weekly = await trends.weekly(db_session, principal, TREND_WEEKS, d.district_id)
                trend = drawn(charts.trend_svg(weekly, locale, d.name, chart_id=f"trend-{d.district_id}"))
            views.append(DistrictView(d, trend))
        overall = None
        if len(report.districts) > MAX_TREND_DISTRICTS:
            weekly = await trends.weekly(db_session, principal, TREND_WEEKS, None)
            overall = drawn(charts.trend_svg(weekly, locale, chart_id="trend-all"))
        return render(
            request,
            "districts.html.j2",
            principal,
            active="districts",
            report=report,
            period=period,
            chosen=chosen,
            districts=[(d.id, d.name) for d in in_view],
            coverage_svg=drawn(charts.coverage_svg(report, locale, chart_id="coverage")),
            views=views,
            overall_trend=overall,
        )
