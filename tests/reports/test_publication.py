"""A month's suppressed statistics are published once, `statistics_settle_days` after it ended,
then frozen (api/reports/publication.py): late syncs, later corrections and a new k change nothing
that left the organisation, while the in-house report shows them; concurrent first requests store
one table; the outsider who asks before and after a late change learns nothing more."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from api.reports import coverage, publication
from domain.access import Principal
from domain.clock import clock
from domain.enums import ContactMethod, ContactOutcome, Role, VisitStatus
from domain.models import AuditEvent, ContactNote, Organisation, PublishedStatistics, Resident, User, Visit
from tests.api.test_coverage import MONTH, jst, town  # noqa: F401  (the hand-counted fixture)
from tests.factories import login
from tests.reports.test_linked_suppression import (
    FEB,
    JAN,
    Outsider,
    _gather,
    february_town,  # noqa: F401  (fixture)
)
from tests.reports.test_linked_suppression import _csv as _rows

URL = "/api/v1/reports/coverage"
FILE = URL + MONTH + "&format=csv&suppress=true"
CHART = "/api/v1/reports/charts/coverage.svg" + MONTH + "&suppress=true"
TRENDS = "/api/v1/reports/trends?suppress=true&months=1"
TREND_CHART = "/api/v1/reports/charts/trends.svg?suppress=true&months=1"
# June 2026 ended on 30 June; with the default 7 settling days it is published from 8 July (Tokyo)
SETTLING = datetime(2026, 7, 7, 14, 59, tzinfo=UTC)  # 23:59 on 7 July in Tokyo
SETTLED = datetime(2026, 7, 7, 15, 0, tzinfo=UTC)  # 00:00 on 8 July in Tokyo


async def _published(client, who: str = "coord") -> dict[str, bytes]:
    headers = await login(client, who)
    out = {}
    for name, url in (("file", FILE), ("chart", CHART), ("trends", TRENDS), ("trend_chart", TREND_CHART)):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        out[name] = response.content
    return out


async def _east_in_june(client) -> tuple[int, int]:
    """In-house: 東地区's residents reached in June and visits still open."""
    response = await client.get(URL + MONTH, headers=await login(client, "coord"))
    assert response.status_code == 200, response.text
    (east,) = [d for d in response.json()["districts"] if d["name"] == "東地区"]
    return east["contacted"]["residents"], east["visits"]["open"]


async def test_a_late_sync_after_publication_changes_the_office_report_not_the_published_month(
    client,
    db,
    town,  # noqa: F811
) -> None:
    clock.set(SETTLED)
    before = await _published(client)
    assert b"X" in before["file"]  # the hand-counted town has small cells
    assert await _east_in_june(client) == (2, 2)
    # a phone syncs days late: 三 was reached on 15 June; a visit due 7 June is marked done now,
    async with db() as s:
        s.add(
            ContactNote(
                org_id=town["org"],
                resident_id=town["residents"]["r3"],
                author_id=town["vol"],
                method=ContactMethod.PHONE,
                outcome=ContactOutcome.MET_WELL,
                occurred_at=jst(2026, 6, 15, 10, 0),
                received_at=clock.now(),
            )
        )
        visit = (await s.scalars(select(Visit).where(Visit.occurrence_key == "v4"))).one()
        visit.status, visit.completed_at = VisitStatus.DONE, clock.now()
        # and the visit due 8 June is cancelled after the fact: 5 visits due in June become 4
        cancelled = (await s.scalars(select(Visit).where(Visit.occurrence_key == "v6"))).one()
        cancelled.status = VisitStatus.CANCELLED
    assert await _east_in_june(client) == (3, 0)  # in-house: the live figures
    assert await _published(client) == before  # what left the organisation: unchanged
    # the organisation changes k: the month stays as published, with the k it was published with
    async with db() as s:
        org = await s.get_one(Organisation, town["org"])
        org.settings = {**(org.settings or {}), "small_cell_k": 2}
    after = await _published(client)
    assert after == before
    trends = (await client.get(TRENDS, headers=await login(client, "coord"))).json()
    assert trends["suppressed_k"] == 5 and trends["months"][0]["suppressed_k"] == 5
    # a commissioner's file is their rows of the same published table
    comm = (await client.get(FILE, headers=await login(client, "comm"))).content.decode("utf-8-sig")
    coord = before["file"].decode("utf-8-sig")
    assert [line for line in comm.split("\r\n") if line.startswith("東地区")] == [
        line for line in coord.split("\r\n") if line.startswith("東地区")
    ]
    async with db() as s:
        rows = (await s.scalars(select(PublishedStatistics))).all()
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "publish"))).all()
    assert [(r.month.isoformat(), r.k) for r in rows] == [("2026-06-01", 5)]
    assert [(e.entity, e.detail["month"], e.detail["k"]) for e in events] == [
        ("published_statistics", "2026-06", 5)
    ]
    found = await client.get(
        "/api/v1/audit", params={"entity": "published_statistics"}, headers=await login(client, "coord")
    )
    assert [e["action"] for e in found.json()["items"]] == ["publish"]


