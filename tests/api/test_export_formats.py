"""Every export in every format (?format=csv | csv-cp932 | xlsx): the same rows and headers in
each, CP932 with 〓 for what it cannot hold (and the count in a header), XLSX a real workbook
(bold frozen header, Excel dates in the organisation's zone, formula-like text kept as text);
volunteers export nothing; restricted notes only for who may read them; each file an audit event;
an unknown format refused naming the choices. The audit log's own export (coordinators)."""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from defusedxml import ElementTree
from sqlalchemy import func, select

from api.audit import exports as audit_exports
from api.reports import cp932
from domain.clock import clock
from domain.enums import AlertStatus, ConsentRecipient, Role, VisitStatus
from domain.models import Alert, AuditEvent, ContactNote, Visit
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
LONG_AGO = NOW - timedelta(days=90)  # registered then, never contacted: on the working list
PERIOD = "from=2026-06-01&to=2026-06-10"
FORMATS = ("csv", "csv-cp932", "xlsx")
EXPORTS = {
    "residents": "/api/v1/residents?",
    "contact_notes": "/api/v1/contact-notes?",
    "visits": f"/api/v1/reports/exports/visits?{PERIOD}&",
    "alerts": f"/api/v1/reports/exports/alerts?{PERIOD}&",
    "working_list": "/api/v1/reports/working-list?",
    "coverage": f"/api/v1/reports/coverage?{PERIOD}&",
    "audit": "/api/v1/audit/export?entity=user&",  # sign-ins: not grown by the exports
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
async def town(db):
    clock.set(NOW)
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        coord = await make_user(s, org, Role.COORDINATOR, "coord", display_name="調整 花子")
        comm = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east])
        await make_user(s, org, Role.VOLUNTEER, "vol")
        yoshino = await make_resident(
            s, org, east, name="𠮷野 🙂子", kana="ヨシノ", address="東町1〜2", phone="+81-90-1111-2222"
        )
        sly = await make_resident(s, org, east, name="=HYPERLINK(1)", kana="ア", created_at=LONG_AGO)
        west_one = await make_resident(s, org, west, name="西 一郎", kana="ニシ")
        for r in (yoshino, sly, west_one):
            await give_consent(s, r, ConsentRecipient.DISTRICT_COMMISSIONER)
        await assign(s, west_one, comm)  # comm sees 西 一郎 by assignment, not by district

        def note(resident, at, body, visibility="team"):
            return ContactNote(
                org_id=org.id,
                resident_id=resident.id,
                author_id=coord.id,
                method="phone",
                outcome="met_well",
                occurred_at=at,
                received_at=at,
                body=body,
                visibility=visibility,
            )

        start = jst(2026, 6, 2, 9, 0)
        s.add_all(
            [
                note(yoshino, jst(2026, 6, 2, 10, 30), "元気"),
                note(west_one, jst(2026, 6, 3, 11, 0), "秘密", visibility="restricted"),
                Visit(
                    org_id=org.id,
                    resident_id=yoshino.id,
                    occurrence_key="v1",
                    due_start=start,
                    due_end=start + timedelta(hours=9),
                    status=VisitStatus.DONE,
                    completed_at=jst(2026, 6, 2, 10, 30),
                ),
                Alert(
                    org_id=org.id,
                    kind="missed_visit",
                    cause_key="a1",
                    resident_id=west_one.id,
                    opened_at=jst(2026, 6, 4, 20, 0),
                    status=AlertStatus.OPEN,
                ),
            ]
        )
        other = await make_org(s, "よその市")
        await make_user(s, other, Role.COORDINATOR, "other-coord")
        await make_resident(s, other, await make_district(s, other, "よそ"), name="よそ 人")
    return {"org": org.id}


def _xlsx_rows(data: bytes) -> tuple[list[list[str]], zipfile.ZipFile]:
    """The first sheet's cells as text (numbers as written), by their column letters."""
    book = zipfile.ZipFile(io.BytesIO(data))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in book.namelist():
        root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root]
    sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{NS['m']}}}row"):
        cells: dict[int, str] = {}
        for c in row.findall("m:c", NS):
            col = _column(c.get("r", "A1"))
            kind = c.get("t")
            if kind == "inlineStr":
                cells[col] = "".join(t.text or "" for t in c.iter(f"{{{NS['m']}}}t"))
            elif kind == "s":
                cells[col] = shared[int(c.findtext("m:v", "", NS))]
            else:
                cells[col] = c.findtext("m:v", "", NS)
        rows.append([cells.get(i, "") for i in range(max(cells, default=-1) + 1)])
    return rows, book


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    assert letters
    n = 0
    for ch in letters.group():
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_export(response, fmt: str) -> list[list[str]]:
    assert response.status_code == 200, response.text
    if fmt == "xlsx":
        assert response.headers["content-type"] == XLSX_TYPE
        return _xlsx_rows(response.content)[0]
    if fmt == "csv":
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.content.startswith(b"\xef\xbb\xbf")
        text = response.content.decode("utf-8-sig")
    else:
        assert response.headers["content-type"] == "text/csv; charset=Shift_JIS"
        assert not response.content.startswith(b"\xef\xbb\xbf")
        text = response.content.decode("cp932")  # strict: every byte is CP932
    return list(csv.reader(io.StringIO(text, newline="")))


