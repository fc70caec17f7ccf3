"""Weekly trends over the last N weeks (default 12): per local week (Monday to Sunday, the current
week up to today), summed over the districts the caller may read (or one): residents reached,
visits due / done / missed and alerts raised. The same counting rules as coverage (coverage.py),
one period per week, so a week's figures equal a coverage report for that week (and are suppressed
with it, suppression.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.reports import coverage, suppression
from api.reports.schemas import CoverageReport, TrendReport, WeekTrend
from domain import audit
from domain.access import Principal
from domain.errors import InvalidInput
from domain.i18n import register

register(
    {
        "field.suppressed_subtotal": {
            "ja": "複数地区の合計は秘匿処理の対象外のため出力できません。地区を1つ選んでください。",
            "en": "A total over several of your districts cannot be suppressed safely: choose one district.",
        }
    }
)


async def weekly(
    session: AsyncSession, principal: Principal, weeks: int, district_id: str | None, k: int | None = None
) -> TrendReport:
    """With `k` (figures leaving the organisation): each week's figures are hidden as the coverage
    CSV and chart of that week hide them — one suppression over the week's coverage of every
    district of the organisation, whoever asks (suppression.coverage_hidden), as a week's figures
    are that coverage's totals row (or one district's row) and sum the districts' rows. A sum over
    some of the districts (a commissioner's several) is no cell of that table: refused, naming
    `district_id` (suppression.publishes_total). Shares are left out (a share times the residents
    is a count)."""
    districts = await coverage.districts_in_scope(session, principal, district_id)
    ids = [d.id for d in districts]
    if k and not suppression.publishes_total(
        ids, [d.id for d in await coverage.organisation_districts(session, principal)]
    ):
        raise InvalidInput.field("district_id", "field.suppressed_subtotal")
    today = principal.today()
    monday = today - timedelta(days=today.weekday())
    counts = await coverage.resident_counts(session, principal, ids)
    active = sum(c["active"] for c in counts.values())
    periods = [
        coverage.period_of(principal, first, min(first + timedelta(days=6), today))
        for back in range(weeks - 1, -1, -1)
        for first in [monday - timedelta(weeks=back)]
    ]
    tables: list[suppression.CoverageCells] = []
    if k:
        # each week's table as the coverage CSV of that week counts it, every week's at once; the
        # week's figures are read from it (the same counts) rather than counted a second time
        week_reports, whole = await week_tables(session, principal, periods, k)
        tables = [suppression.scope_rows(t, ids) for t in whole]
        rows = [[d for d in week.districts if d.district_id in ids] for week in week_reports]
        reached_in = [{d.district_id: d.contacted.residents for d in r} for r in rows]
        visits_in = [{d.district_id: d.visits for d in r} for r in rows]
        alerts_in = [{d.district_id: d.alerts for d in r} for r in rows]
    else:
        # every week in one grouped statement per row set (the week a group key), as coverage counts it
        reached_in, _ = await coverage.contacted(session, principal, ids, periods)
        visits_in = await coverage.visits(session, principal, ids, periods)
        alerts_in = await coverage.alerts(session, principal, ids, periods)
    out = []
    for period, reached, visits, alerts in zip(periods, reached_in, visits_in, alerts_in, strict=True):
        contacted = sum(reached.values())
        out.append(
            WeekTrend(
                week_start=period.first,
                week_end=period.last,
                contacted=contacted,
                contacted_share=round(contacted / active, 4) if active else None,
                visits_due=sum(v.due for v in visits.values()),
                visits_done=sum(v.done + v.done_late for v in visits.values()),
                visits_missed=sum(v.missed for v in visits.values()),
                alerts_raised=sum(a.raised for a in alerts.values()),
            )
        )
    audit.record(
        session,
        principal,
        "report",
        "trends",
        None,
        district_ids=ids,
        weeks=weeks,
        **({"suppressed_k": k} if k else {}),
    )
    report = TrendReport(district_ids=ids, active_residents=active, timezone=principal.timezone, weeks=out)
    return _suppressed(report, k, tables) if k else report


async def week_tables(
    session: AsyncSession, principal: Principal, periods: list[coverage.Period], k: int
) -> tuple[list[CoverageReport], list[suppression.CoverageCells]]:
    """Each week's coverage of every district of the organisation and its table as the suppressed
    trends publish it (each week suppressed on its own, one table per organisation and week whoever
    asks; a caller's rows are `scope_rows` of it): the trends, and a month, which is suppressed
    knowing what the weeks that add up to it show (suppression rule 6)."""
    reports = await coverage.weekly_coverage(session, principal, periods)
    return reports, [suppression.coverage_hidden(week, k) for week in reports]


async def month_weeks(
    session: AsyncSession, principal: Principal, period: coverage.Period, k: int | None
) -> list[suppression.CoverageCells]:
    """With `k`: the organisation's published tables of the trend weeks whose counts add up to
    `period`'s (coverage.trend_weeks_of), for `coverage.suppressed_coverage(..., weeks=)`: the
    month's table is the organisation's too, so its weeks are the whole tables, not a caller's rows."""
    if not k:
        return []
    tables = []
    for run in coverage.trend_weeks_of(principal, period):
        tables += (await week_tables(session, principal, run, k))[1]
    return tables


# a week's figure: the coverage key it is (suppression.coverage_counts)
_WEEK_KEYS = {
    "contacted": "contacted",
    "visits_due": "visits.due",
    "visits_done": "visits.done_all",
    "visits_missed": "visits.missed",
    "alerts_raised": "alerts.raised",
}


def _suppressed(report: TrendReport, k: int, tables: list[suppression.CoverageCells]) -> TrendReport:
    total = suppression.TOTAL
    weeks = [
        week.model_copy(
            update={
                "contacted_share": None,
                **{n: None for n, key in _WEEK_KEYS.items() if not table.shows(total, key)},
            }
        )
        for week, table in zip(report.weeks, tables, strict=True)
    ]
    # residents now are hidden alike in every week's table (nothing links them to a period's counts)
    active = report.active_residents if tables[-1].shows(total, "active") else None
    return report.model_copy(update={"weeks": weeks, "active_residents": active, "suppressed_k": k})