async def test_a_month_is_refused_until_it_has_settled_then_published(client, town) -> None:  # noqa: F811
    """Before the settling days have passed: 400 naming `to`, saying from which date, in Japanese
    by default and in English; the trends list the months that are published or publishable. On
    the first day after: published."""
    clock.set(SETTLING)
    coord = await login(client, "coord")
    for url in (FILE, CHART):
        refused = await client.get(url, headers=coord)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        (error,) = refused.json()["errors"]
        assert error["field"] == "to" and "2026-07-08から" in error["message"], error
        english = (await client.get(url, headers={**coord, "Accept-Language": "en"})).json()["errors"][0]
        assert "available from 2026-07-08" in english["message"], english
    trends = (await client.get(TRENDS, headers=coord)).json()
    assert [m["month"] for m in trends["months"]] == ["2026-05"]  # June has not settled
    assert (await client.get(URL + MONTH + "&format=csv", headers=coord)).status_code == 200  # in-house
    clock.set(SETTLED)
    coord = await login(client, "coord")
    assert (await client.get(FILE, headers=coord)).status_code == 200
    trends = (await client.get(TRENDS, headers=coord)).json()
    assert [m["month"] for m in trends["months"]] == ["2026-06"]


async def test_concurrent_first_requests_publish_one_table(db, town, monkeypatch, backend) -> None:  # noqa: F811
    """Two server processes asked for the month at once, both counted it before either stored it:
    one table is stored and both answer it, nobody gets an error."""
    clock.set(SETTLED)
    counted = asyncio.Barrier(2)
    count = coverage.organisation_coverage

    calls = []

    async def both_count(session, principal, period):
        report = await count(session, principal, period)
        calls.append(period)
        try:  # SQLite runs one writer at a time (BEGIN IMMEDIATE): the second waits for the first
            await asyncio.wait_for(counted.wait(), 3)
        except TimeoutError:
            pass
        return report

    monkeypatch.setattr(coverage, "organisation_coverage", both_count)

    async def ask(k: int) -> publication.Publication:
        async with db() as s:
            coord = (
                await s.scalars(select(User).where(User.role == Role.COORDINATOR, User.org_id == town["org"]))
            ).one()
            principal = Principal(
                user_id=coord.id, org_id=coord.org_id, role=coord.role, timezone="Asia/Tokyo"
            )
            period = coverage.period_of(principal, datetime(2026, 6, 1).date(), datetime(2026, 6, 30).date())
            return await publication.publication(s, principal, period, k, 7)

    first, second = await asyncio.gather(ask(5), ask(2))
    if backend == "postgresql":  # a real race: both counted the month before either stored it
        assert len(calls) == 2
    assert first == second
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(PublishedStatistics)) == 1
        events = await s.scalar(select(func.count()).where(AuditEvent.action == "publish"))
    assert events == 1


