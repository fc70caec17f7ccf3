"""HTTP for the report charts (SVG): the figures of GET /reports/coverage and /reports/trends,
drawn by api.reports.charts, under the same rules (scope from domain.access, the same audit
events, volunteers 403)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.organisation.schemas import ID_PATTERN
from api.reports import charts, coverage, publication
from api.reports.controllers import (
    MONTH_ONLY,
    SUPPRESS_DESCRIPTION,
    TREND_MONTHS,
    TREND_SUPPRESS,
    TREND_WEEKS,
    _reader_locale,
    _small_cell_k,
    trend_report,
)
from api.reports.params import DistrictFilter, PeriodEnd, PeriodStart
from domain.access import Principal
from domain.settings import Settings

SVG = "image/svg+xml"
CHART_SUPPRESS = SUPPRESS_DESCRIPTION.replace("counts only, ", "") + "; hidden figures read 秘匿"


def svg_response(svg: str) -> Response[str]:
    return Response(charts.document(svg), media_type=f"{SVG}; charset=utf-8")


class ChartController(Controller):
    path = "/api/v1/reports/charts"
    tags = ["reports"]

    @get("/coverage.svg", operation_id="coverageChart", media_type=SVG)
    async def coverage_chart(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        from_: PeriodStart = None,
        to: PeriodEnd = None,
        district_id: DistrictFilter = None,
        suppress: Annotated[bool, QueryParameter(description=CHART_SUPPRESS + MONTH_ONLY)] = False,
    ) -> Response[str]:
        """Coverage per district as an SVG chart: the share of active residents reached in the
        period, one bar per district, with the counts written next to each bar. The figures of GET
        /reports/coverage; same scope (coordinators: every district; commissioners: theirs;
        volunteers 403). Labels in the caller's language (Accept-Language)."""
        period = coverage.period_of(principal, from_, to)
        locale = _reader_locale(request, principal)
        if suppress:
            coverage.published_month(principal, period)
            k = await _small_cell_k(db_session, principal)
            published = await publication.suppressed_coverage(
                db_session, principal, period, district_id, k, settle_days=settings.statistics_settle_days
            )
            svg = charts.coverage_svg(published.report, locale, k=published.k, table=published.table)
        else:
            svg = charts.coverage_svg(
                await coverage.coverage(db_session, principal, period, district_id), locale
            )
        return svg_response(svg)

    @get("/trends.svg", operation_id="trendChart", media_type=SVG)
    async def trend_chart(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        weeks: TREND_WEEKS = None,
        months: TREND_MONTHS = None,
        district_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        suppress: Annotated[bool, QueryParameter(description=CHART_SUPPRESS + TREND_SUPPRESS)] = False,
    ) -> Response[str]:
        """The trend as an SVG chart: per local week, the share of residents reached and the
        alerts raised, each bar with its value written; with suppress=true, per calendar month
        that has ended, the count reached and the alerts raised. The figures of GET
        /reports/trends, for one district or all the caller may read; volunteers 403."""
        report = await trend_report(db_session, principal, weeks, months, district_id, suppress, settings)
        name = None
        if district_id:
            districts = await coverage.districts_in_scope(db_session, principal, district_id)
            name = districts[0].name if districts else None
        return svg_response(charts.trend_svg(report, _reader_locale(request, principal), name))
