"""The districts page: the coverage and trend charts inline, the figures per district, caseloads,
districts without a commissioner — the coverage report's service and scope under the cookie
session (coordinators every district, commissioners theirs, volunteers sent away, another
organisation never)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from sqlalchemy import select

from domain.enums import ContactMethod, ContactOutcome
from domain.models import AuditEvent, ContactNote, Resident
from tests.console.conftest import DAYTIME, sign_in

PAGE = "/console/districts"


def svgs(page: str) -> list[ET.Element]:
    """Each inline chart, parsed as XML (a chart that is not well formed fails here)."""
    out = []
    start = page.find("<svg")
    while start != -1:
        end = page.index("</svg>", start) + len("</svg>")
        out.append(ET.fromstring(page[start:end]))  # noqa: S314 - the page we just served
        start = page.find("<svg", end)
    return out


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]


async def reached_last_week(db, world) -> None:
    async with db() as session:
        session.add(
            ContactNote(
                org_id=world.org.id,
                resident_id=world.other_resident.id,
                author_id=world.coordinator.id,
                method=ContactMethod.PHONE,
                outcome=ContactOutcome.MET_WELL,
                occurred_at=DAYTIME - timedelta(days=7),  # 20 Nov, 10:00 in Tokyo
                received_at=DAYTIME - timedelta(days=7),
            )
        )


async def test_coordinator_sees_every_district_with_charts_and_caseloads(client, world, db):
    await reached_last_week(db, world)
    await sign_in(client, "coord")
    response = await client.get(PAGE)
    assert response.status_code == 200, response.text
    page = response.text
    assert 'href="/console/districts" aria-current="page"' in page
    charts = svgs(page)
    assert len(charts) == 3  # coverage, and one trend per district
    coverage = texts(charts[0])
    # 中央地区: 山田 花子 only tried (no answer), 北地区: 佐藤 一郎 reached by phone on 20 Nov
    assert "1人中0人（0.0%）" in coverage and "1人中1人（100.0%）" in coverage
    assert charts[0].get("role") == "img" and "2026-10-29〜2026-11-27" in page
    trend_titles = [c.find("{http://www.w3.org/2000/svg}title").text for c in charts[1:]]
    assert trend_titles == ["週ごとの推移：中央地区（直近12週）", "週ごとの推移：北地区（直近12週）"]
    assert "100.0%" in texts(charts[2])  # the week of 16 Nov in 北地区
    # caseloads: the volunteer watches 山田 花子 in 中央地区
    section = page[page.index(f'id="district-{world.resident.district_id}"') :]
    assert "奉仕 次郎" in section and "ボランティア" in section
    # 北地区 has no commissioner; 中央地区 has the commissioner
    missing = page[page.index('id="without-commissioner"') :]
    assert "北地区" in missing[: missing.index("</div>")]
    assert "山田 花子" not in page  # counts only, nobody named
    async with db() as session:
        foreign = await session.get_one(Resident, world.foreign.resident_id)
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.actor_id == world.coordinator.id))
        ).all()
    assert foreign.district_id not in page  # another organisation's district never shows
    assert {("report", "coverage"), ("report", "trends")} <= {(e.action, e.entity) for e in events}


async def test_the_period_is_chosen_and_bad_dates_are_named(client, world, db):
    await reached_last_week(db, world)
    await sign_in(client, "coord")
    page = (await client.get(PAGE + "?from=2026-11-21&to=2026-11-27&district_id=")).text
    coverage = texts(svgs(page)[0])
    assert "1人中0人（0.0%）" in coverage and "100.0%" not in " ".join(coverage)  # 20 Nov is outside
    assert "地区別の連絡できた割合（2026-11-21〜2026-11-27）" in coverage
    one = (await client.get(PAGE + f"?district_id={world.other_resident.district_id}")).text
    assert len(svgs(one)) == 2 and "週ごとの推移：北地区" in one and "週ごとの推移：中央地区" not in one
    for query, field in (("?from=yesterday", "from"), ("?from=2026-11-27&to=2026-11-01", "to")):
        bad = await client.get(PAGE + query)
        assert bad.status_code == 400 and field in bad.text


async def test_commissioner_sees_their_district_only_in_english(client, world):
    await sign_in(client, "comm")
    page = (await client.get(PAGE)).text
    assert '<html lang="en">' in page and "<h1>Districts</h1>" in page
    assert len(svgs(page)) == 2 and "北地区" not in page
    assert "Share of residents reached per district" in page
    other = await client.get(PAGE + f"?district_id={world.other_resident.district_id}")
    assert other.status_code == 403


async def test_volunteer_is_sent_to_the_phone_app(client, world):
    await sign_in(client, "vol")
    response = await client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    assert 'href="/console/districts"' not in (await client.get("/console")).text


async def test_not_signed_in_goes_to_sign_in(client, world):
    response = await client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"
