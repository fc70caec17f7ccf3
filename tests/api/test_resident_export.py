"""GET /residents?format=csv: the list as an Excel file, in the reader's language, with the rows and
fields the caller may list; it reads back through the resident import; volunteers export nothing;
audited as an export."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.residents import exports
from domain.enums import ConsentRecipient, Household, RiskLevel, Role
from domain.models import AuditEvent
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user


@pytest.fixture
async def town(db):
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east])
        vol = await make_user(s, org, Role.VOLUNTEER, "vol")
        a = await make_resident(
            s,
            org,
            east,
            name="佐藤 ハナ",
            kana="サトウ ハナ",
            birth_year=1938,
            phone="090-1111-2222",
            risk_level=RiskLevel.HIGH,
            household=Household.ALONE,
        )
        await make_resident(s, org, west, name="西 太郎", kana="ニシ タロウ", risk_level=RiskLevel.LOW)
        await give_consent(s, a, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(s, a, ConsentRecipient.VOLUNTEERS)
        await assign(s, a, vol)
        other = await make_org(s, "よその市")
        await make_resident(s, other, await make_district(s, other, "よそ"), name="よそ 人")
        return a.id


def _rows(response) -> list[list[str]]:
    return [line.split(",") for line in response.content.decode("utf-8-sig").split("\r\n") if line]


async def test_coordinator_exports_every_resident_in_japanese_and_it_imports_back(client, db, town) -> None:
    coord = await login(client, "coord")
    response = await client.get("/api/v1/residents?format=csv&page_size=1", headers=coord)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.headers["content-disposition"].startswith('attachment; filename="residents-')
    rows = _rows(response)
    assert rows[0] == [
        "氏名",
        "ふりがな",
        "生年",
        "住所",
        "電話",
        "地区",
        "世帯",
        "リスク",
        "状態",
        "支援内容",
        "最終接触日時",
    ]
    assert [r[:9] for r in rows[1:]] == [
        [
            "佐藤 ハナ",
            "サトウ ハナ",
            "1938",
            "テスト市中央1-2-3",
            "090-1111-2222",
            "東地区",
            "独居",
            "高",
            "見守り中",
        ],
        ["西 太郎", "ニシ タロウ", "", "テスト市中央1-2-3", "", "西地区", "独居", "低", "見守り中"],
    ]
    back = await client.post(
        "/api/v1/residents/import?dry_run=true",
        content=response.content,
        headers={**coord, "Content-Type": "text/csv"},
    )
    assert back.status_code == 200, back.text
    # every column reads back; the only objection is that these people are already registered
    assert {e["code"] for e in back.json()["errors"]} == {"import.already_registered"}, back.text
    assert back.json()["rows"] == 2 and back.json()["ignored_columns"] == ["最終接触日時"]
    english = await client.get("/api/v1/residents?format=csv", headers={**coord, "Accept-Language": "en"})
    assert _rows(english)[0][:3] == ["Name", "Kana", "Birth year"]
    assert _rows(english)[1][6:8] == ["alone", "high"]
    async with db() as s:
        exported = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "export"))).all()
    assert [len(e.detail["resident_ids"]) for e in exported] == [2, 2]  # Japanese and English


async def test_commissioners_export_what_they_see_and_volunteers_nothing(client, town) -> None:
    comm = await login(client, "comm")
    response = await client.get("/api/v1/residents?format=csv", headers=comm)
    assert response.status_code == 200
    assert [r[0] for r in _rows(response)[1:]] == ["佐藤 ハナ"]
    vol = await login(client, "vol")
    assert (await client.get("/api/v1/residents?format=csv", headers=vol)).status_code == 403
    listed = await client.get("/api/v1/residents", headers=vol)
    assert listed.status_code == 200 and listed.json()["total"] == 1  # the JSON list is unchanged


async def test_the_file_is_streamed_in_batches_each_read_after_the_request(
    client, db, town, monkeypatch
) -> None:
    """One resident a batch: every batch reads in its own session after the handler returned (the
    request's session is closed by then); the rows, their order and the audit stay as before."""
    monkeypatch.setattr(exports, "EXPORT_BATCH", 1)
    coord = await login(client, "coord")
    response = await client.get(
        "/api/v1/residents?format=csv", headers={**coord, "Accept-Encoding": "identity"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "content-length" not in response.headers  # sent as written, not built first
    assert response.content.count(b"\xef\xbb\xbf") == 1
    assert [r[0] for r in _rows(response)[1:]] == ["佐藤 ハナ", "西 太郎"]
    async with db() as s:
        exported = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "export"))).one()
    assert len(exported.detail["resident_ids"]) == 2
