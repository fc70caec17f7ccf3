"""The suppressed trends count every week's coverage table at once (the week a group key), by the
same rules as the coverage report of that week: the tables are equal, and the statements do not
grow with the weeks asked."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import event, select

from api.reports import coverage, trends
from domain.access import Principal
from domain.enums import Role
from domain.models import User
from tests.reports.test_linked_suppression import small_town  # noqa: F401  (fixture)


async def _coordinator(s) -> Principal:
    coord = (await s.scalars(select(User).where(User.role == Role.COORDINATOR))).one()
    return Principal(user_id=coord.id, org_id=coord.org_id, role=Role.COORDINATOR, timezone="Asia/Tokyo")


async def test_each_week_table_is_that_week_coverage_report(db, small_town) -> None:  # noqa: F811
    async with db() as s:
        principal = await _coordinator(s)
        monday = date(2026, 5, 25)
        periods = [
            coverage.period_of(principal, monday + timedelta(weeks=w), monday + timedelta(weeks=w, days=6))
            for w in range(2)
        ] + [coverage.period_of(principal, date(2026, 6, 8), date(2026, 6, 10))]
        weekly = await coverage.weekly_coverage(s, principal, periods)
        for period, week in zip(periods, weekly, strict=True):
            alone = await coverage.coverage(s, principal, period, None, audited=False)
            assert week.model_dump() == alone.model_dump()
        # the hand-built town: 8 reached in the week of 1 June, alerts 6 then 15
        assert [sum(d.contacted.residents for d in w.districts) for w in weekly] == [0, 8, 0]
        assert [sum(d.alerts.raised for d in w.districts) for w in weekly] == [0, 6, 15]


async def test_suppressed_trends_statements_do_not_grow_with_the_weeks(db, small_town) -> None:  # noqa: F811
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
            for weeks in (2, 12):
                seen.clear()
                report = await trends.weekly(s, principal, weeks, None, k=5)
                assert len(report.weeks) == weeks
                statements.append(len(seen))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert statements[0] == statements[1]


async def test_suppressed_trends_show_the_unsuppressed_figures_where_shown(db, small_town) -> None:  # noqa: F811
    async with db() as s:
        principal = await _coordinator(s)
        for district_id in [None, *(d for d in small_town.values() if d)]:
            plain = await trends.weekly(s, principal, 3, district_id)
            hidden = await trends.weekly(s, principal, 3, district_id, k=5)
            for shown, full in zip(hidden.weeks, plain.weeks, strict=True):
                for name, value in shown.model_dump(exclude={"contacted_share"}).items():
                    assert value is None or value == getattr(full, name)
        assert [w.alerts_raised for w in plain.weeks] != [None] * 3
