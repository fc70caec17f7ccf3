"""HTTP for the reports. Thin: what is counted is in working_list.py and coverage.py; who may see
it in domain.access."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Pagination
from api.organisation.schemas import ID_PATTERN
from api.organisation.service import check_districts
from api.reports import coverage, csv_export, export_files, publication, record_exports, trends, working_list
from api.reports.export_files import ExportFile, ExportFormat, ListFormat
from api.reports.params import DistrictFilter, PeriodEnd, PeriodStart
from api.reports.schemas import CoverageReport, MonthlyTrendReport, TrendReport, WorkingListPage
from domain.access import Principal, may_export
from domain.enums import RiskLevel
from domain.errors import Forbidden, InvalidInput
from domain.i18n import negotiate, register
from domain.models import Organisation
from domain.org_settings import rules_for
from domain.settings import Settings

SUPPRESS_DESCRIPTION = (
    "true: for sharing outside the office: counts only, counts from 1 to k-1 and the cells that "
    "would give them away through a total hidden (k: the organisation's small_cell_k, default 5)"
)
DEFAULT_TRENDS = 12  # weeks, or with suppress=true months
MONTH_ONLY = (
    "; suppressed statistics are published for whole calendar months only: `from` the first day "
    "of a month that has ended, `to` its last day (anything else: 400 naming from/to). A month is "
    "published MIMAMORI_STATISTICS_SETTLE_DAYS days after it ended (before: 400 naming `to`, with "
    "the date it will be available) and then never changes: every later suppressed file, chart or "
    "trend of that month shows the figures and hidden cells first published, with the k then in force"
)

register(
    {
        "field.suppress_needs_csv": {
            "ja": "秘匿処理はファイル出力（format=csv、csv-cp932、xlsx）でのみ使えます。",
            "en": "Suppression applies to the exported file only (format=csv, csv-cp932 or xlsx).",
        },
        "field.suppressed_trends_by_month": {
            "ja": "秘匿処理をした推移は暦月単位で、終わった月についてのみ公表します。weeks ではなく months"
            "（終わった月の数）を指定してください。",
            "en": "Suppressed trends are published by whole calendar months that have ended: give "
            "`months` (how many ended months), not `weeks`.",
        },
        "field.months_needs_suppress": {
            "ja": "months は秘匿処理をした月ごとの推移（suppress=true）でのみ使えます。週ごとの推移は weeks "
            "で指定してください。",
            "en": "`months` applies to the suppressed monthly trends (suppress=true) only; the weekly "
            "trends take `weeks`.",
        },
    }
)
TREND_WEEKS = Annotated[
    int | None,
    QueryParameter(
        ge=1,
        le=52,
        description="how many local weeks, the current one last (default 12); not with suppress=true "
        "(400 naming weeks)",
    ),
]
TREND_MONTHS = Annotated[
    int | None,
    QueryParameter(
        ge=1,
        le=24,
        description="with suppress=true: how many calendar months that have ended, the last one last "
        "(default 12); without it 400 naming months",
    ),
]
TREND_SUPPRESS = (
    "; the trends are then monthly: per calendar month of the organisation's calendar that is "
    "published or publishable (ended MIMAMORI_STATISTICS_SETTLE_DAYS days ago; never the running "
    "month), each figure as that month's suppressed coverage file publishes it, frozen once published"
)


async def trend_report(
    session: AsyncSession,
    principal: Principal,
    weeks: int | None,
    months: int | None,
    district_id: str | None,
    suppress: bool,
    settings: Settings,
) -> TrendReport | MonthlyTrendReport:
    """The weekly trends for the office, or with `suppress` the monthly ones that may leave it
    (statistics leaving the organisation are published by whole ended calendar month only)."""
    if suppress:
        if weeks is not None:
            raise InvalidInput.field("weeks", "field.suppressed_trends_by_month")
        k = await _small_cell_k(session, principal)
        return await trends.monthly(
            session,
            principal,
            months or DEFAULT_TRENDS,
            district_id,
            k,
            settle_days=settings.statistics_settle_days,
        )
    if months is not None:
        raise InvalidInput.field("months", "field.months_needs_suppress")
    return await trends.weekly(session, principal, weeks or DEFAULT_TRENDS, district_id)


FORMAT_DESCRIPTION = (
    "json (default), or a file for Excel with every row of the report (page and page_size do not "
    "apply; headers in the reader's language): " + export_files.FORMAT_DESCRIPTION + ". Files: "
    "coordinators and commissioners only; audited as an export."
)
EXPORT_FORMAT_DESCRIPTION = export_files.FORMAT_DESCRIPTION


def _reader_locale(request: Request[Any, Any, Any], principal: Principal) -> str:
    return negotiate(request.headers.get("accept-language"), default=principal.locale)


def _require_export(principal: Principal) -> None:
    if not may_export(principal):
        raise Forbidden()


async def _small_cell_k(session: AsyncSession, principal: Principal) -> int:
    return rules_for(await session.get_one(Organisation, principal.org_id)).small_cell_k


async def _one_batch(rows: list[list[object]]) -> AsyncIterator[Iterable[list[object]]]:
    yield rows


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/working-list", operation_id="workingList")
    async def get_working_list(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Pagination],
        days: Annotated[
            int | None,
            QueryParameter(
                ge=1,
                le=3650,
                description="List residents with no contact on any of the last N local days "
                "(default: each risk level's limit, the organisation's contact_gap_days)",
            ),
        ] = None,
        district_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        assignee_id: Annotated[
            str | None, QueryParameter(pattern=ID_PATTERN, description="a watcher (primary or backup)")
        ] = None,
        risk_level: FromQuery[RiskLevel | None] = None,
        sort: Annotated[
            Literal["last_contact_at", "-last_contact_at"],
            QueryParameter(description="oldest contact first (never contacted first), or newest first"),
        ] = "last_contact_at",
        format: Annotated[ListFormat, QueryParameter(description=FORMAT_DESCRIPTION)] = "json",
    ) -> WorkingListPage | Stream:
        """Residents not contacted within their risk level's limit (or `days`), with the last
        contact's time and method, the primary watcher, when the watcher's phone last synced and
        whether it synced since the last contact (`state`: `not_contacted`, `not_synced`,
        `unassigned`). Days are the organisation's local calendar days. The caller sees the
        residents GET /residents shows them; the read is audited."""
        if district_id:
            await check_districts(db_session, principal.org_id, [district_id], "district_id")
        f = working_list.WorkingListFilter(
            days, district_id, assignee_id, risk_level, newest_first=sort.startswith("-")
        )
        if format != "json":
            _require_export(principal)
            ids, cut = await working_list.export_plan(db_session, principal, f)
            locale = _reader_locale(request, principal)

            async def batches() -> AsyncIterator[Iterable[list[object]]]:
                async for rows in working_list.export_rows(request.app.state.db_config, principal, ids, cut):
                    yield csv_export.working_list_cells(rows, locale, principal.zone)

            file = ExportFile("working-list", cut.today, principal.zone, locale)
            headers = csv_export.working_list_headers(locale)
            return await export_files.export_response(format, file, headers, batches(), session=db_session)
        rows, total, cut = await working_list.working_list(
            db_session, principal, f, pagination.offset, pagination.page_size
        )
        return WorkingListPage(
            items=rows,
            total=total,
            page=pagination.page,
            page_size=pagination.page_size,
            as_of=cut.today,
            days=days,
            limits=cut.limits,
        )

    @get("/coverage", operation_id="coverageReport")
    async def get_coverage(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        from_: PeriodStart = None,
        to: PeriodEnd = None,
        district_id: DistrictFilter = None,
        format: Annotated[ListFormat, QueryParameter(description=FORMAT_DESCRIPTION)] = "json",
        suppress: Annotated[
            bool, QueryParameter(description=SUPPRESS_DESCRIPTION + "; with format=csv" + MONTH_ONLY)
        ] = False,
    ) -> CoverageReport | Stream:
        """Coverage per district over a period of the organisation's local days (at most 366):
        residents watched by risk level and household; the share reached in the period, overall and
        by contact method; visits due, done, done late, missed and open; alerts raised,
        acknowledged and resolved with the median minutes to each; residents with no active plan;
        residents nobody may visit for want of consent; each watcher's caseload; districts without
        a commissioner. Counts only, no resident named. Coordinators: every district;
        commissioners: their own districts; volunteers: 403."""
        period = coverage.period_of(principal, from_, to)
        if suppress and format == "json":
            raise InvalidInput.field("suppress", "field.suppress_needs_csv")
        if format != "json":
            _require_export(principal)
            locale = _reader_locale(request, principal)
            if suppress:
                coverage.published_month(principal, period)
                k = await _small_cell_k(db_session, principal)
                published = await publication.suppressed_coverage(
                    db_session,
                    principal,
                    period,
                    district_id,
                    k,
                    settle_days=settings.statistics_settle_days,
                    purpose="export",
                )
                headers, rows = csv_export.coverage_table(published.report, locale, published.table)
            else:
                report = await coverage.coverage(db_session, principal, period, district_id, purpose="export")
                headers, rows = csv_export.coverage_table(report, locale)
            file = ExportFile("coverage", principal.today(), principal.zone, locale)
            return await export_files.export_response(
                format, file, headers, _one_batch(rows), session=db_session
            )
        return await coverage.coverage(db_session, principal, period, district_id)

    @get("/trends", operation_id="weeklyTrends")
    async def get_trends(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        weeks: TREND_WEEKS = None,
        months: TREND_MONTHS = None,
        district_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        suppress: Annotated[
            bool, QueryParameter(description=SUPPRESS_DESCRIPTION + "; null marks X" + TREND_SUPPRESS)
        ] = False,
    ) -> TrendReport | MonthlyTrendReport:
        """Per local week (Monday to Sunday; the current week up to today), summed over the
        districts the caller may read or one district: residents reached and their share of the
        residents active now, visits due / done / missed, alerts raised. Counted as coverage counts
        them. With suppress=true, for outside the office: per calendar month that has ended
        (`months`, `period` "month"), each month's figures exactly as that month's suppressed
        coverage file shows them (its totals row, or the district's row); a commissioner holding
        several districts names one. Coordinators and commissioners (their districts); volunteers
        403."""
        return await trend_report(db_session, principal, weeks, months, district_id, suppress, settings)

    @get("/exports/visits", operation_id="exportVisits")
    async def export_visits(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        from_: PeriodStart = None,
        to: PeriodEnd = None,
        district_id: DistrictFilter = None,
        format: Annotated[ExportFormat, QueryParameter(description=EXPORT_FORMAT_DESCRIPTION)] = "csv",
    ) -> Stream:
        """Visits whose window starts in the period, as a file for Excel (CSV in UTF-8 with BOM
        or CP932, or XLSX; headers in the reader's language): those about residents the caller may see.
        Coordinators and commissioners; volunteers 403. Audited as an export."""
        period = coverage.period_of(principal, from_, to)
        return await record_exports.visits_file(
            db_session,
            principal,
            period,
            district_id,
            _reader_locale(request, principal),
            request.app.state.db_config,
            format,
        )

    @get("/exports/alerts", operation_id="exportAlerts")
    async def export_alerts(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        from_: PeriodStart = None,
        to: PeriodEnd = None,
        district_id: DistrictFilter = None,
        format: Annotated[ExportFormat, QueryParameter(description=EXPORT_FORMAT_DESCRIPTION)] = "csv",
    ) -> Stream:
        """Alerts opened in the period, as a file for Excel (CSV in UTF-8 with BOM or CP932, or
        XLSX; headers in the reader's language): those about residents the caller may see. Coordinators and
        commissioners; volunteers 403. Audited as an export."""
        period = coverage.period_of(principal, from_, to)
        return await record_exports.alerts_file(
            db_session,
            principal,
            period,
            district_id,
            _reader_locale(request, principal),
            request.app.state.db_config,
            format,
        )
