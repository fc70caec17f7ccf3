"""Trends over the last N periods, summed over the districts the caller may read (or one):
residents reached, visits due / done / missed and alerts raised, counted by the same rules as
coverage (coverage.py).

* `weekly`, for use in the office: per local week (Monday to Sunday, the current week up to
  today), the last N weeks (default 12), with the share reached.
* `monthly`, statistics that leave the organisation (suppress=true): per calendar month of the
  organisation's calendar that is published or publishable (ended and settled, publication.py),
  the last N months (default 12), each month's figures exactly as the coverage file and chart of
  that month publish them (one suppression per organisation and month, suppression.py, stored
  once and frozen). Weeks are never published suppressed: a week straddling
  two months would link the two months' files, and the running week asked on two days would give
  one day's events away (suppression rule 6).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.reports import coverage, publication, suppression
from api.reports.schemas import MonthlyTrendReport, MonthTrend, TrendReport, WeekTrend
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
    session: AsyncSession, principal: Principal, weeks: int, district_id: str | None
) -> TrendReport:
    """For use in the office only (never suppressed; see `monthly`)."""
    districts = await coverage.districts_in_scope(session, principal, district_id)
    ids = [d.id for d in districts]
    today = principal.today()
    monday = today - timedelta(days=today.weekday())
    counts = await coverage.resident_counts(session, principal, ids)
    active = sum(c["active"] for c in counts.values())
    periods = [
        coverage.period_of(principal, first, min(first + timedelta(days=6), today))
        for back in range(weeks - 1, -1, -1)
        for first in [monday - timedelta(weeks=back)]
    ]
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
    audit.record(session, principal, "report", "trends", None, district_ids=ids, weeks=weeks)
    return TrendReport(district_ids=ids, active_residents=active, timezone=principal.timezone, weeks=out)


# a month's figure: the coverage key it is (suppression.coverage_counts)
_MONTH_KEYS = {
    "contacted": "contacted",
    "visits_due": "visits.due",
    "visits_done": "visits.done_all",
    "visits_missed": "visits.missed",
    "alerts_raised": "alerts.raised",
}


async def monthly(
    session: AsyncSession,
    principal: Principal,
    months: int,
    district_id: str | None,
    k: int,
    *,
    settle_days: int,
) -> MonthlyTrendReport:
    """The last `months` calendar months that are published or may be (publication.available_months:
    ended at least `settle_days` ago; never the running month), each month's figures read from that
    month's one published table — the coverage of every district of the organisation, whoever
    asks, suppressed once and frozen (publication.py), the table the coverage file and chart of
    that month publish: a month's figures are its totals row, or the one district's row
    (suppression.scope_rows). Months nobody has asked for yet are published now with `k`, counted
    at once (coverage.coverage_by_period). A sum over some of the districts (a commissioner's
    several) is no cell of that table: refused, naming `district_id` (suppression.publishes_total).
    Shares are left out (a share times the residents is a count)."""
    districts = await coverage.districts_in_scope(session, principal, district_id)
    ids = [d.id for d in districts]
    if not suppression.publishes_total(
        ids, [d.id for d in await coverage.organisation_districts(session, principal)]
    ):
        raise InvalidInput.field("district_id", "field.suppressed_subtotal")
    published = await publication.publications(session, principal, months, k, settle_days)
    tables = [publication.scoped(p, ids) for _, p in published]

    def figure(table: suppression.CoverageCells, key: str) -> int | None:
        # no district at all: a sum of nothing, 0, which says nothing
        return table.cells.get((suppression.TOTAL, key), 0) if table.shows(suppression.TOTAL, key) else None

    out = [
        MonthTrend(
            month=period.first.strftime("%Y-%m"),
            month_start=period.first,
            month_end=period.last,
            suppressed_k=p.k,
            **{name: figure(table, key) for name, key in _MONTH_KEYS.items()},
        )
        for (period, p), table in zip(published, tables, strict=True)
    ]
    audit.record(
        session,
        principal,
        "report",
        "trends",
        None,
        district_ids=ids,
        months=months,
        suppressed_k=min(p.k for _, p in published),
    )
    return MonthlyTrendReport(
        district_ids=ids,
        # residents as the last month was published: hidden alike in every month's table (nothing
        # links them to a period's counts)
        active_residents=figure(tables[-1], "active"),
        suppressed_k=min(p.k for _, p in published),
        timezone=principal.timezone,
        months=out,
    )
