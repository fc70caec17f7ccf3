"""The working list as a coordinator checks it: who has gone too long without contact, per district,
watcher and risk level, in the organisation's calendar; "not contacted" vs "not synced"; each role
sees only its residents; another organisation never appears; bad parameters are named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from api.reports import working_list
from domain.clock import clock
from domain.enums import (
    ConsentRecipient,
    ContactMethod,
    ContactOutcome,
    NoteVisibility,
    ResidentStatus,
    RiskLevel,
    Role,
)
from domain.models import AuditEvent, ContactNote, Device, Resident, User
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # 12:00 on 10 June in Tokyo
URL = "/api/v1/reports/working-list"


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
async def town(db):
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))  # everybody registered on New Year's Day
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        comm = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east], display_name="東 民生")
        vol = await make_user(s, org, Role.VOLUNTEER, "vol", display_name="ボラ 花子")

        def resident(name, district, risk, **fields):
            return make_resident(s, org, district, name=name, kana=name, risk_level=risk, **fields)

        people = {
            # 14 local days since 27 May: listed (high: 14)
            "A": await resident("あ", east, RiskLevel.HIGH, last_contact_at=jst(2026, 5, 27, 10, 0)),
            # 00:30 on 28 May in Tokyo is still 27 May in UTC: 13 local days, not listed
            "B": await resident("い", east, RiskLevel.HIGH, last_contact_at=jst(2026, 5, 28, 0, 30)),
            "C": await resident("う", west, RiskLevel.MEDIUM, last_contact_at=NOW - timedelta(days=40)),
            "D": await resident("え", west, RiskLevel.LOW, last_contact_at=NOW - timedelta(days=40)),
            "E": await resident("お", east, RiskLevel.HIGH),  # never reached since 1 January
            "F": await resident("か", east, RiskLevel.HIGH, status=ResidentStatus.PAUSED),
            "G": await resident("き", east, RiskLevel.HIGH, status=ResidentStatus.ENDED),
            "H": await resident("く", east, RiskLevel.HIGH, last_contact_at=NOW - timedelta(days=20)),
        }
        for key in "ABEF":
            await give_consent(s, people[key], ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(s, people["A"], ConsentRecipient.VOLUNTEERS)
        await assign(s, people["A"], vol)
        await assign(s, people["E"], comm)
        s.add_all(
            [
                ContactNote(
                    org_id=org.id,
                    resident_id=people["A"].id,
                    author_id=vol.id,
                    method=ContactMethod.PHONE,
                    outcome=ContactOutcome.MET_WELL,
                    occurred_at=jst(2026, 5, 27, 10, 0),
                    received_at=jst(2026, 5, 27, 10, 5),
                ),
                ContactNote(  # an attempt later on: not a contact, does not change the method shown
                    org_id=org.id,
                    resident_id=people["A"].id,
                    author_id=vol.id,
                    method=ContactMethod.HOME_VISIT,
                    outcome=ContactOutcome.NO_ANSWER,
                    occurred_at=jst(2026, 6, 3, 10, 0),
                    received_at=jst(2026, 6, 3, 10, 5),
                ),
            ]
        )
        other = await make_org(s, "よその市")
        elsewhere = await make_district(s, other, "よその地区")
        await make_user(s, other, Role.COORDINATOR, "other-coord")
        await make_resident(s, other, elsewhere, name="よそ", kana="よそ", risk_level=RiskLevel.HIGH)
        ids = {key: r.id for key, r in people.items()}
    clock.set(NOW)
    return {**ids, "east": east.id, "west": west.id, "vol": vol.id, "elsewhere": elsewhere.id}


async def _names(client, headers, query: str = "") -> list[str]:
    response = await client.get(URL + query, headers=headers)
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()["items"]]


async def test_coordinator_sees_who_is_overdue_in_local_days(client, db, town) -> None:
    coord = await login(client, "coord")
    vol_phone = await login(client, "vol")
    async with db() as s:  # the volunteer's phone synced on 1 June, after A's last contact
        await s.execute(update(Device).values(last_sync_at=jst(2026, 6, 1, 9, 0)))
    assert vol_phone
    response = await client.get(URL, headers=coord)
    assert response.status_code == 200, response.text
    page = response.json()
    # never reached first, then the oldest contact first; B (13 local days), D (low: 60), the
    # paused, the ended and the other town's resident are not listed
    assert [row["name"] for row in page["items"]] == ["お", "う", "く", "あ"]
    assert page["total"] == 4 and page["as_of"] == "2026-06-10"
    assert page["limits"] == {"high": 14, "medium": 30, "low": 60}
    a = page["items"][3]
    assert a["last_contact_method"] == "phone"  # the later no-answer attempt is not a contact
    assert a["days_without_contact"] == 14 and a["limit_days"] == 14
    assert a["assignee"]["display_name"] == "ボラ 花子"
    assert a["synced_since_last_contact"] is True and a["state"] == "not_contacted"
    e = page["items"][0]
    assert e["last_contact_at"] is None and e["days_without_contact"] == 160
    assert e["assignee"]["display_name"] == "東 民生" and e["state"] == "not_synced"
    c = page["items"][1]
    assert c["assignee"] is None and c["state"] == "unassigned" and c["district_name"] == "西地区"


async def test_filters_days_and_sort(client, town) -> None:
    coord = await login(client, "coord")
    clock.set(NOW)
    assert await _names(client, coord, "?days=30") == ["お", "う", "え"]
    assert await _names(client, coord, "?days=13") == ["お", "う", "え", "く", "あ", "い"]
    assert await _names(client, coord, "?sort=-last_contact_at") == ["あ", "く", "う", "お"]
    assert await _names(client, coord, f"?district_id={town['west']}") == ["う"]
    assert await _names(client, coord, "?risk_level=high") == ["お", "く", "あ"]
    assert await _names(client, coord, f"?assignee_id={town['vol']}") == ["あ"]
    paged = await client.get(URL + "?page=2&page_size=3", headers=coord)
    assert [r["name"] for r in paged.json()["items"]] == ["あ"] and paged.json()["total"] == 4


async def test_each_role_sees_only_its_residents_and_no_other_town(client, db, town) -> None:
    comm, vol, other = [await login(client, who) for who in ("comm", "vol", "other-coord")]
    clock.set(NOW)
    # H has no consent for the commissioner; C and D live in another district
    assert await _names(client, comm, "?days=1") == ["お", "あ", "い"]
    assert await _names(client, vol, "?days=1") == ["あ"]
    assert await _names(client, other) == ["よそ"]
    async with db() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "list"))).all()
    listed = [e.detail for e in events if e.detail.get("report") == "working_list"]
    assert [town["A"]] in [d["resident_ids"] for d in listed]  # the volunteer's read is audited


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?days=0", "days"),
        ("?sort=name", "sort"),
        ("?risk_level=urgent", "risk_level"),
        ("?page_size=0", "page_size"),
    ],
)
async def test_bad_parameters_are_named(client, town, query: str, field: str) -> None:
    coord = await login(client, "coord")
    response = await client.get(URL + query, headers={**coord, "Accept-Language": "en"})
    assert response.status_code == 400, response.text
    assert field in response.text


async def test_unknown_parameters_and_other_towns_districts_are_refused(client, town) -> None:
    coord = await login(client, "coord")
    response = await client.get(URL + "?dayz=3&last_contact_before=2026-01-01", headers=coord)
    assert response.status_code == 400
    assert response.json()["unknown_parameters"] == ["dayz", "last_contact_before"]
    foreign = await client.get(URL + f"?district_id={town['elsewhere']}", headers=coord)
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["field"] == "district_id"


async def test_signed_out_callers_get_nothing(client, town) -> None:
    assert (await client.get(URL)).status_code == 401


async def test_the_openapi_document_describes_the_working_list(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/reports/working-list"]["get"]
    assert operation["operationId"] == "workingList"
    names = {p["name"] for p in operation["parameters"] if "name" in p}
    assert {"days", "district_id", "assignee_id", "risk_level", "sort", "page", "page_size"} <= names


async def test_csv_export_opens_in_excel_in_the_readers_language(client, db, town, monkeypatch) -> None:
    # one resident a batch: the file is streamed, each batch read in its own session after the
    # handler returned; rows, order and audit as built whole
    monkeypatch.setattr(working_list, "DETAIL_BATCH", 1)
    async with db() as s:  # a name typed as a formula must not run in Excel
        (await s.get(Resident, town["H"])).name = "=HYPERLINK(1)"
    coord = await login(client, "coord")
    response = await client.get(URL + "?format=csv&risk_level=high&page_size=1", headers=coord)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "content-length" not in response.headers
    assert 'filename="working-list-2026-06-10.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads it as UTF-8
    lines = response.content.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(",")[:5] == ["氏名", "ふりがな", "住所", "地区", "リスク"]
    rows = [line.split(",") for line in lines[1:] if line]
    assert [r[0] for r in rows] == ["お", "'=HYPERLINK(1)", "あ"]  # every row, not one page
    a = rows[2]
    assert (a[4], a[6], a[7], a[8], a[11]) == (
        "高",
        "2026-05-27 10:00",
        "電話",
        "14",
        "未同期（端末に未送信の記録の可能性）",
    )
    assert rows[0][6] == "なし"  # never reached
    english = await client.get(URL + "?format=csv", headers={**coord, "Accept-Language": "en"})
    assert english.content.decode("utf-8-sig").startswith("Name,Kana,Address,District,Risk level")
    async with db() as s:
        exports = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "export"))).all()
    # each export names its residents in file order; the two rows come back in no set order
    assert sorted(e.detail["resident_ids"] for e in exports) == sorted(
        [
            [town["E"], town["H"], town["A"]],  # high risk only
            [town["E"], town["C"], town["H"], town["A"]],  # English, every overdue resident
        ]
    )


async def test_csv_export_follows_sight_and_volunteers_export_nothing(client, town) -> None:
    comm = await login(client, "comm")
    response = await client.get(URL + "?format=csv&days=1", headers=comm)
    assert response.status_code == 200
    assert [line.split(",")[0] for line in response.text.lstrip("\ufeff").split("\r\n")[1:] if line] == [
        "お",
        "あ",
        "い",
    ]
    vol = await login(client, "vol")
    assert (await client.get(URL + "?format=csv", headers=vol)).status_code == 403
    coord = await login(client, "coord")
    bad = await client.get(URL + "?format=ods", headers=coord)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "format"
    assert "csv-cp932" in bad.json()["errors"][0]["message"], bad.json()


async def test_a_restricted_last_note_hides_its_method_from_a_volunteer(client, db, town) -> None:
    async with db() as s:
        note = (
            await s.scalars(select(ContactNote).where(ContactNote.outcome == ContactOutcome.MET_WELL))
        ).one()
        note.visibility = NoteVisibility.RESTRICTED
        note.author_id = (await s.scalars(select(User.id).where(User.login == "comm"))).one()
    vol = await login(client, "vol")
    row = (await client.get(URL, headers=vol)).json()["items"][0]
    assert row["last_contact_at"] is not None and row["last_contact_method"] is None
    coord = await login(client, "coord")
    rows = (await client.get(URL, headers=coord)).json()["items"]
    assert rows[-1]["last_contact_method"] == "phone"


async def test_a_long_list_is_detailed_in_slices_with_the_same_answer(client, town, monkeypatch) -> None:
    from api.reports import working_list

    coord = await login(client, "coord")
    whole = (await client.get(URL, headers=coord)).json()["items"]
    monkeypatch.setattr(working_list, "DETAIL_BATCH", 1)
    sliced = (await client.get(URL, headers=coord)).json()["items"]
    assert sliced == whole and whole[-1]["last_contact_method"] == "phone"


@pytest.mark.parametrize(
    ("sort", "in_order"),
    [
        ("last_contact_at", ["お", "う", "え", "く", "あ", "い"]),  # never reached first
        ("-last_contact_at", ["い", "あ", "く", "う", "え", "お"]),  # never reached last
    ],
)
async def test_every_page_size_gives_the_same_list_as_the_file(client, town, sort, in_order) -> None:
    """A page is read as two parts, the residents never reached and those reached; pages of any
    size join up to one list, across the two parts, in the order of the CSV file (う and え were
    last reached at the same moment: by kana)."""
    coord = await login(client, "coord")
    query = f"?days=13&sort={sort}"
    response = await client.get(URL + query + "&format=csv", headers=coord)
    lines = response.content.decode("utf-8-sig").split("\r\n")[1:]
    assert [line.split(",")[0] for line in lines if line] == in_order
    for size in range(1, 8):
        joined = []
        for page in range(1, 8):
            response = await client.get(URL + f"{query}&page={page}&page_size={size}", headers=coord)
            assert response.json()["total"] == 6
            joined += [row["name"] for row in response.json()["items"]]
        assert joined == in_order, size
