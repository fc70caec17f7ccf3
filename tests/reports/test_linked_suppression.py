"""An outsider holds every suppressed (suppress=true) figure the service publishes for one week:
the coverage CSV, the coverage chart, the weekly trends (all districts and each district) and the
trend charts. Put together, the same quantity appears in several of them (a district's active
residents: CSV, chart, trends by district; the week's visits: CSV totals and the trend week) and
sums link them (districts to the total row; a risk split to its residents). The attacker gathers
every shown cell under one key per quantity, and solves all the published sums at once (exact
linear algebra, suppression.recoverable): no cell hidden anywhere may be shown elsewhere or follow
from the rest."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from api.reports.suppression import Sum, recoverable
from domain.clock import clock
from domain.enums import ContactMethod, ContactOutcome, RiskLevel, Role
from domain.models import ContactNote
from tests.factories import login, make_district, make_org, make_resident, make_user

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
WEEK = "from=2026-06-01&to=2026-06-07"
SVG_NS = "{http://www.w3.org/2000/svg}"
TOTAL = "合計"
RISKS = ("リスク高", "リスク中", "リスク低")
VISITS = ("訪問実施", "遅れて実施", "未実施", "未記録（予定のまま）")


@pytest.fixture
async def small_town(db):
    """東地区: 3 active residents (one per risk level), 2 of them reached in the week: every
    figure a small cell. 西地区: 6 low-risk residents, all reached: no small cell of its own.
    北地区: nobody. Totals: 9 active, 8 reached."""
    clock.set(NOW)
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_district(s, org, "北地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        author = await make_user(s, org, Role.VOLUNTEER, "vol")
        people = [
            (await make_resident(s, org, east, name=f"東{i}", kana="ヒガシ", risk_level=r), i < 2)
            for i, r in enumerate((RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW))
        ] + [
            (await make_resident(s, org, west, name=f"西{i}", kana="ニシ", risk_level=RiskLevel.LOW), True)
            for i in range(6)
        ]
        at = datetime(2026, 6, 3, 10, 0, tzinfo=TOKYO).astimezone(UTC)
        s.add_all(
            ContactNote(
                org_id=org.id,
                resident_id=r.id,
                author_id=author.id,
                method=ContactMethod.PHONE,
                outcome=ContactOutcome.MET_WELL,
                occurred_at=at,
                received_at=at,
            )
            for r, reached in people
            if reached
        )
        await s.commit()
        return {"east": east.id, "west": west.id, "north": ""}


class Outsider:
    """What the attacker learns: shown cells, cells seen hidden, and the sums a reader knows."""

    def __init__(self) -> None:
        self.shown: dict[tuple[str, str], int] = {}
        self.hidden: set[tuple[str, str]] = set()
        self.sums: list[Sum] = []

    def see(self, key: tuple[str, str], value: object) -> None:
        if value is None or value in ("X", "秘匿"):
            self.hidden.add(key)
        else:
            self.shown[key] = int(value)  # type: ignore[call-overload]

    def recovered(self) -> dict[tuple[str, str], int | str]:
        """Cells hidden somewhere that the attacker knows anyway: shown in another table, or fixed by
        the published sums over all tables together (their value solved out)."""
        out: dict[tuple[str, str], int | str] = {c: self.shown[c] for c in self.hidden if c in self.shown}
        unknown = self.hidden - set(self.shown)
        for cell in recoverable(unknown, self.sums):
            out[cell] = "solved"
        return out


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return [line.split(",") for line in response.content.decode("utf-8-sig").split("\r\n") if line]


async def _gather(client, ids: dict[str, str]) -> Outsider:
    coord = await login(client, "coord")
    o = Outsider()
    # 1. the coverage CSV: districts and a totals row; within a row, residents = risk split, visits
    lines = _csv(await client.get(f"/api/v1/reports/coverage?{WEEK}&format=csv&suppress=true", headers=coord))
    headers, rows = lines[0], lines[1:]
    names = [r[0] for r in rows]
    for row in rows:
        for h, v in zip(headers[1:], row[1:], strict=True):
            o.see((row[0], h), v)
        o.sums.append(Sum((row[0], "見守り中"), tuple((row[0], r) for r in RISKS)))
        o.sums.append(Sum((row[0], "訪問予定"), tuple((row[0], v) for v in VISITS)))
    for h in headers[1:]:
        o.sums.append(Sum((TOTAL, h), tuple((n, h) for n in names if n != TOTAL)))
    # 2. the coverage chart: per district "reached of residents" or 秘匿
    chart = await client.get(f"/api/v1/reports/charts/coverage.svg?{WEEK}&suppress=true", headers=coord)
    desc = ET.fromstring(chart.content).find(f"{SVG_NS}desc").text  # noqa: S314
    for part in desc.split("; "):
        name, _, value = part.partition(": ")
        if name not in names:
            continue
        if m := re.fullmatch(r"(\d+)人中(\d+)人（.*）", value):
            o.see((name, "見守り中"), m[1])
            o.see((name, "期間内に接触した人数"), m[2])
        elif value == "秘匿":
            o.see((name, "見守り中"), None)
            o.see((name, "期間内に接触した人数"), None)
    # 3. the weekly trends, all districts (the totals row) and each district; the week asked
    #    equals the CSV's period, and its visits done = done + done late
    for scope, query in [
        (TOTAL, ""),
        *((n, f"&district_id={ids[k]}") for n, k in (("東地区", "east"), ("西地区", "west"))),
    ]:
        response = await client.get(f"/api/v1/reports/trends?weeks=2&suppress=true{query}", headers=coord)
        assert response.status_code == 200, response.text
        report = response.json()
        o.see((scope, "見守り中"), report["active_residents"])
        week = next(w for w in report["weeks"] if w["week_start"] == "2026-06-01")
        o.see((scope, "期間内に接触した人数"), week["contacted"])
        o.see((scope, "訪問予定"), week["visits_due"])
        o.see((scope, "未実施"), week["visits_missed"])
        o.see((scope, "アラート発生"), week["alerts_raised"])
        o.see((scope, "trend.visits_done"), week["visits_done"])
        o.sums.append(Sum((scope, "trend.visits_done"), ((scope, "訪問実施"), (scope, "遅れて実施"))))
    return o


async def test_the_hand_built_town_has_small_cells_to_hide(client, small_town) -> None:
    o = await _gather(client, small_town)
    assert ("東地区", "見守り中") in o.hidden and ("東地区", "期間内に接触した人数") in o.hidden
    assert o.shown[(TOTAL, "見守り中")] == 9  # the totals themselves are not small


async def test_no_hidden_cell_follows_from_all_published_tables_together(client, small_town) -> None:
    o = await _gather(client, small_town)
    assert o.recovered() == {}
