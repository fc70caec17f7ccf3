"""Weekly trends over the last N weeks (default 12): per local week (Monday to Sunday, the current
week up to today), summed over the districts the caller may read (or one): residents reached,
visits due / done / missed and alerts raised. The same counting rules as coverage (coverage.py),
one period per week, so a week's figures equal a coverage report for that week."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.reports import coverage, suppression
from api.reports.schemas import TrendReport, WeekTrend
from domain import audit
from domain.access import Principal


async def weekly(
    session: AsyncSession, principal: Principal, weeks: int, district_id: str | None, k: int | None = None
) -> TrendReport:
    """With `k` (figures leaving the organisation): counts from 1 to k-1 become null and shares are
    left out (a share times the residents is a count). No sum links the published figures (the
    weeks are not totalled, visits still planned are not shown), so nothing else needs hiding."""
    districts = await coverage.districts_in_scope(session, principal, district_id)
    ids = [d.id for d in districts]
    today = principal.today()
    monday = today - timedelta(days=today.weekday())
    counts = await coverage.resident_counts(session, principal, ids)
    active = sum(c["active"] for c in counts.values())
    out = []
    for back in range(weeks - 1, -1, -1):
        first = monday - timedelta(weeks=back)
        last = min(first + timedelta(days=6), today)
        period = coverage.period_of(principal, first, last)
        reached, _ = await coverage.contacted(session, principal, ids, period)
        visits = await coverage.visits(session, principal, ids, period)
        alerts = await coverage.alerts(session, principal, ids, period)
        contacted = sum(reached.values())
        out.append(
            WeekTrend(
                week_start=first,
                week_end=last,
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
    return _suppressed(report, k) if k else report


_WEEK_COUNTS = ("contacted", "visits_due", "visits_done", "visits_missed", "alerts_raised")


def _suppressed(report: TrendReport, k: int) -> TrendReport:
    cells: dict[Hashable, int] = {("all", "active"): report.active_residents}
    for i, week in enumerate(report.weeks):
        for name in _WEEK_COUNTS:
            cells[(i, name)] = getattr(week, name)
    hidden = suppression.suppress(cells, [], k)
    weeks = [
        week.model_copy(
            update={"contacted_share": None, **{n: None for n in _WEEK_COUNTS if (i, n) in hidden}}
        )
        for i, week in enumerate(report.weeks)
    ]
    return report.model_copy(
        update={
            "weeks": weeks,
            "active_residents": None if ("all", "active") in hidden else report.active_residents,
            "suppressed_k": k,
        }
    )
