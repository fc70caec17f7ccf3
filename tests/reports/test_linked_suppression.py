"""An outsider holds every suppressed (suppress=true) figure the service publishes: the coverage
CSV (all districts and each one), the coverage chart (all and each), the monthly trends (all
districts and each), the coordinator's (every district) and a commissioner's (their districts).
Statistics leaving the office are published by whole calendar months that have ended only: the
coverage file and chart of such a month (any other period: 400), and the trends as those months
(weeks with suppress=true: 400), so no two published tables overlap. Put together, the same
quantity appears in several of them (a district's active residents: CSV, chart, trends by district,
and every month's CSV; a month's alerts: its CSV and its trend month) and sums link them (districts
to the total row; a risk split to its residents; the trends' visits done = done + done late; a
published period to published periods that tile it, had any been). The attacker gathers every
shown cell under one key per quantity (row, column, period) and solves all the published sums at
once (exact linear algebra, suppression.recoverable): no cell hidden anywhere may be shown
elsewhere or follow from the rest."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from api.reports import charts, coverage, publication, suppression
from api.reports.suppression import Sum, recoverable
from domain.clock import clock
from domain.enums import AlertStatus, ContactMethod, ContactOutcome, RiskLevel, Role
from domain.models import Alert, ContactNote
from domain.settings import Settings
from tests.factories import login, make_district, make_org, make_resident, make_user


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """What is hidden, not when (the settling time: tests/reports/test_publication.py): a month's
    suppressed statistics are published as soon as it has ended."""
    return settings.model_copy(update={"statistics_settle_days": 0})


TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # Wednesday 10 June in Tokyo
WEEK1 = ("2026-06-01", "2026-06-07")
WEEK2 = ("2026-06-08", "2026-06-10")  # the current week, up to today
BOTH = ("2026-06-01", "2026-06-10")
JUNE = ("2026-06-01", "2026-06-30")
JUNE_ENDED = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)  # Wednesday 1 July in Tokyo
# February 2027 runs from Monday 1 to Sunday 28: exactly four weeks
FEB_NOW = datetime(2027, 3, 3, 3, 0, tzinfo=UTC)  # Wednesday 3 March in Tokyo: February has ended
FEB = ("2027-02-01", "2027-02-28")
JAN = ("2027-01-01", "2027-01-31")
# the week of Monday 29 June 2026 straddles June and July
JULY = ("2026-07-01", "2026-07-31")
JULY_ENDED = datetime(2026, 8, 5, 3, 0, tzinfo=UTC)  # Wednesday 5 August in Tokyo
SVG_NS = "{http://www.w3.org/2000/svg}"
TOTAL = "合計"
RISKS = ("リスク高", "リスク中", "リスク低")
VISITS = ("訪問実施", "遅れて実施", "未実施", "未記録（予定のまま）")
# counts of residents now: the same quantity whatever the period asked
NOW_COLUMNS = {"見守り中", "休止中", *RISKS, "計画なし", "同意がなく訪問できない人"}
# counts of events in the period: a period's count is the sum of its parts' counts
ADDITIVE = {"訪問予定", *VISITS, "アラート発生", "アラート確認済", "アラート解決済", "trend.visits_done"}


async def _town(db, now: datetime, first: datetime, second: datetime) -> dict[str, str | None]:
    """東地区: 3 active residents (one per risk level), 2 of them reached on `first`, 2 alerts on
    `second` (the next week): every figure a small cell. 西地区: 6 low-risk residents, all reached on
    `first`, 6 alerts on each day. 南地区: 5 residents, 7 alerts on `second`. 北地区: nobody.
    Totals: 14 active, 8 reached in the first week; alerts 6 then 15. The commissioner "comm"
    holds 東地区 and 西地区."""
    clock.set(now)
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        south = await make_district(s, org, "南地区")
        await make_district(s, org, "北地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east, west])
        author = await make_user(s, org, Role.VOLUNTEER, "vol")

        async def resident(district, name, risk):
            return await make_resident(s, org, district, name=name, kana="カナ", risk_level=risk)

        east_people = [await resident(east, f"東{i}", r) for i, r in enumerate(RiskLevel)]
        west_people = [await resident(west, f"西{i}", RiskLevel.LOW) for i in range(6)]
        south_people = [await resident(south, f"南{i}", RiskLevel.LOW) for i in range(5)]
        first, second = first.astimezone(UTC), second.astimezone(UTC)
        s.add_all(
            ContactNote(
                org_id=org.id,
                resident_id=r.id,
                author_id=author.id,
                method=ContactMethod.PHONE,
                outcome=ContactOutcome.MET_WELL,
                occurred_at=first,
                received_at=first,
            )
            for r in [*east_people[:2], *west_people]
        )
        alerts = [(east_people[i], second) for i in range(2)]
        alerts += [(west_people[i], when) for i in range(6) for when in (first, second)]
        alerts += [(south_people[i % 5], second) for i in range(7)]
        s.add_all(
            Alert(
                org_id=org.id,
                kind="missed_visit",
                cause_key=f"test-{n}",
                resident_id=who.id,
                opened_at=when,
                status=AlertStatus.OPEN,
            )
            for n, (who, when) in enumerate(alerts)
        )
        await s.commit()
        return {"東地区": east.id, "西地区": west.id, "南地区": south.id, "北地区": None}


@pytest.fixture
async def small_town(db):
    """The town in June 2026, today 10 June: reached on 3 June, alerts on 3 and 9 June."""
    return await _town(
        db, NOW, datetime(2026, 6, 3, 10, 0, tzinfo=TOKYO), datetime(2026, 6, 9, 10, 0, tzinfo=TOKYO)
    )


@pytest.fixture
async def february_town(db):
    """The same town in February 2027, today 3 March: reached on 3 February (the first week),
    alerts on 3 and 9 February (the first and second weeks)."""
    return await _town(
        db, FEB_NOW, datetime(2027, 2, 3, 10, 0, tzinfo=TOKYO), datetime(2027, 2, 9, 10, 0, tzinfo=TOKYO)
    )


@pytest.fixture
async def straddling_town(db):
    """The same town across June and July 2026, today 5 August: reached on Tuesday 30 June, alerts
    on 30 June and on Thursday 2 July, both in the week of 29 June that straddles the two months."""
    return await _town(
        db,
        JULY_ENDED,
        datetime(2026, 6, 30, 10, 0, tzinfo=TOKYO),
        datetime(2026, 7, 2, 10, 0, tzinfo=TOKYO),
    )


class Outsider:
    """What the attacker learns: shown cells, cells seen hidden, and the sums a reader knows."""

    def __init__(self) -> None:
        self.shown: dict[tuple[str, str], int] = {}
        self.hidden: set[tuple[str, str]] = set()
        self.sums: list[Sum] = []
        self.log: list[tuple[tuple[str, str], object]] = []  # every sighting, in order (to debug)

    def see(self, key: tuple[str, str], value: object) -> None:
        self.log.append((key, value))
        if value is None or value in ("X", "秘匿"):
            self.hidden.add(key)
        else:
            self.shown[key] = int(value)  # type: ignore[call-overload]

    def recovered(self) -> dict[tuple[str, str], int | str]:
        """Cells hidden somewhere that the attacker knows anyway: shown in another table, or fixed by
        the published sums over all tables together (their value solved out). A cell a sum names
        but no table shows (a week's visits done late) is unknown too."""
        out: dict[tuple[str, str], int | str] = {c: self.shown[c] for c in self.hidden if c in self.shown}
        named = {c for s in self.sums for c in s.cells}
        unknown = (self.hidden | named) - set(self.shown)
        for cell in recoverable(unknown, self.sums) & self.hidden:
            out[cell] = "solved"
        return out


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return [line.split(",") for line in response.content.decode("utf-8-sig").split("\r\n") if line]


def _key(row: str, column: str, period: tuple[str, str]) -> tuple[str, str]:
    return (row, column, "now" if column in NOW_COLUMNS else "..".join(period))  # type: ignore[return-value]


def _total(names: list[str], ids: dict[str, str | None]) -> str:
    """The key of the totals row of a file over `names`: one district's total is its row, every
    district's (北地区, nobody's and never asked alone, included) is the organisation's total, any
    other is a sum of its own (a sub-total)."""
    if len(names) == 1:
        return names[0]
    return TOTAL if set(names) == set(ids) else f"{TOTAL}({'+'.join(names)})"


async def _gather(
    client,
    ids: dict[str, str | None],
    periods: list[tuple[str, str]],
    months: int = 3,
    trends_on: tuple[datetime, ...] = (),
    user: str = "coord",
    scope: list[str] | None = None,
    o: Outsider | None = None,
) -> Outsider:
    """Every suppressed file and chart `user` can fetch over `scope` (the district names they may
    read, default all; their whole scope and each district) of `periods` (today), and the
    suppressed trends of the last `months` ended months asked today and on each day of
    `trends_on`."""
    o = o or Outsider()
    today = clock.now()
    published: set[tuple[str, str]] = set(periods)
    for day in (*trends_on, today):
        clock.set(day)
        published |= await _trends(client, ids, months, o, user, scope)
    await _files(client, ids, periods, o, user, scope)
    # 4. a published period tiled by other published periods is their sum (counts of events add
    # up); published months never tile one another, weeks would tile a month (see the break test)
    districts = [n for n, i in ids.items() if i]
    for period in published:
        first, last = date.fromisoformat(period[0]), date.fromisoformat(period[1])
        inside = sorted(w for w in published if w != period and period[0] <= w[0] and w[1] <= period[1])
        days = [date.fromisoformat(w[1]) - date.fromisoformat(w[0]) for w in inside]
        covered = all(b[0] > a[1] for a, b in pairwise(inside))
        if not inside or not covered or sum(d.days + 1 for d in days) != (last - first).days + 1:
            continue
        for row, column, _ in {*o.shown, *o.hidden}:
            if column in ADDITIVE and row in (TOTAL, *districts):
                whole = _key(row, column, period)
                o.sums.append(Sum(whole, tuple(_key(row, column, w) for w in inside)))
    o.sums = list({(s.whole, s.parts): s for s in o.sums}.values())
    return o


async def _files(
    client,
    ids: dict[str, str | None],
    periods: list[tuple[str, str]],
    o: Outsider,
    user: str = "coord",
    scope: list[str] | None = None,
) -> None:
    headers_of = await login(client, user)
    districts = [n for n, i in ids.items() if i]
    scope = scope or districts
    for period in periods:
        query = f"from={period[0]}&to={period[1]}&suppress=true"
        # 1. the coverage CSV, the whole scope and each district; a totals row; row sums (risk, visits)
        for one in [None, *scope]:
            only = f"&district_id={ids[one]}" if one else ""
            lines = _csv(
                await client.get(f"/api/v1/reports/coverage?{query}&format=csv{only}", headers=headers_of)
            )
            headers, rows = lines[0], lines[1:]
            names = [r[0] for r in rows if r[0] != TOTAL]
            total = _total(names, ids)
            for row in rows:
                name = total if row[0] == TOTAL else row[0]
                for h, v in zip(headers[1:], row[1:], strict=True):
                    o.see(_key(name, h, period), v)
                o.sums.append(
                    Sum(_key(name, "見守り中", period), tuple(_key(name, r, period) for r in RISKS))
                )
                o.sums.append(
                    Sum(_key(name, "訪問予定", period), tuple(_key(name, v, period) for v in VISITS))
                )
            if len(names) > 1 and any(r[0] == TOTAL for r in rows):
                for h in headers[1:]:
                    parts = tuple(_key(n, h, period) for n in names)
                    o.sums.append(Sum(_key(total, h, period), parts))
            # 2. the coverage chart: per district "reached of residents" or 秘匿
            chart = await client.get(f"/api/v1/reports/charts/coverage.svg?{query}{only}", headers=headers_of)
            desc = ET.fromstring(chart.content).find(f"{SVG_NS}desc").text  # noqa: S314
            for part in desc.split("; "):
                name, _, value = part.partition(": ")
                if name not in districts:
                    continue
                if m := re.fullmatch(r"(\d+)人中(\d+)人（.*）", value):
                    o.see(_key(name, "見守り中", period), m[1])
                    o.see(_key(name, "期間内に接触した人数", period), m[2])
                else:  # 秘匿: one of the two is hidden, which one is not said
                    assert value in ("秘匿", "対象者なし"), value


async def _trends(
    client,
    ids: dict[str, str | None],
    months: int,
    o: Outsider,
    user: str = "coord",
    scope: list[str] | None = None,
) -> set[tuple[str, str]]:
    """3. the suppressed trends, the whole scope (its totals row) and each district: a month's
    figures are that month's coverage; its visits done = done + done late."""
    headers_of = await login(client, user)
    districts = [n for n, i in ids.items() if i]
    narrower = scope is not None  # a commissioner's districts; else every district's trends
    scope = scope or districts
    seen: list[tuple[str, str]] = []
    for one in [None, *scope]:
        only = f"&district_id={ids[one]}" if one else ""
        response = await client.get(
            f"/api/v1/reports/trends?months={months}&suppress=true{only}", headers=headers_of
        )
        name = one or (_total(scope, ids) if narrower else TOTAL)
        if response.status_code == 400 and name not in (TOTAL, *districts):
            # a sub-total need not be published (the commissioner is asked to choose a district)
            assert response.json()["errors"][0]["field"] == "district_id", response.text
            continue
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["period"] == "month"
        seen = [(m["month_start"], m["month_end"]) for m in report["months"]]
        o.see(_key(name, "見守り中", seen[0]), report["active_residents"])
        for month, period in zip(report["months"], seen, strict=True):
            for field, column in (
                ("contacted", "期間内に接触した人数"),
                ("visits_due", "訪問予定"),
                ("visits_missed", "未実施"),
                ("alerts_raised", "アラート発生"),
                ("visits_done", "trend.visits_done"),
            ):
                o.see(_key(name, column, period), month[field])
            done = (_key(name, "訪問実施", period), _key(name, "遅れて実施", period))
            o.sums.append(Sum(_key(name, "trend.visits_done", period), done))
    return set(seen)


COMMISSIONER = ["東地区", "西地区"]  # comm's districts in the town


async def test_the_hand_built_town_has_small_cells_to_hide(client, february_town) -> None:
    o = await _gather(client, february_town, [JAN, FEB])
    assert ("東地区", "見守り中", "now") in o.hidden
    assert ("東地区", "期間内に接触した人数", "..".join(FEB)) in o.hidden
    assert ("東地区", "アラート発生", "..".join(FEB)) in o.hidden
    assert o.shown[(TOTAL, "見守り中", "now")] == 14  # the totals themselves are not small
    assert o.shown[(TOTAL, "アラート発生", "..".join(FEB))] == 21
    # the trends are the months that have ended (December to February), never March, running
    assert {p for _, _, p in o.shown} == {"now", "2026-12-01..2026-12-31", "..".join(JAN), "..".join(FEB)}


async def test_no_hidden_cell_follows_from_all_published_tables_together(client, february_town) -> None:
    """January and February's files and charts, the monthly trends over them, every district and
    all: nothing hidden is recovered."""
    o = await _gather(client, february_town, [JAN, FEB])
    assert o.recovered() == {}


async def test_no_hidden_cell_follows_across_the_week_straddling_two_months(client, straddling_town) -> None:
    """June and July 2026, the events of the week of 29 June on both sides of the month's end
    (reached and alerts on 30 June, alerts on 2 July): that week is never published suppressed,
    so nothing links the two months but their own files and trend months, and nothing hidden is
    recovered."""
    o = await _gather(client, straddling_town, [JUNE, JULY])
    assert ("東地区", "アラート発生", "..".join(JULY)) in o.hidden
    assert not any("2026-06-29" in p for _, _, p in {*o.shown, *o.hidden})
    assert o.recovered() == {}
    coord = await login(client, "coord")
    refused = await client.get("/api/v1/reports/trends?weeks=6&suppress=true", headers=coord)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "weeks"


async def test_no_hidden_cell_follows_from_a_commissioners_and_the_coordinators_files(
    client, february_town
) -> None:
    """The commissioner's files (東地区 and 西地区, together and each) next to the coordinator's
    (every district), January and February and the trend months: each of them is rows of the
    organisation's one suppression, so a cell hidden in one is hidden in the other, and no
    sub-total over the commissioner's districts is published outside that suppression. (Before,
    each was suppressed as its own table: 東地区+西地区 = 9 active was shown, 西地区's 6 shown by
    the coordinator, and 9 − 6 gave 東地区's 3.)"""
    o = await _gather(client, february_town, [JAN, FEB])
    o = await _gather(client, february_town, [JAN, FEB], user="comm", scope=COMMISSIONER, o=o)
    assert ("東地区", "見守り中", "now") in o.hidden  # the small cell is there to find
    assert o.recovered() == {}


async def test_weeks_published_suppressed_beside_the_month_give_a_cell_away(
    client, february_town, monkeypatch
) -> None:
    """The guard can fail: had the suppressed trends published weeks (each suppressed on its own,
    as before), February's four weeks tile the month: February's file hides 南地区's 7 alerts to
    protect 東地区's 2 and shows 西地区's 12, while the second week hides 西地区's 6 instead:
    12 − 6 (its first week, shown) gives the 6, and 15 − 6 − 7 東地区's 2."""

    async def weeks_of_february(session, principal, n, k, settle_days):
        first = date(2027, 2, 1)
        weeks = [
            coverage.period_of(principal, first + timedelta(weeks=w), first + timedelta(weeks=w, days=6))
            for w in range(4)
        ]
        reports = await coverage.coverage_by_period(session, principal, weeks)
        return [
            (
                week,
                publication.Publication(
                    week.first,
                    k,
                    [(d.district_id, d.name) for d in report.districts],
                    suppression.coverage_hidden(report, k),
                ),
            )
            for week, report in zip(weeks, reports, strict=True)
        ]

    monkeypatch.setattr(publication, "publications", weeks_of_february)
    o = await _gather(client, february_town, [FEB])
    assert any(len(s.parts) == 4 and s.whole[2] == "..".join(FEB) for s in o.sums)  # the month = its weeks
    recovered = o.recovered()
    assert recovered[("東地区", "アラート発生", "2027-02-08..2027-02-14")] == "solved"
    assert recovered[("東地区", "アラート発生", "..".join(FEB))] == "solved"


async def test_the_running_month_is_never_in_the_suppressed_trends(client, small_town) -> None:
    """Asked on 10 June, on 30 June (June's last day) and on 1 July, the trends end with the last
    month that has ended: May, May, then June, whole; with June's file and chart nothing hidden is
    recovered."""
    for day, last in (
        (NOW, "2026-05"),
        (datetime(2026, 6, 30, 14, 0, tzinfo=UTC), "2026-05"),  # 23:00 on 30 June in Tokyo
        (datetime(2026, 6, 30, 15, 0, tzinfo=UTC), "2026-06"),  # midnight: 1 July in Tokyo
    ):
        clock.set(day)
        coord = await login(client, "coord")  # weeks apart: a new session
        months = (await client.get("/api/v1/reports/trends?suppress=true", headers=coord)).json()["months"]
        assert months[-1]["month"] == last and len(months) == 12, (day, months[-1])
    clock.set(JUNE_ENDED)
    last_day = datetime(2026, 6, 30, 3, 0, tzinfo=UTC)
    o = await _gather(client, small_town, [JUNE], trends_on=(last_day,))
    assert ("東地区", "アラート発生", "..".join(JUNE)) in o.hidden
    assert o.recovered() == {}


async def test_the_attack_finds_a_cell_one_table_gives_away(client, february_town, monkeypatch) -> None:
    """The guard can fail: a chart hiding only its own small cells (as before the tables were
    suppressed together) shows 南地区's 5 residents, which the CSV hides to protect 東地区's 3:
    14 − 6 − 5 gives them."""

    def alone(report, table):
        k = suppression.DEFAULT_K  # the small town's organisation keeps the default
        cells = {(d.name, "active"): d.residents.active for d in report.districts}
        cells |= {(d.name, "reached"): d.contacted.residents for d in report.districts}
        hidden = suppression.suppress(cells, [], k) if table is not None else set()
        return [
            charts.CoverageRow(
                d.name,
                None if (d.name, "reached") in hidden else d.contacted.residents,
                None if (d.name, "active") in hidden else d.residents.active,
                d.contacted.share,
            )
            for d in report.districts
        ]

    monkeypatch.setattr(charts, "coverage_rows", alone)
    o = await _gather(client, february_town, [FEB])
    recovered = o.recovered()
    assert recovered[("南地区", "見守り中", "now")] == 5
    assert recovered[("東地区", "見守り中", "now")] == "solved"


OVERLAPPING = {
    WEEK1: ["to"],
    WEEK2: ["from", "to"],
    BOTH: ["to"],
    ("2026-05-15", "2026-06-14"): ["from", "to"],
}


async def test_overlapping_periods_are_refused(client, small_town) -> None:
    """The differencing attack needs two suppressed tables of overlapping periods (1–7, 8–10 and
    1–10 June: the second week's alerts are 1–10 June's less the first week's). Suppressed
    statistics are published for whole calendar months that have ended: any other period answers
    400 naming `from` and/or `to`, in Japanese by default and in English; the in-house (unsuppressed)
    file and chart still take any period."""
    coord = await login(client, "coord")
    for (first, last), fields in OVERLAPPING.items():
        query = f"from={first}&to={last}"
        for url in (
            f"/api/v1/reports/coverage?{query}&format=csv&suppress=true",
            f"/api/v1/reports/charts/coverage.svg?{query}&suppress=true",
        ):
            refused = await client.get(url, headers=coord)
            assert refused.status_code == 400, (url, refused.text)
            errors = refused.json()["errors"]
            assert [e["field"] for e in errors] == fields, errors
            assert all("暦月単位" in e["message"] for e in errors), errors
            english = await client.get(url, headers={**coord, "Accept-Language": "en"})
            assert all(
                "suppressed statistics are published for whole calendar months" in e["message"].lower()
                for e in english.json()["errors"]
            ), english.text
            in_house = await client.get(url.replace("&suppress=true", ""), headers=coord)
            assert in_house.status_code == 200, in_house.text
    # a month still running changes every day (its table today and tomorrow differ by a day)
    running = await client.get(
        f"/api/v1/reports/coverage?from={JUNE[0]}&to={JUNE[1]}&format=csv&suppress=true",
        headers={**coord, "Accept-Language": "en"},
    )
    assert running.status_code == 400
    assert [e["field"] for e in running.json()["errors"]] == ["to"]
    assert "once the month has ended" in running.json()["errors"][0]["message"]
    # the default period (the last 30 days) is not a month either
    default = await client.get("/api/v1/reports/coverage?format=csv&suppress=true", headers=coord)
    assert default.status_code == 400
    # once June has ended, its file is published: the whole month, nothing overlapping it
    clock.set(JUNE_ENDED)
    coord = await login(client, "coord")  # three weeks later: a new session
    june = _csv(
        await client.get(
            f"/api/v1/reports/coverage?from={JUNE[0]}&to={JUNE[1]}&format=csv&suppress=true", headers=coord
        )
    )
    assert june[0][0] == "地区" and june[-1][0] == TOTAL
    chart = await client.get(
        f"/api/v1/reports/charts/coverage.svg?from={JUNE[0]}&to={JUNE[1]}&suppress=true", headers=coord
    )
    assert chart.status_code == 200, chart.text
    # a month's whole is required even then: not the 1st, or a to in the next month
    for first, last, fields in (("2026-06-02", "2026-06-30", ["from"]), ("2026-06-01", "2026-07-31", ["to"])):
        bad = await client.get(
            f"/api/v1/reports/coverage?from={first}&to={last}&format=csv&suppress=true", headers=coord
        )
        assert bad.status_code == 400 and [e["field"] for e in bad.json()["errors"]] == fields, bad.text


@pytest.fixture
async def all_reached(db):
    """The reviewer's town: 東地区 7 active low-risk residents, all 7 reached in the first week;
    西地区 one active high-risk resident, not reached. Total 8 active, 7 reached."""
    clock.set(NOW)
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        author = await make_user(s, org, Role.VOLUNTEER, "vol")
        east_people = [
            await make_resident(s, org, east, name=f"東{i}", kana="カナ", risk_level=RiskLevel.LOW)
            for i in range(7)
        ]
        await make_resident(s, org, west, name="西0", kana="カナ", risk_level=RiskLevel.HIGH)
        first = datetime(2026, 6, 3, 10, 0, tzinfo=TOKYO).astimezone(UTC)
        s.add_all(
            ContactNote(
                org_id=org.id,
                resident_id=r.id,
                author_id=author.id,
                method=ContactMethod.PHONE,
                outcome=ContactOutcome.MET_WELL,
                occurred_at=first,
                received_at=first,
            )
            for r in east_people
        )
        await s.commit()


def _possible_values(shown: dict, hidden: list, rows: list[str], columns: dict, top: int) -> dict:
    """Brute force over 0..`top` for every hidden cell: the values each can take in some table
    that agrees with every shown cell, every sum (risk split, districts to the total) and every
    bound a reader knows (reached ≤ active, reached by a method ≤ reached, without plan or consent
    ≤ active). Stops at two values per cell (enough to say it is not pinned)."""
    districts = [r for r in rows if r != TOTAL]
    checks = []  # (cells, test on their values)
    for row in rows:
        checks.append(([(row, "見守り中"), *((row, r) for r in RISKS)], lambda a, *p: a == sum(p)))
        checks.append(([(row, "期間内に接触した人数"), (row, "見守り中")], lambda c, a: c <= a))
        for m in columns["methods"]:
            checks.append(([(row, m), (row, "期間内に接触した人数")], lambda m, c: m <= c))
    for column in columns["all"]:
        checks.append(([(TOTAL, column), *((d, column) for d in districts)], lambda t, *p: t == sum(p)))
    values = dict(shown)

    def consistent() -> bool:
        return all(c(*(values[x] for x in cells)) for cells, c in checks if all(x in values for x in cells))

    def feasible(at: int) -> bool:
        if at == len(hidden):
            return True
        for v in range(1, top + 1):  # X reads as not 0: zeros are shown (complements too, here)
            values[hidden[at]] = v
            if consistent() and feasible(at + 1):
                return True
        del values[hidden[at]]
        return False

    possible: dict = {}
    for cell in hidden:
        found = possible.setdefault(cell, set())
        for v in range(1, top + 1):
            values.clear()
            values.update(shown)
            values[cell] = v
            rest = [c for c in hidden if c != cell]
            hidden_now, hidden[:] = hidden[:], rest
            ok = consistent() and feasible(0)
            hidden[:] = hidden_now
            if ok:
                found.add(v)
            if len(found) >= 2:
                break
    return possible


async def test_no_hidden_cell_follows_from_the_bounds_between_cells(client, all_reached) -> None:
    """東地区 all 7 reached, 西地区 its one high-risk resident: with active residents hidden and the
    7 reached shown, a reader knows 東地区 has at least 7 of the 8, so 西地区 at most 1, and with
    西地区's medium and low risk 0 shown, its one high-risk resident. Reached (and by method, and
    without plan or consent) is at most active: hidden wherever active is, and no hidden cell of
    the file is pinned by its sums and bounds together (the file of June, once it has ended)."""
    clock.set(JUNE_ENDED)
    coord = await login(client, "coord")
    lines = _csv(
        await client.get(
            f"/api/v1/reports/coverage?from={JUNE[0]}&to={JUNE[1]}&suppress=true&format=csv", headers=coord
        )
    )
    headers, body = lines[0], lines[1:]
    methods = [h for h in headers if h.startswith("接触（")]
    wanted = ["見守り中", *RISKS, "期間内に接触した人数", *methods]
    rows = [r[0] for r in body]
    assert rows == ["東地区", "西地区", TOTAL]
    shown, hidden = {}, []
    for row in body:
        for h, v in zip(headers[1:], row[1:], strict=True):
            if h in wanted:
                if v == "X":
                    hidden.append((row[0], h))
                else:
                    shown[(row[0], h)] = int(v)
    for cell in [c for c in hidden if shown.get((TOTAL, c[1])) == 0]:
        hidden.remove(cell)
        shown[cell] = 0
    hidden.sort(key=lambda c: (wanted.index(c[1]), rows.index(c[0])))  # sums close early
    assert ("西地区", "リスク高") in hidden  # the small cell itself
    assert shown[(TOTAL, "見守り中")] == 8  # every count here is at most 8
    possible = _possible_values(shown, hidden, rows, {"methods": methods, "all": wanted}, top=8)
    # a method nobody was reached by (its total a shown 0) is 0 in every district: "nobody"
    # identifies nobody (rule 1); any other hidden cell keeps two values at least
    pinned = {cell: v for cell, v in possible.items() if len(v) < 2}
    assert pinned == {}, pinned
    assert len(possible[("西地区", "リスク高")]) >= 2


async def test_a_commissioners_file_is_their_rows_of_the_organisations_file(client, february_town) -> None:
    """One suppression per organisation and period, whoever asks: the commissioner's suppressed CSV
    shows their districts' rows exactly as the coordinator's file shows them, with no totals row of
    their own (a sub-total is left out); with one district, its row. Their suppressed trends are
    per district, as the coordinator's of that district; over both districts (a sub-total) they
    are refused, naming district_id."""
    coord, comm = await login(client, "coord"), await login(client, "comm")
    for period in (FEB, ("2027-01-01", "2027-01-31")):  # whole months that have ended
        url = f"/api/v1/reports/coverage?from={period[0]}&to={period[1]}&suppress=true&format=csv"
        everyone = _csv(await client.get(url, headers=coord))
        rows = {row[0]: row for row in everyone[1:]}
        mine = _csv(await client.get(url, headers=comm))
        assert mine[0] == everyone[0]
        assert mine[1:] == [rows[name] for name in COMMISSIONER]
        for name in COMMISSIONER:
            one = _csv(await client.get(url + f"&district_id={february_town[name]}", headers=comm))
            assert one[1:] == [rows[name], [TOTAL, *rows[name][1:]]]
    both = await client.get("/api/v1/reports/trends?months=2&suppress=true", headers=comm)
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "district_id"
    chart = await client.get("/api/v1/reports/charts/trends.svg?months=2&suppress=true", headers=comm)
    assert chart.status_code == 400
    for name in COMMISSIONER:
        url = f"/api/v1/reports/trends?months=2&suppress=true&district_id={february_town[name]}"
        theirs, ours = (
            (await client.get(url, headers=comm)).json(),
            (await client.get(url, headers=coord)).json(),
        )
        assert theirs["months"] == ours["months"] and theirs["active_residents"] == ours["active_residents"]
        # a trend month is the district's row of that month's file
        file = _csv(
            await client.get(
                f"/api/v1/reports/coverage?from={FEB[0]}&to={FEB[1]}&suppress=true&format=csv"
                f"&district_id={february_town[name]}",
                headers=comm,
            )
        )
        row = dict(zip(file[0], file[1], strict=True))
        february = theirs["months"][-1]
        assert february["month"] == "2027-02"
        assert february["alerts_raised"] == (None if row["アラート発生"] == "X" else int(row["アラート発生"]))
