"""The working list page and its CSV: the service behind GET /api/v1/reports/working-list under the
cookie session — the same residents, scope, audit and file."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from console import working_list_page
from domain.models import AuditEvent
from tests.console.conftest import sign_in
from tests.console.test_today import position


def row(page: str, resident_id: str) -> str:
    start = position(page, f'id="row-{resident_id}"')
    return page[start : page.index("</tr>", start)]


async def test_coordinator_sees_the_organisations_overdue_residents_with_state_in_words(client, lists, db):
    w = lists.world
    await sign_in(client, "coord")
    response = await client.get("/console/working-list")
    assert response.status_code == 200
    page = response.text
    assert "未接触の対象者（2件）" in page
    assert 'href="/console/working-list" aria-current="page"' in page  # where the person is
    assert "鈴木 三郎" not in page and w.foreign_name not in page  # reached yesterday; other org
    never = row(page, w.resident.id)  # never reached; its watcher's phone synced since
    for text in ("山田 花子", "高", "記録なし", "90日", "奉仕 次郎", "2026/11/27 07:00", "未接触"):
        assert text in never, text
    phoned = row(page, w.other_resident.id)  # reached by phone 40 days ago; nobody assigned
    for text in (
        "佐藤 一郎",
        "北地区",
        "2026/10/18 10:00（電話）",
        "40日",
        "未割り当て",
        "同期なし",
        "担当者なし",
    ):
        assert text in phoned, text
    assert position(page, "山田 花子") < position(page, "佐藤 一郎")  # never contacted first
    async with db() as session:
        event = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.actor_id == w.coordinator.id, AuditEvent.action == "list")
            )
        ).one()
    assert event.entity == "resident" and event.detail["report"] == "working_list"
    assert sorted(event.detail["resident_ids"]) == sorted([w.resident.id, w.other_resident.id])


async def test_filters_sort_and_pages_keep_each_other(client, lists, monkeypatch):
    w = lists.world
    await sign_in(client, "coord")
    newest = (await client.get("/console/working-list?sort=-last_contact_at")).text
    assert position(newest, "佐藤 一郎") < position(newest, "山田 花子")
    by_district = (await client.get(f"/console/working-list?district_id={w.other_resident.district_id}")).text
    assert "佐藤 一郎" in by_district and "山田 花子" not in by_district
    by_risk = (await client.get("/console/working-list?risk_level=high&district_id=&assignee_id=")).text
    assert "山田 花子" in by_risk and "佐藤 一郎" not in by_risk
    by_assignee = (await client.get(f"/console/working-list?assignee_id={w.volunteer.id}")).text
    assert "山田 花子" in by_assignee and "佐藤 一郎" not in by_assignee

    monkeypatch.setattr(working_list_page, "PAGE_SIZE", 1)
    first = (await client.get("/console/working-list?risk_level=&sort=-last_contact_at")).text
    assert "1 / 2 ページ（全2件）" in first and "佐藤 一郎" in first and "山田 花子" not in first
    assert 'href="/console/working-list?sort=-last_contact_at&amp;page=2"' in first
    second = (await client.get("/console/working-list?sort=-last_contact_at&page=2")).text
    assert "山田 花子" in second and "佐藤 一郎" not in second


async def test_commissioner_sees_only_their_district_in_english(client, lists):
    await sign_in(client, "comm")
    page = (await client.get("/console/working-list")).text
    assert '<html lang="en">' in page and "Residents not contacted (1)" in page
    assert "山田 花子" in page and "not contacted" in page
    assert "佐藤 一郎" not in page and lists.world.foreign_name not in page
    # Asking for the other district shows nobody: the filter narrows, it never widens.
    other = await client.get(f"/console/working-list?district_id={lists.world.other_resident.district_id}")
    assert other.status_code == 200 and "佐藤 一郎" not in other.text


async def test_a_volunteer_is_sent_to_the_phone_app_and_gets_no_file(client, lists):
    await sign_in(client, "vol")
    page = await client.get("/console/working-list", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console"
    assert "山田 花子" not in page.text
    refused = await client.get("/console/working-list.csv")
    assert refused.status_code == 403 and "山田 花子" not in refused.text


async def test_bad_filters_are_named_not_500(client, lists):
    await sign_in(client, "coord")
    for query in (
        "risk_level=extreme",
        "district_id=nonexistent-0000",
        "district_id=a%20b",
        "page=0",
        "sort=x",
    ):
        response = await client.get(f"/console/working-list?{query}")
        assert 400 <= response.status_code < 500, (query, response.status_code)
        assert "<h1>エラー</h1>" in response.text
    named = (await client.get("/console/working-list?risk_level=extreme")).text
    assert "risk_level: " in named and "high, medium, low" in named  # which field, which values


async def test_csv_download_is_the_apis_file_with_a_bom_and_is_audited_as_an_export(client, lists, db):
    w = lists.world
    await sign_in(client, "coord")
    page = (await client.get("/console/working-list?risk_level=high")).text
    assert (
        'href="/console/working-list.csv?risk_level=high&amp;sort=last_contact_at"' in page
    )  # what is shown
    response = await client.get("/console/working-list.csv?risk_level=high")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="working-list-2026-11-27.csv"'
    assert response.content.startswith("\ufeff".encode())  # Excel on Japanese Windows reads UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["氏名", "ふりがな"] and rows[0][-1] == "状況"
    assert [r[0] for r in rows[1:]] == ["山田 花子"]
    assert rows[1][-1] == "未接触"
    async with db() as session:
        event = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.actor_id == w.coordinator.id, AuditEvent.action == "export"
                )
            )
        ).one()
    assert event.detail["report"] == "working_list" and event.detail["resident_ids"] == [w.resident.id]
