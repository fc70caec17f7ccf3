"""POST /api/v1/residents/import: a coordinator uploads the office's list."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain import feed
from domain.access import Principal, visible_residents
from domain.enums import Role
from domain.models import AuditEvent, Consent, District, EmergencyContact, Resident, User
from tests.factories import login, make_district, make_org, make_user
from tests.imports.csv_samples import BAD_ROWS, GOOD_ROWS, csv_bytes

URL = "/api/v1/residents/import"


async def _setup(db) -> None:
    async with db() as session:
        org = await make_org(session)
        central = await make_district(session, org, "中央地区")
        await make_district(session, org, "北地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
        await make_user(session, org, Role.COMMISSIONER, "commissioner", districts=[central])
        await make_user(session, org, Role.VOLUNTEER, "volunteer")
        other = await make_org(session, "よその市")
        await make_district(session, other, "中央地区")
        await make_user(session, other, Role.COORDINATOR, "other-coord")


async def _residents(db) -> list[Resident]:
    async with db() as session:
        return list(await session.scalars(select(Resident).order_by(Resident.name)))


async def test_utf8_with_bom_uploaded_as_a_form_imports_every_row(client, db) -> None:
    await _setup(db)
    headers = await login(client, "coord")
    files = {"file": ("名簿.csv", csv_bytes(GOOD_ROWS, bom=True), "text/csv")}
    response = await client.post(URL, params={"dry_run": "false"}, files=files, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["imported"], body["errors"], body["dry_run"]) == (3, 3, [], False)
    residents = await _residents(db)
    assert sorted(r.name for r in residents) == sorted(["山田 花子", "髙橋 幸子", "鈴木 一郎"])
    hanako = next(r for r in residents if r.name == "山田 花子")
    # Bulk-inserted rows still enter the change feed, so phones in scope will pull them.
    async with db() as session:
        watermark = await feed.high_watermark(session, hanako.org_id)
    assert all(0 < r.feed_seq <= watermark for r in residents)
    assert (hanako.kana, hanako.birth_year, hanako.risk_level, hanako.household) == (
        "ヤマダ ハナコ",
        1940,
        "high",
        "alone",
    )
    async with db() as session:
        contacts = list(await session.scalars(select(EmergencyContact)))
        assert [(c.resident_id, c.relation) for c in contacts] == [(hanako.id, "長男")]
        events = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "import")))
    assert len(events) == 1 and events[0].detail["imported"] == 3
    assert "山田" not in str(events[0].detail)  # counts, never personal data


async def test_cp932_file_sent_as_raw_csv_body_imports(client, db) -> None:
    await _setup(db)
    headers = await login(client, "coord")
    data = csv_bytes(GOOD_ROWS, encoding="cp932")
    response = await client.post(
        URL, params={"dry_run": "false"}, content=data, headers={**headers, "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 3
    assert "髙橋 幸子" in [r.name for r in await _residents(db)]  # 髙 exists only in CP932, not Shift_JIS


async def test_a_file_with_bad_rows_imports_nothing_and_reports_every_error(client, db) -> None:
    await _setup(db)
    headers = await login(client, "coord")
    response = await client.post(
        URL,
        params={"dry_run": "false"},
        content=csv_bytes(BAD_ROWS),
        headers={**headers, "Content-Type": "text/csv", "Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["imported"] == 0 and body["rows"] == 5
    assert sorted((e["line"], e["field"]) for e in body["errors"]) == [
        (3, "地区"),
        (4, "リスク"),
        (4, "生年"),
        (5, "氏名"),
        (6, "経度"),
    ]
    district_error = next(e for e in body["errors"] if e["line"] == 3)
    assert district_error["message"].startswith("No district named “南地区”")
    assert body["title"] == "Import stopped: 5 problems found. Nothing was imported."
    assert await _residents(db) == []


async def test_dry_run_reports_and_writes_nothing(client, db) -> None:
    await _setup(db)
    headers = await login(client, "coord")
    content_headers = {**headers, "Content-Type": "text/csv"}
    bad = await client.post(
        URL, params={"dry_run": "true"}, content=csv_bytes(BAD_ROWS), headers=content_headers
    )
    assert bad.status_code == 200
    assert bad.json()["valid"] == 1 and len(bad.json()["errors"]) == 5
    assert (
        bad.json()["errors"][0]["message"] == "地区「南地区」が登録されていません。登録済み: 中央地区、北地区"
    )
    good = await client.post(URL, content=csv_bytes(GOOD_ROWS), headers=content_headers)  # dry run by default
    assert good.status_code == 200
    assert (good.json()["valid"], good.json()["imported"], good.json()["dry_run"]) == (3, 0, True)
    assert await _residents(db) == []
    async with db() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")
            )
            == 0
        )


async def test_importing_the_same_list_twice_is_refused(client, db) -> None:
    await _setup(db)
    headers = {**(await login(client, "coord")), "Content-Type": "text/csv"}
    first = await client.post(URL, params={"dry_run": "false"}, content=csv_bytes(GOOD_ROWS), headers=headers)
    assert first.status_code == 200
    again = await client.post(URL, params={"dry_run": "false"}, content=csv_bytes(GOOD_ROWS), headers=headers)
    assert again.status_code == 400
    assert [e["line"] for e in again.json()["errors"]] == [2, 3, 4]
    assert len(await _residents(db)) == 3


async def test_districts_of_another_organisation_do_not_match(client, db) -> None:
    await _setup(db)
    headers = {**(await login(client, "other-coord")), "Content-Type": "text/csv"}
    response = await client.post(
        URL, params={"dry_run": "false"}, content=csv_bytes(GOOD_ROWS), headers=headers
    )
    assert response.status_code == 400
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [
        (4, "地区")
    ]  # 北地区 is not theirs


@pytest.mark.parametrize("login_name", ["commissioner", "volunteer"])
async def test_only_coordinators_may_import(client, db, login_name: str) -> None:
    await _setup(db)
    headers = {**(await login(client, login_name)), "Content-Type": "text/csv"}
    response = await client.post(
        URL, params={"dry_run": "false"}, content=csv_bytes(GOOD_ROWS), headers=headers
    )
    assert response.status_code == 403
    assert await _residents(db) == []


async def test_signed_out_callers_are_refused(client, db) -> None:
    await _setup(db)
    response = await client.post(URL, content=csv_bytes(GOOD_ROWS), headers={"Content-Type": "text/csv"})
    assert response.status_code == 401


async def test_non_csv_bodies_are_refused_clearly(client, db) -> None:
    await _setup(db)
    headers = await login(client, "coord")
    json_body = await client.post(URL, json={"rows": []}, headers=headers)
    assert json_body.status_code == 415
    no_file = await client.post(URL, files={"other": ("x.csv", b"a", "text/csv")}, headers=headers)
    assert no_file.status_code == 400
    assert no_file.json()["errors"][0]["field"] == "file"


async def test_consent_columns_record_consent_so_the_commissioner_sees_the_resident(client, db) -> None:
    await _setup(db)
    coordinator = {**(await login(client, "coord")), "Content-Type": "text/csv"}
    rows = [
        "氏名,住所,地区,リスク,民生委員への提供同意,ボランティアへの提供同意,同意日",
        "山田 花子,テスト市中央1-1,中央地区,高,有,なし,2025/4/1",
        "鈴木 一郎,テスト市中央2-2,中央地区,中,,,",
    ]
    data = ("\r\n".join(rows) + "\r\n").encode("cp932")
    response = await client.post(URL, params={"dry_run": "false"}, content=data, headers=coordinator)
    assert response.status_code == 200, response.text
    async with db() as session:
        consents = list(await session.scalars(select(Consent)))
        coord = await session.scalar(select(User).where(User.login == "coord"))
    assert sorted((c.recipient, c.status, str(c.given_on)) for c in consents) == [
        ("district_commissioner", "given", "2025-04-01"),
        ("volunteers", "not_given", "None"),  # 無/なし: never given, not a withdrawal
    ]
    assert {c.recorded_by for c in consents} == {coord.id}
    # Only the consented resident reaches the district's commissioner.
    async with db() as session:
        commissioner = await session.scalar(select(User).where(User.login == "commissioner"))
        districts = frozenset(await session.scalars(select(District.id).where(District.name == "中央地区")))
        principal = Principal(commissioner.id, commissioner.org_id, Role.COMMISSIONER, districts)
        visible = list(await session.scalars(select(Resident.name).where(visible_residents(principal))))
    assert visible == ["山田 花子"]
