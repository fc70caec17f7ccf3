"""The trends count every period's coverage table at once (the period a group key), by the same
rules as the coverage report of that period: the tables are equal, and the statements do not grow
with the periods asked. The suppressed (monthly) trends are each month's one suppression, cell for
cell as the coverage file of that month publishes it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import event, select

from api.reports import coverage, publication, suppression, trends
from domain.access import Principal
from domain.clock import clock
from domain.enums import Role
from domain.models import User
from tests.reports.test_linked_suppression import JUNE_ENDED, small_town  # noqa: F401  (fixture)


async def _coordinator(s) -> Principal:
    coord = (await s.scalars(select(User).where(User.role == Role.COORDINATOR))).one()
    return Principal(user_id=coord.id, org_id=coord.org_id, role=Role.COORDINATOR, timezone="Asia/Tokyo")


async def test_each_period_table_is_that_period_coverage_report(db, small_town) -> None:  # noqa: F811
    async with db() as s:
        principal = await _coordinator(s)
        monday = date(2026, 5, 25)
        weeks = [
            coverage.period_of(principal, monday + timedelta(weeks=w), monday + timedelta(weeks=w, days=6))
            for w in range(2)
        ] + [coverage.period_of(principal, date(2026, 6, 8), date(2026, 6, 10))]
        clock.set(JUNE_ENDED)
        months = coverage.ended_months(principal, 3)
        assert [(m.first, m.last) for m in months] == [
            (date(2026, 4, 1), date(2026, 4, 30)),
            (date(2026, 5, 1), date(2026, 5, 31)),
            (date(2026, 6, 1), date(2026, 6, 30)),
        ]
        for periods in (weeks, months):
            tables = await coverage.coverage_by_period(s, principal, periods)
            for period, table in zip(periods, tables, strict=True):
                alone = await coverage.coverage(s, principal, period, None, audited=False)
                assert table.model_dump() == alone.model_dump()
        # the hand-built town: 8 reached in the week of 1 June, alerts 6 then 15; June has all
        weekly = await coverage.coverage_by_period(s, principal, weeks)
        assert [sum(d.contacted.residents for d in w.districts) for w in weekly] == [0, 8, 0]
        assert [sum(d.alerts.raised for d in w.districts) for w in weekly] == [0, 6, 15]
        assert [sum(d.alerts.raised for d in m.districts) for m in tables] == [0, 0, 21]


async def test_suppressed_trends_statements_do_not_grow_with_the_months(db, small_town) -> None:  # noqa: F811
    clock.set(JUNE_ENDED)
    async with db() as s:
        principal = await _coordinator(s)
        engine = (await s.connection()).engine.sync_engine
        seen: list[str] = []

        def count(conn, cursor, statement, params, context, many) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            statements = []
            for months in (2, 24):
                seen.clear()
                report = await trends.monthly(s, principal, months, None, k=5, settle_days=0)
                assert len(report.months) == months
                statements.append(len(seen))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert statements[0] == statements[1]


async def test_each_trend_month_is_that_months_file_cell_for_cell(db, small_town) -> None:  # noqa: F811
    """A month's suppressed trend figures are its coverage file's table (coverage.suppressed_coverage,
    the file and chart of that month): the totals row, or with a district its row; hidden where
    the file hides it, the same count where it shows it."""
    clock.set(JUNE_ENDED)
    async with db() as s:
        principal = await _coordinator(s)
        seen = {}
        for district_id in [None, *(d for d in small_town.values() if d)]:
            report = await trends.monthly(s, principal, 3, district_id, k=5, settle_days=0)
            assert report.months[-1].month == "2026-06" and len(report.months) == 3
            for month in report.months:
                period = coverage.period_of(principal, month.month_start, month.month_end)
                coverage.published_month(principal, period)  # a month its file may be asked for
                file = await publication.suppressed_coverage(
                    s, principal, period, district_id, 5, settle_days=0
                )
                table = file.table
                row = suppression.TOTAL
                for name, key in trends._MONTH_KEYS.items():
                    expected = table.cells[(row, key)] if table.shows(row, key) else None
                    assert getattr(month, name) == expected, (district_id, month.month, name)
                active = table.cells[(row, "active")] if table.shows(row, "active") else None
                assert report.active_residents == active
            seen[district_id] = report.months[-1].alerts_raised
        # 東地区's 2 alerts hidden, 西地区's 12 shown, all 21 shown
        east, west = small_town["東地区"], small_town["西地区"]
        assert (seen[east], seen[west], seen[None]) == (None, 12, 21)