async def _exports_recorded(db) -> int:
    async with db() as s:
        return await s.scalar(select(func.count()).where(AuditEvent.action == "export")) or 0


@pytest.mark.parametrize("name", list(EXPORTS))
async def test_each_export_has_the_same_rows_in_every_format_and_each_file_is_audited(
    client, db, town, name
) -> None:
    coord = await login(client, "coord")
    files = {}
    for fmt in FORMATS:
        before = await _exports_recorded(db)
        response = await client.get(EXPORTS[name] + f"format={fmt}", headers=coord)
        files[fmt] = read_export(response, fmt)
        ext = "xlsx" if fmt == "xlsx" else "csv"
        disposition = response.headers["content-disposition"]
        assert re.fullmatch(
            rf"attachment; filename=\"[a-z-]+-2026-06-10\.{ext}\"; filename\*=UTF-8''%[0-9A-F%]+-2026-06-10\.{ext}",
            disposition,
        ), disposition
        if name != "coverage" and name != "working_list":  # reports audited as reads/exports elsewhere
            assert await _exports_recorded(db) == before + 1
    csv_rows, cp932_rows, xlsx_rows = files["csv"], files["csv-cp932"], files["xlsx"]
    assert len(csv_rows) == len(cp932_rows) == len(xlsx_rows) and len(csv_rows) >= 2
    assert csv_rows[0] == cp932_rows[0] == xlsx_rows[0]
    as_cp932 = [[cp932.encode(cell)[0].decode("cp932") for cell in row] for row in csv_rows]
    assert as_cp932 == cp932_rows  # the same file, 〓 where CP932 has no character


async def test_cp932_writes_geta_for_what_it_cannot_hold_and_counts_it(client, town) -> None:
    coord = await login(client, "coord")
    response = await client.get("/api/v1/residents?format=csv-cp932", headers=coord)
    rows = read_export(response, "csv-cp932")
    yoshino = next(r for r in rows if r[1] == "ヨシノ")
    assert yoshino[0] == "〓野 〓子"  # 𠮷 (JIS X 0213) and 🙂 are not in CP932
    assert yoshino[3] == "東町1～2"  # WAVE DASH written as CP932's own tilde, not 〓
    assert response.headers["x-replaced-characters"] == "2"
    utf8 = read_export(await client.get("/api/v1/residents?format=csv", headers=coord), "csv")
    assert "𠮷野 🙂子" in [r[0] for r in utf8]  # UTF-8 keeps them


def test_cp932_encoding_counts_each_replaced_character() -> None:
    assert cp932.encode("佐藤") == ("佐藤".encode("cp932"), 0)
    data, replaced = cp932.encode("𠮷野🙂〜")
    assert data.decode("cp932") == "〓野〓～" and replaced == 2


