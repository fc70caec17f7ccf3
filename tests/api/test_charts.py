"""The report charts as SVG: well-formed XML carrying the hand-counted figures of the coverage and
trend reports (tests/api/test_coverage.py's town), accessible (role, title, desc, values in words),
suppressed figures drawn as 秘匿 and never as a value, every text escaped, and the reports' rules
on who may read them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from domain.clock import clock
from domain.models import Organisation
from domain.settings import Settings
from tests.api.test_coverage import MONTH, MONTH_ENDED, WEEK, town  # noqa: F401  (the hand-counted fixture)
from tests.factories import login, make_district


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """What is hidden, not when (the settling time: tests/reports/test_publication.py): a month's
    suppressed statistics are published as soon as it has ended."""
    return settings.model_copy(update={"statistics_settle_days": 0})


SVG_NS = "{http://www.w3.org/2000/svg}"
COVERAGE = "/api/v1/reports/charts/coverage.svg"
TRENDS = "/api/v1/reports/charts/trends.svg"


def parse(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own answer, parsed to prove it is well formed


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG_NS}text")]


async def _svg(client, who: str, url: str, **headers: str) -> ET.Element:
    response = await client.get(url, headers={**await login(client, who), **headers})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    return parse(response.content)  # parses as XML, or the test fails here


async def test_coverage_chart_draws_the_hand_counted_shares_with_words(client, town) -> None:  # noqa: F811
    root = await _svg(client, "coord", COVERAGE + WEEK)
    assert root.tag == f"{SVG_NS}svg" and root.get("role") == "img"
    title = root.find(f"{SVG_NS}title").text
    desc = root.find(f"{SVG_NS}desc").text
    assert title == "地区別の連絡できた割合（2026-06-01〜2026-06-07）"
    texts = _texts(root)
    # 東地区: 2 of its 3 active residents reached; 西地区: 0 of 1; 北地区 has nobody
    assert "3人中2人（66.7%）" in texts and "1人中0人（0.0%）" in texts and "対象者なし" in texts
    assert ["北地区", "東地区", "西地区"] == [t for t in texts if t.endswith("地区")]
    assert "東地区: 3人中2人（66.7%）" in desc and "北地区: 対象者なし" in desc
    bars = [r for r in root.iter(f"{SVG_NS}rect") if r.get("fill") == "#0b5cad"]
    widths = sorted(float(r.get("width")) for r in bars)
    assert widths == [round(330 * 2 / 3, 1)]  # one bar for 2/3 (a 0 % share draws no bar)
    english = await _svg(client, "coord", COVERAGE + WEEK, **{"Accept-Language": "en"})
    assert "2 of 3 (66.7%)" in _texts(english) and "no residents" in _texts(english)


async def test_trend_chart_carries_the_weekly_figures(client, town) -> None:  # noqa: F811
    root = await _svg(client, "coord", TRENDS + f"?district_id={town['east']}")
    title = root.find(f"{SVG_NS}title").text
    assert title == "週ごとの推移：東地区（直近12週）"
    desc = root.find(f"{SVG_NS}desc").text
    # the hand-counted week: 2 of 3 reached, 3 alerts; the week of 18 May: nobody reached, 1 alert
    assert "2026-06-01〜2026-06-07の週 66.7%" in desc
    assert "2026-06-01〜2026-06-07の週 3" in desc and "2026-05-18〜2026-05-24の週 1" in desc
    texts = _texts(root)
    assert texts.count("3/23") == 2 and texts.count("6/8") == 2  # 12 weeks, in both panels
    assert "連絡できた割合（現在の対象者3人に対して）" in texts and "発生したアラート（件）" in texts
    hatched = [r for r in root.iter(f"{SVG_NS}rect") if (r.get("fill") or "").startswith("url(#")]
    assert len(hatched) == 2  # alerts in two weeks, hatched for black-and-white printing
    four = await _svg(client, "coord", TRENDS + "?weeks=4")
    assert "週ごとの推移：担当の全地区（直近4週）" == four.find(f"{SVG_NS}title").text


async def test_suppressed_charts_say_hidden_and_never_draw_the_small_counts(client, town) -> None:  # noqa: F811
    # suppressed statistics: whole calendar months that have ended only (June, from 1 July)
    clock.set(MONTH_ENDED)
    trend = await _svg(client, "coord", TRENDS + "?suppress=true&months=3")
    assert trend.find(f"{SVG_NS}title").text == "月ごとの推移：担当の全地区（終わった直近3か月）"
    desc = trend.find(f"{SVG_NS}desc").text
    assert "2026年6月 秘匿" in desc and "%" not in desc and "週" not in desc
    assert "2026年4月 0" in desc  # zero is shown: nobody identifies nobody
    assert "5人未満の数" in desc
    assert [t for t in _texts(trend) if "/" in t][:3] == ["2026/4", "2026/5", "2026/6"]
    root = await _svg(client, "coord", COVERAGE + MONTH + "&suppress=true")
    texts = _texts(root)
    # k = 5: 東地区's 2 of 3 and 西地区's 1 of 1 are small cells
    assert texts.count("秘匿") == 2 and "対象者なし" in texts
    assert not any("66.7" in t or "人中" in t for t in texts)
    assert "66.7" not in root.find(f"{SVG_NS}desc").text
    assert not [r for r in root.iter(f"{SVG_NS}rect") if r.get("fill") == "#0b5cad"]


async def test_charts_follow_who_may_read_the_reports(client, town) -> None:  # noqa: F811
    mine = await _svg(client, "comm", COVERAGE + WEEK)
    assert [t for t in _texts(mine) if t.endswith("地区")] == ["東地区"]
    comm = await login(client, "comm")
    west = await client.get(TRENDS + f"?district_id={town['west']}", headers=comm)
    assert west.status_code == 403
    vol = await login(client, "vol")
    for url in (COVERAGE, TRENDS):
        assert (await client.get(url, headers=vol)).status_code == 403
        assert (await client.get(url)).status_code == 401
    coord = await login(client, "coord")
    foreign = await client.get(COVERAGE + f"?district_id={town['elsewhere']}", headers=coord)
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["field"] == "district_id"
    bad = await client.get(TRENDS + "?weeks=53", headers=coord)
    assert bad.status_code == 400 and "weeks" in bad.text


async def test_a_district_name_is_text_never_markup(client, db, town) -> None:  # noqa: F811
    async with db() as s:
        org = await s.get(Organisation, town["org"])
        evil = await make_district(s, org, '<script>alert("x")</script>&')
    raw = await client.get(TRENDS + f"?district_id={evil.id}", headers=await login(client, "coord"))
    assert raw.status_code == 200 and "<script" not in raw.text
    root = parse(raw.content)
    assert root.find(f"{SVG_NS}title").text == '週ごとの推移：<script>alert("x")</script>&（直近12週）'
    cover = await client.get(COVERAGE + WEEK, headers=await login(client, "coord"))
    assert "<script" not in cover.text and "&lt;script&gt;" in cover.text
    assert not list(parse(cover.content).iter(f"{SVG_NS}script"))