async def _live(client) -> dict[tuple[str, str], int]:
    """The in-house (unsuppressed) February file: every count by (district or 合計, column)."""
    lines = _rows(
        await client.get(f"{URL}?from={FEB[0]}&to={FEB[1]}&format=csv", headers=await login(client, "coord"))
    )
    out: dict[tuple[str, str], int] = {}
    for row in lines[1:]:
        for column, value in zip(lines[0][1:], row[1:], strict=True):
            if value.isdigit():
                out[row[0], column] = int(value)
                out["合計", column] = out.get(("合計", column), 0) + int(value)
    for name in {name for name, _ in out}:
        out[name, "trend.visits_done"] = out.get((name, "訪問実施"), 0) + out.get((name, "遅れて実施"), 0)
    return out


def _together(before: Outsider, after: Outsider, delta: dict[tuple[str, str], int]) -> Outsider:
    """What the outsider knows from both askings: each asking's cells tagged with it, and for every
    cell `after = before + what changed in between` — they made the change (a late sync) and know
    it exactly."""
    from api.reports.suppression import Sum

    o = Outsider()

    def tag(key, edition):
        return (*key[:2], f"{key[2]}@{edition}")

    for edition, seen in ((1, before), (2, after)):
        for key in seen.hidden:
            o.see(tag(key, edition), None)
        for key, value in seen.shown.items():
            o.see(tag(key, edition), value)
        o.sums += [Sum(tag(s.whole, edition), tuple(tag(p, edition) for p in s.parts)) for s in seen.sums]
    for key in {*before.shown, *before.hidden, *after.shown, *after.hidden}:
        change = (*key[:2], f"{key[2]}@change")
        o.see(change, 0 if key[2] == "now" else delta.get(key[:2], 0))
        o.sums.append(Sum(tag(key, 2), (tag(key, 1), change)))
    return o


async def test_the_file_before_and_after_a_late_sync_give_nothing_away(client, db, february_town) -> None:  # noqa: F811
    """The outsider asks every suppressed file, chart and trend of January and February, makes
    five late syncs (南地区's five residents reached in February) and asks again, and solves every
    published sum of both askings together with what they changed: nothing hidden follows. (Served
    live, the second asking hides other cells than the first, and the differences give cells away.)"""
    clock.set(datetime(2027, 3, 10, 3, 0, tzinfo=UTC))  # February has settled
    live_before = await _live(client)
    before = await _gather(client, february_town, [JAN, FEB])
    assert before.recovered() == {}
    async with db() as s:
        coord = (await s.scalars(select(User).where(User.role == Role.COORDINATOR))).one()
        south = (
            await s.scalars(select(Resident).where(Resident.district_id == february_town["南地区"]))
        ).all()
        at = jst(2027, 2, 20, 10, 0)
        s.add_all(
            ContactNote(
                org_id=coord.org_id,
                resident_id=r.id,
                author_id=coord.id,
                method=ContactMethod.PHONE,
                outcome=ContactOutcome.MET_WELL,
                occurred_at=at,
                received_at=clock.now(),
            )
            for r in south
        )
    live_after = await _live(client)
    delta = {key: live_after.get(key, 0) - live_before.get(key, 0) for key in {*live_before, *live_after}}
    assert delta["南地区", "期間内に接触した人数"] == 5  # the office sees the late syncs
    after = await _gather(client, february_town, [JAN, FEB])
    assert _together(before, after, delta).recovered() == {}
    assert after.shown == before.shown and after.hidden == before.hidden  # the published months stand


async def test_a_new_k_after_publication_gives_nothing_away(client, db, february_town) -> None:  # noqa: F811
    """Asked with k = 5, then again after the organisation lowered k to 2: served live, the second
    asking would show the small cells the first hid."""
    clock.set(datetime(2027, 3, 10, 3, 0, tzinfo=UTC))
    o = await _gather(client, february_town, [JAN, FEB])
    hidden = set(o.hidden)
    async with db() as s:
        coord = (await s.scalars(select(User).where(User.role == Role.COORDINATOR))).one()
        org = await s.get_one(Organisation, coord.org_id)
        org.settings = {**(org.settings or {}), "small_cell_k": 2}
    o = await _gather(client, february_town, [JAN, FEB], o=o)
    assert ("東地区", "期間内に接触した人数", "..".join(FEB)) in hidden
    assert o.recovered() == {}
