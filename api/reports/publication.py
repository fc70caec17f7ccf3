"""A month's suppressed statistics are published once, then frozen.

The first suppressed request for a calendar month (the coverage file or chart, the monthly trends;
any caller) counts every district of the organisation, suppresses the table (suppression.py) and
stores it with the k used (`PublishedStatistics`); every later suppressed request for that month
reads the stored table, whatever has been synced, corrected or changed since, and whatever k the
settings hold now. Two tables of the same month could be differenced (a note synced late: one
more reached in one district, so a hidden cell's value shows in the difference, or a cell hidden
in one and shown in the other), so only one ever leaves the organisation.

Phones sync late, so a month is published only `Settings.statistics_settle_days` days after it
ended (the organisation's calendar); before that a suppressed request for it is refused, naming
the date it will be available. A late change after publication is not republished: in-house
(unsuppressed) reports always show the live figures.

Concurrent first requests (several server processes) store one table: INSERT … ON CONFLICT DO
NOTHING, then everyone reads what is stored; only the process whose insert stored it records the
publication (audit).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from api.reports import coverage, suppression
from api.reports.schemas import (
    AlertCounts,
    ContactCoverage,
    CoverageReport,
    DistrictCoverage,
    ResidentCounts,
    SafetyCheckCoverage,
    Share,
    VisitCounts,
)
from domain import audit
from domain.access import Principal
from domain.base import new_id
from domain.clock import utcnow
from domain.errors import InvalidInput
from domain.i18n import register
from domain.models import District, PublishedStatistics

register(
    {
        "field.suppressed_month_not_settled": {
            "ja": "{month}の秘匿処理をした統計は、遅れて同期される記録を待ってから公表します（{available}から"
            "出力できます）。公表後の数値は変わりません。",
            "en": "Suppressed statistics for {month} are published once late-syncing records have "
            "arrived: available from {available}. Once published, the figures never change.",
        }
    }
)


@dataclass(frozen=True)
class Publication:
    """A month's organisation-wide suppressed table as published."""

    month: date  # first day
    k: int
    districts: list[tuple[str, str]]  # (id, name) as published, in the table's row order
    table: suppression.CoverageCells


def available_on(month: date, settle_days: int) -> date:
    """The first local day a month's suppressed statistics may be published: `settle_days` after
    the month ended (the day after its last day)."""
    return coverage.month_end(month) + timedelta(days=1 + settle_days)


def _encode(report: CoverageReport, table: suppression.CoverageCells) -> dict[str, Any]:
    return {
        "districts": [[d.district_id, d.name] for d in report.districts],
        "cells": [[row, key, n] for (row, key), n in table.cells.items()],
        "hidden": sorted([row, key] for row, key in table.hidden),
    }


def _decode(row: PublishedStatistics) -> Publication:
    t = row.table
    cells: dict[Hashable, int] = {(r, key): n for r, key, n in t["cells"]}
    hidden: set[Hashable] = {(r, key) for r, key in t["hidden"]}
    return Publication(
        row.month, row.k, [(i, name) for i, name in t["districts"]], suppression.CoverageCells(cells, hidden)
    )


async def _stored(
    session: AsyncSession, principal: Principal, months: Sequence[date]
) -> dict[date, Publication]:
    rows = await session.scalars(
        select(PublishedStatistics).where(
            PublishedStatistics.org_id == principal.org_id, PublishedStatistics.month.in_(list(months))
        )
    )
    return {row.month: _decode(row) for row in rows}


def settled(principal: Principal, month: date, settle_days: int) -> bool:
    return principal.today() >= available_on(month, settle_days)


async def _store(
    session: AsyncSession,
    principal: Principal,
    period: coverage.Period,
    report: CoverageReport,
    k: int,
) -> None:
    """Stores the month's table unless it already is (another request, maybe in another process,
    got there first: its table stands, and it recorded the publication)."""
    table = suppression.coverage_hidden(report, k)
    values = {
        "id": new_id(),
        "org_id": principal.org_id,
        "month": period.first,
        "k": k,
        "published_at": utcnow(),
        "published_by": principal.user_id,
        "table": _encode(report, table),
    }
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(PublishedStatistics)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["org_id", "month"])
    )
    result = await session.execute(statement)
    if result.rowcount:
        audit.record(
            session,
            principal,
            "publish",
            "published_statistics",
            values["id"],
            month=period.first.strftime("%Y-%m"),
            k=k,
            district_ids=[d.district_id for d in report.districts],
        )


async def publication(
    session: AsyncSession, principal: Principal, period: coverage.Period, k: int, settle_days: int
) -> Publication:
    """The month `period` (a whole ended month: `coverage.published_month`) as published, publishing
    it with `k` if nobody has yet. Not settled yet and not published: 400 naming `to`."""
    found = await _stored(session, principal, [period.first])
    if period.first in found:
        return found[period.first]
    if not settled(principal, period.first, settle_days):
        raise InvalidInput.field(
            "to",
            "field.suppressed_month_not_settled",
            month=period.first.strftime("%Y-%m"),
            available=available_on(period.first, settle_days).isoformat(),
        )
    report = await coverage.organisation_coverage(session, principal, period)
    await _store(session, principal, period, report, k)
    return (await _stored(session, principal, [period.first]))[period.first]