async def test_xlsx_is_a_workbook_with_a_frozen_bold_header_excel_dates_and_text_kept_text(
    client, town, tmp_path, monkeypatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where the workbook is written
    coord = await login(client, "coord")
    response = await client.get("/api/v1/contact-notes?format=xlsx", headers=coord)
    rows, book = _xlsx_rows(response.content)
    assert rows[0][:3] == ["日時", "氏名", "地区"]
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>', sheet)
    styles = book.read("xl/styles.xml").decode()
    assert "<b/>" in styles and 'formatCode="yyyy-mm-dd hh:mm"' in styles
    # 2026-06-02 10:30 in Tokyo as an Excel serial day number (1899-12-30 is day 0), not text
    serial = float(rows[-1][0])
    as_local = datetime(1899, 12, 30) + timedelta(days=serial)
    assert abs(as_local - datetime(2026, 6, 2, 10, 30)) < timedelta(seconds=1)

    residents = await client.get("/api/v1/residents?format=xlsx", headers=coord)
    people, book = _xlsx_rows(residents.content)
    assert "=HYPERLINK(1)" in [r[0] for r in people]  # the value as typed, no apostrophe added
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula anywhere
    assert 'quotePrefix="1"' in book.read("xl/styles.xml").decode()  # Excel keeps it text on edit
    assert people[0][2] == "生年" and "+81-90-1111-2222" in [r[4] for r in people]
    assert list(spool.iterdir()) == []  # the temporary workbook is gone once sent
    cp932_file = await client.get("/api/v1/residents?format=csv-cp932", headers=coord)
    assert cp932_file.status_code == 200 and list(spool.iterdir()) == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_volunteers_export_nothing_and_the_audit_log_is_for_coordinators(client, town, fmt) -> None:
    vol = await login(client, "vol")
    for url in EXPORTS.values():
        assert (await client.get(url + f"format={fmt}", headers=vol)).status_code == 403, url
    comm = await login(client, "comm")
    assert (await client.get(EXPORTS["audit"] + f"format={fmt}", headers=comm)).status_code == 403


@pytest.mark.parametrize("fmt", FORMATS)
async def test_restricted_notes_only_for_who_may_read_them(client, town, fmt) -> None:
    url = EXPORTS["contact_notes"] + f"format={fmt}"
    coord_rows = read_export(await client.get(url, headers=await login(client, "coord")), fmt)
    comm_rows = read_export(await client.get(url, headers=await login(client, "comm")), fmt)
    assert sorted(r[11] for r in coord_rows[1:]) == ["元気", "秘密"]
    assert [r[11] for r in comm_rows[1:]] == ["元気"]  # sees 西 一郎, not the restricted note
    other = read_export(await client.get(url, headers=await login(client, "other-coord")), fmt)
    assert len(other) == 1  # another organisation: the header only


@pytest.mark.parametrize("name", list(EXPORTS))
async def test_an_unknown_format_is_refused_naming_the_choices(client, town, name) -> None:
    coord = await login(client, "coord")
    response = await client.get(EXPORTS[name] + "format=ods", headers=coord)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "format"
    assert all(choice in error["message"] for choice in FORMATS), error


async def test_audit_export_follows_the_list_filters_and_is_itself_audited(
    client, db, town, monkeypatch
) -> None:
    monkeypatch.setattr(audit_exports, "EXPORT_BATCH", 2)  # keyset pages of 2 events, same instant
    coord = await login(client, "coord")
    await login(client, "coord")
    await client.get("/api/v1/residents", headers=coord)  # a read: audited
    listed = (await client.get("/api/v1/audit?entity=resident&page_size=100", headers=coord)).json()
    rows = read_export(await client.get("/api/v1/audit/export?entity=resident", headers=coord), "csv")
    assert rows[0] == ["日時", "操作者", "端末", "操作", "対象", "対象ID", "詳細（項目名・ID）"]
    assert len(rows) - 1 == listed["total"] >= 1
    everything = (await client.get("/api/v1/audit?page_size=100", headers=coord)).json()
    whole = read_export(await client.get("/api/v1/audit/export", headers=coord), "csv")
    assert everything["total"] >= 4 and len(whole) - 1 == everything["total"]  # every page, once each
    assert sorted(r[5] for r in whole[1:]) == sorted(e["entity_id"] or "" for e in everything["items"])
    assert {r[4] for r in rows[1:]} == {"resident"} and rows[1][1] == "調整 花子"
    english = read_export(
        await client.get("/api/v1/audit/export?format=xlsx", headers={**coord, "Accept-Language": "en"}),
        "xlsx",
    )
    assert english[0][:2] == ["When", "Who"]
    async with db() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.entity == "audit_event"))).all()
    # the three exports, in no set order: the clock is frozen, so `at` cannot order them
    assert sorted((e.action, e.detail["format"], e.detail["filters"]["entity"] or "") for e in events) == [
        ("export", "csv", ""),
        ("export", "csv", "resident"),
        ("export", "xlsx", ""),
    ]
    (filtered,) = [e for e in events if e.detail["filters"]["entity"] == "resident"]
    assert filtered.detail["events"] == listed["total"]
    found = await client.get("/api/v1/audit?entity=audit_event", headers=coord)
    assert found.json()["total"] == 3
    naive = await client.get("/api/v1/audit/export?since=2026-06-01T00:00:00", headers=coord)
    assert naive.status_code == 400 and naive.json()["errors"][0]["field"] == "since"


@pytest.mark.parametrize("backend", ["sqlite"])  # about headers, not the database
async def test_a_web_client_under_cors_may_read_the_file_name_and_the_replaced_count(settings, town) -> None:
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    origin = "https://office.example"
    app = create_app(settings.model_copy(update={"cors_origins": [origin]}))
    async with AsyncTestClient(app=app) as client:
        coord = await login(client, "coord")
        response = await client.get("/api/v1/residents?format=csv-cp932", headers={**coord, "Origin": origin})
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-replaced-characters" in exposed and "content-disposition" in exposed
