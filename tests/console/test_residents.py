"""The residents' search and a resident's page: the API's services (list_residents, read_resident,
assignments, consents, notes, visits, alerts) under the cookie session — same scope, same field
rules, same audit events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.residents import service as resident_service
from domain.enums import VisitKind, VisitStatus
from domain.models import AuditEvent, Visit
from tests.console.conftest import DAYTIME, FAMILY_PHONE, sign_in


async def test_a_hiragana_or_half_width_query_finds_the_katakana_kana(client, lists):
    await sign_in(client, "coord")
    for query in ("やまだ", "ﾔﾏﾀﾞ", "山田"):
        page = (await client.get("/console/residents", params={"q": query})).text
        assert "山田 花子" in page, query
        assert "佐藤 一郎" not in page and "鈴木 三郎" not in page, query
    everyone = (await client.get("/console/residents")).text
    assert "対象者（3件）" in everyone and lists.world.foreign_name not in everyone
    assert 'href="/console/residents" aria-current="page"' in everyone
    nobody = (await client.get("/console/residents", params={"q": "たなか"})).text
    assert "該当する対象者はいません。" in nobody


async def test_district_filter_and_the_search_are_audited_as_the_api_audits_them(client, lists, db):
    w = lists.world
    await sign_in(client, "coord")
    page = (await client.get("/console/residents", params={"district_id": w.other_resident.district_id})).text
    assert "佐藤 一郎" in page and "山田 花子" not in page
    async with db() as session:
        event = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.actor_id == w.coordinator.id, AuditEvent.action == "list")
            )
        ).one()
    assert event.entity == "resident" and event.detail["resident_ids"] == [w.other_resident.id]
    assert "emergency_contacts" not in event.detail["fields"]  # lists never carry them


async def test_commissioner_sees_only_their_district_and_others_are_not_found(client, lists):
    w = lists.world
    await sign_in(client, "comm")
    page = (await client.get("/console/residents")).text
    assert "Residents (1)" in page and "山田 花子" in page and "佐藤 一郎" not in page
    other = await client.get(f"/console/residents/{w.other_resident.id}")
    assert other.status_code == 404 and "佐藤 一郎" not in other.text
    own = await client.get(f"/console/residents/{w.resident.id}")
    assert own.status_code == 200 and "Emergency contacts" in own.text and FAMILY_PHONE in own.text


async def test_another_organisations_resident_is_not_found(client, lists):
    await sign_in(client, "coord")
    foreign = await client.get(f"/console/residents/{lists.world.foreign.resident_id}")
    assert foreign.status_code == 404
    assert lists.world.foreign_name not in foreign.text
    assert (await client.get("/console/residents/not-an-id!")).status_code == 404


async def test_a_volunteer_is_sent_to_the_phone_app(client, lists):
    await sign_in(client, "vol")
    for path in ("/console/residents", f"/console/residents/{lists.world.resident.id}"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console", path
        assert "山田 花子" not in response.text
    home = (await client.get("/console")).text
    assert "/console/working-list" not in home and "/console/residents" not in home  # no such menu


async def test_a_residents_page_shows_what_the_office_needs_and_is_audited(client, lists, db):
    w = lists.world
    async with db() as session:
        session.add(
            Visit(
                org_id=w.org.id,
                resident_id=w.resident.id,
                occurrence_key="console-test-1",
                kind=VisitKind.PLANNED,
                status=VisitStatus.PLANNED,
                due_start=DAYTIME + timedelta(days=1),  # 28 Nov, 10:00–12:00 in Tokyo
                due_end=DAYTIME + timedelta(days=1, hours=2),
                assignee_id=w.volunteer.id,
            )
        )
    await sign_in(client, "coord")
    response = await client.get(f"/console/residents/{w.resident.id}")
    assert response.status_code == 200, response.text
    page = response.text
    for text in (
        "<h1>山田 花子</h1>",
        "ヤマダ ハナコ",
        "見守り中",  # status
        "<dd>高</dd>",  # risk
        '<th scope="row">奉仕 次郎</th>',  # a watcher, with their role and phone's last sync
        "<td>主担当</td>",
        "<td>2026/11/27 07:00</td>",
        "民生委員",  # consent per recipient, in words
        "同意あり",
        "山田 太郎（長男）",
        FAMILY_PHONE,
        "2026/11/28 10:00–12:00</strong> — 定期訪問",  # on the timeline
        "2026/11/25 10:00（訪問）",  # the recent note
        "応答なし",
        "予定の訪問が記録されていません",  # the open alert
    ):
        assert text in page, text
    async with db() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.actor_id == w.coordinator.id))
        ).all()
    # One event for the page view; each service's read is one of its parts.
    (read,) = [e for e in events if e.action in ("read", "list")]
    assert (read.entity, read.entity_id) == ("resident", w.resident.id)
    assert "emergency_contacts" in read.detail["fields"]
    parts = {(part["action"], part["entity"]) for part in read.detail["parts"]}
    assert {("read", "consent"), ("read", "assignment"), ("list", "contact_note"), ("list", "alert")} <= parts


async def test_emergency_contacts_are_hidden_from_whoever_may_not_see_them(client, lists, db, monkeypatch):
    # The page obeys domain.access through the API's service: when the rule says no, nothing shows.
    monkeypatch.setattr(resident_service, "may_see_emergency_contacts", lambda principal: False)
    await sign_in(client, "coord")
    page = (await client.get(f"/console/residents/{lists.world.resident.id}")).text
    assert "山田 花子" in page
    assert FAMILY_PHONE not in page and "山田 太郎" not in page and "緊急連絡先" not in page
    async with db() as session:
        read = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "read",
                    AuditEvent.entity == "resident",
                    AuditEvent.entity_id == lists.world.resident.id,
                )
            )
        ).one()
    assert "emergency_contacts" not in read.detail["fields"]