def available_months(
    principal: Principal, n: int, latest_published: date | None, settle_days: int
) -> list[coverage.Period]:
    """The last `n` months that are published or may be: ended months counted back from the latest
    settled one, or from the latest published if that is later (the settling time was raised after
    it was published)."""
    months = coverage.ended_months(principal, 1)
    last = months[-1].first
    while not settled(principal, last, settle_days) and not (latest_published and last <= latest_published):
        last = (last - timedelta(days=1)).replace(day=1)
    return coverage.months_up_to(principal, last, n)


async def publications(
    session: AsyncSession, principal: Principal, n: int, k: int, settle_days: int
) -> list[tuple[coverage.Period, Publication]]:
    """The last `n` available months (`available_months`), oldest first, each as published; the
    ones nobody has asked for yet are published now, counted at once (coverage.coverage_by_period)."""
    latest = await session.scalar(
        select(PublishedStatistics.month)
        .where(PublishedStatistics.org_id == principal.org_id)
        .order_by(PublishedStatistics.month.desc())
        .limit(1)
    )
    periods = available_months(principal, n, latest, settle_days)
    found = await _stored(session, principal, [p.first for p in periods])
    missing = [i for i, p in enumerate(periods) if p.first not in found]
    if missing:
        # consecutive periods for one grouped count: the span from the first to the last missing
        span = periods[missing[0] : missing[-1] + 1]
        reports = await coverage.coverage_by_period(session, principal, span)
        for period, report in zip(span, reports, strict=True):
            if period.first not in found:
                await _store(session, principal, period, report, k)
        found = await _stored(session, principal, [p.first for p in periods])
    return [(p, found[p.first]) for p in periods]


def published_ids(publication: Publication, district_ids: Collection[str]) -> set[str]:
    """The districts of `district_ids` that are rows of the published table (a district made after
    the month was published has none)."""
    return {i for i, _ in publication.districts} & set(district_ids)


def scoped(publication: Publication, district_ids: Collection[str]) -> suppression.CoverageCells:
    """The caller's rows of the published table (suppression.scope_rows)."""
    return suppression.scope_rows(publication.table, published_ids(publication, district_ids))


def report_of(
    publication: Publication, period: coverage.Period, timezone: str, district_ids: Collection[str]
) -> CoverageReport:
    """The caller's districts of the published table as a `CoverageReport` (the shape the coverage
    file and chart are drawn from), every count as published: figures not in the suppressed table
    (medians, names of people, campaigns) are left empty, as the suppressed file and chart leave
    them out."""
    wanted = published_ids(publication, district_ids)
    cells = publication.table.cells
    out = []
    for district_id, name in publication.districts:
        if district_id not in wanted:
            continue

        def n(key: str, row: str = district_id) -> int:
            return cells.get((row, key), 0)

        active = n("active")
        # in the table's order (the order the live report lists them in)
        methods = [
            k.removeprefix("method.") for r, k in cells if r == district_id and k.startswith("method.")
        ]
        out.append(
            DistrictCoverage(
                district_id=district_id,
                name=name,
                residents=ResidentCounts(
                    active=active,
                    paused=n("paused"),
                    by_risk={r: n(f"risk.{r}") for r in suppression.RISKS},
                    by_household={},
                ),
                contacted=ContactCoverage(
                    residents=n("contacted"),
                    share=coverage._share(n("contacted"), active),
                    by_method={
                        m: Share(residents=n(f"method.{m}"), share=coverage._share(n(f"method.{m}"), active))
                        for m in methods
                    },
                ),
                visits=VisitCounts(**{c: n(f"visits.{c}") for c in suppression.VISIT_OUTCOMES}, cancelled=0),
                alerts=AlertCounts(
                    raised=n("alerts.raised"),
                    acknowledged=n("alerts.acknowledged"),
                    resolved=n("alerts.resolved"),
                    median_minutes_to_acknowledge=None,
                    median_minutes_to_resolve=None,
                ),
                safety_checks=SafetyCheckCoverage(
                    **{c: n(f"safety.{c}") for c in suppression.SAFETY_RESULTS},
                    completed_share=None,
                    by_campaign=[],
                ),
                residents_without_plan=n("without_plan"),
                residents_without_visiting_consent=n("without_consent"),
                commissioners=[],
                caseload=[],
            )
        )
    return CoverageReport(
        from_date=period.first,
        to_date=period.last,
        timezone=timezone,
        districts=out,
        districts_without_commissioner=[],
    )


@dataclass(frozen=True)
class SuppressedCoverage:
    """A coverage for outside the office: the caller's districts and their rows of the month's
    published table."""

    report: CoverageReport  # the caller's districts (or the one asked) only, as published
    table: suppression.CoverageCells
    k: int  # the k the month was published with


async def suppressed_coverage(
    session: AsyncSession,
    principal: Principal,
    period: coverage.Period,
    district_id: str | None,
    k: int,
    *,
    settle_days: int,
    purpose: str = "report",
) -> SuppressedCoverage:
    """The coverage file's and chart's figures of a published month (`coverage.published_month`
    checked first): the organisation's one table (`publication`), of which only the caller's rows
    (or `district_id`'s) leave here. A commissioner's districts suppressed as a table of their own
    would hide other cells than the coordinator's file, and the two side by side would give hidden
    cells away."""
    shown: list[District] = await coverage.districts_in_scope(session, principal, district_id)
    published = await publication(session, principal, period, k, settle_days)
    ids = [d.id for d in shown]
    coverage.audit_coverage(session, principal, purpose, period, shown, published.k)
    return SuppressedCoverage(
        report_of(published, period, principal.timezone, ids), scoped(published, ids), published.k
    )
