"""The commissioners' monthly activity record (民生委員・児童委員活動記録) against a hand-counted
November in Tokyo: consultations by field and topic, every other activity, visits (answered or
not), liaison, days active; month boundaries in the organisation's zone; the review and whether
anything changed after it; the district council's total; who may read what."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.clock import clock
from domain.enums import ActivityKind, ConsentRecipient, ContactMethod, ContactOutcome, Role
from domain.models import (
    ActivityRecordReview,
    CommissionerActivity,
    ContactNote,
    District,
    Organisation,
    Resident,
    User,
)
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 12:00 on 2 December in Tokyo
URL = "/api/v1/reports/activity-record"


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(UTC)


@dataclass
class Town:
    org: Organisation
    east: District
    west: District
    comm: User  # east
    comm2: User  # east
    comm_w: User  # west
    stranger: User  # a commissioner of another organisation
    r1: Resident
    r2: Resident


def _note(
    town: Town, author: User, resident: Resident, when: datetime, method: str, **kw: Any
) -> ContactNote:
    return ContactNote(
        org_id=town.org.id,
        resident_id=resident.id,
        author_id=author.id,
        method=method,
        outcome=kw.pop("outcome", ContactOutcome.MET_WELL),
        occurred_at=when,
        received_at=when,
        **kw,
    )


def _activity(town: Town, who: User, day: date, kind: ActivityKind, **kw: Any) -> CommissionerActivity:
    return CommissionerActivity(
        org_id=town.org.id,
        commissioner_id=who.id,
        district_id=town.east.id,
        activity_date=day,
        kind=kind,
        **kw,
    )


@pytest.fixture
async def town(db) -> Town:
    clock.set(NOW)
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        await make_user(s, org, Role.VOLUNTEER, "vol")
        comm = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east], display_name="東 一子")
        comm2 = await make_user(s, org, Role.COMMISSIONER, "comm2", districts=[east], display_name="東 二郎")
        comm_w = await make_user(s, org, Role.COMMISSIONER, "comm-w", districts=[west])
        r1 = await make_resident(s, org, east, name="見守 一")
        r2 = await make_resident(s, org, east, name="見守 二")
        for r in (r1, r2):
            await give_consent(s, r, ConsentRecipient.DISTRICT_COMMISSIONER)
        other_org = await make_org(s, "よその町")
        elsewhere = await make_district(s, other_org, "よその地区")
        stranger = await make_user(s, other_org, Role.COMMISSIONER, "stranger", districts=[elsewhere])
        t = Town(org, east, west, comm, comm2, comm_w, stranger, r1, r2)
        home, phone, place = ContactMethod.HOME_VISIT, ContactMethod.PHONE, ContactMethod.MEETING_PLACE
        s.add_all(
            [
                # comm, November in Tokyo
                _note(
                    t,
                    comm,
                    r1,
                    jst(2026, 11, 1, 0, 10),
                    home,
                    support_field="elderly",
                    support_topic="long_term_care",
                ),
                _note(t, comm, r1, jst(2026, 11, 5, 10, 0), home, outcome=ContactOutcome.NO_ANSWER),
                _note(
                    t,
                    comm,
                    r1,
                    jst(2026, 11, 5, 14, 0),
                    phone,
                    support_field="elderly",
                    support_topic="health",
                ),
                _note(
                    t,
                    comm,
                    r2,
                    jst(2026, 11, 12, 10, 0),
                    place,
                    support_field="children",
                    support_topic="child_education",
                ),
                _note(
                    t,
                    comm,
                    r2,
                    jst(2026, 11, 20, 10, 0),
                    home,
                    outcome=ContactOutcome.MET_CONCERN,
                    support_field="disabled",
                ),
                _note(
                    t,
                    comm,
                    r2,
                    jst(2026, 11, 30, 23, 30),
                    home,
                    support_field="other",
                    support_topic="family",
                ),
                # comm, outside November in Tokyo (inside it in UTC), or deleted
                _note(
                    t,
                    comm,
                    r1,
                    jst(2026, 12, 1, 0, 30),
                    home,
                    support_field="elderly",
                    support_topic="health",
                ),
                _note(t, comm, r1, jst(2026, 10, 31, 23, 30), home),
                _note(t, comm, r1, jst(2026, 11, 15, 9, 0), home, support_field="elderly", deleted_at=NOW),
                # comm2
                _note(
                    t,
                    comm2,
                    r1,
                    jst(2026, 11, 15, 10, 0),
                    home,
                    support_field="elderly",
                    support_topic="home_welfare",
                ),
                # comm's activities
                _activity(t, comm, date(2026, 11, 3), ActivityKind.SURVEY),
                _activity(t, comm, date(2026, 11, 5), ActivityKind.CERTIFICATES, count=3),
                _activity(t, comm, date(2026, 11, 8), ActivityKind.EVENTS_MEETINGS),
                _activity(t, comm, date(2026, 11, 8), ActivityKind.COMMUNITY_WELFARE, count=2),
                _activity(t, comm, date(2026, 11, 10), ActivityKind.COUNCIL_TRAINING),
                _activity(t, comm, date(2026, 11, 12), ActivityKind.CHILD_PROTECTION_REPORT),
                _activity(t, comm, date(2026, 11, 25), ActivityKind.LIAISON, count=2),
                _activity(t, comm, date(2026, 11, 26), ActivityKind.LIAISON),
                _activity(t, comm, date(2026, 12, 1), ActivityKind.LIAISON),
                _activity(t, comm, date(2026, 11, 27), ActivityKind.SURVEY, deleted_at=NOW),
                # comm2's activity
                _activity(t, comm2, date(2026, 11, 15), ActivityKind.LIAISON),
            ]
        )
    return t


def _consultations(figures: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (f["field"], t["topic"]): t["count"]
        for f in figures["consultations"]["by_field"]
        for t in f["topics"]
        if t["count"]
    }


def _others(figures: dict[str, Any]) -> dict[str, int]:
    return {a["kind"]: a["count"] for a in figures["other_activities"]}


async def test_a_hand_counted_month(client, town: Town) -> None:
    headers = await login(client, "comm")
    response = await client.get(f"{URL}?month=2026-11", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["month"] == "2026-11"
    assert body["commissioner"] == {"id": town.comm.id, "display_name": "東 一子"}
    assert body["review"] is None
    f = body["figures"]
    assert _consultations(f) == {
        ("elderly", "long_term_care"): 1,
        ("elderly", "health"): 1,
        ("children", "child_education"): 1,
        ("disabled", "other"): 1,  # no topic: その他
        ("other", "family"): 1,  # 23:30 on the 30th in Tokyo
    }
    assert f["consultations"]["total"] == 5
    assert {x["field"]: x["total"] for x in f["consultations"]["by_field"]} == {
        "elderly": 2,
        "disabled": 1,
        "children": 1,
        "other": 1,
    }
    assert {t["topic"]: t["count"] for t in f["consultations"]["by_topic"] if t["count"]} == {
        "long_term_care": 1,
        "health": 1,
        "child_education": 1,
        "other": 1,
        "family": 1,
    }
    assert len(f["consultations"]["by_field"]) == 4
    assert all(len(x["topics"]) == 14 for x in f["consultations"]["by_field"])
    assert _others(f) == {
        "survey": 1,
        "events_meetings": 1,
        "community_welfare": 2,
        "council_training": 1,
        "certificates": 3,
        "child_protection_report": 1,
    }
    assert f["other_activities_total"] == 9
    # home visits, the unanswered door included; phone and meeting place are other contacts
    assert (f["visits"], f["contacts"], f["liaison"]) == (4, 2, 3)
    # liaisons recorded without a counterpart (phones before sync schema v5) count as その他
    assert {c["counterpart"]: c["count"] for c in f["liaison_by_counterpart"] if c["count"]} == {"other": 3}
    assert [c["label"] for c in f["liaison_by_counterpart"]] == [
        "行政",
        "社協",
        "学校",
        "警察",
        "医療・介護",
        "その他",
    ]
    # 1, 3, 5, 8, 10, 12, 20, 25, 26, 30 November
    assert f["days_active"] == 10
    labels = {x["field"]: x["label"] for x in f["consultations"]["by_field"]}
    assert labels["elderly"] == "高齢者に関すること"
    assert f["other_activities"][-1]["label"] == "要保護児童の発見の通告・仲介"

    english = (await client.get(f"{URL}?month=2026-11", headers={**headers, "Accept-Language": "en"})).json()
    assert english["figures"]["consultations"]["by_field"][0]["label"] == "Older people"
    assert english["figures"] | {} != f  # labels differ, counts not
    assert _consultations(english["figures"]) == _consultations(f)


async def test_the_month_boundary_is_tokyos(client, town: Town) -> None:
    headers = await login(client, "comm")
    december = (await client.get(f"{URL}?month=2026-12", headers=headers)).json()["figures"]
    # 00:30 on 1 December in Tokyo is still 30 November in UTC: it counts in December
    assert _consultations(december) == {("elderly", "health"): 1}
    assert (december["visits"], december["liaison"], december["days_active"]) == (1, 1, 1)
    october = (await client.get(f"{URL}?month=2026-10", headers=headers)).json()["figures"]
    assert (october["visits"], october["days_active"], october["consultations"]["total"]) == (1, 1, 0)
    # default: the current month in Tokyo
    current = (await client.get(URL, headers=headers)).json()
    assert current["month"] == "2026-12"


async def test_coordinator_reads_any_commissioner_and_a_csv(client, town: Town) -> None:
    headers = await login(client, "coord")
    body = (await client.get(f"{URL}?month=2026-11&commissioner_id={town.comm2.id}", headers=headers)).json()
    assert _consultations(body["figures"]) == {("elderly", "home_welfare"): 1}
    assert (body["figures"]["visits"], body["figures"]["liaison"], body["figures"]["days_active"]) == (
        1,
        1,
        1,
    )

    response = await client.get(
        f"{URL}?month=2026-11&commissioner_id={town.comm.id}&format=csv", headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["区分", "項目", "件数"]
    cells = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert cells[("訪問回数", "")] == "4"
    assert cells[("連絡調整回数", "")] == "3"
    assert cells[("活動日数", "")] == "10"
    assert cells[("相談・支援件数", "合計")] == "5"
    assert cells[("相談・支援件数", "高齢者に関すること／介護保険")] == "1"
    assert cells[("その他の活動", "証明事務")] == "3"


@pytest.mark.parametrize(
    ("login_name", "target", "status"),
    [
        ("vol", None, 403),
        ("vol", "comm", 403),
        ("comm", "comm2", 403),  # another commissioner's record
        ("comm", "stranger", 404),  # another organisation's
        ("coord", "stranger", 404),
        ("coord", None, 400),  # a coordinator has no record of their own
    ],
)
async def test_who_may_read_a_record(
    client, town: Town, login_name: str, target: str | None, status: int
) -> None:
    headers = await login(client, login_name)
    ids = {"comm": town.comm.id, "comm2": town.comm2.id, "stranger": town.stranger.id}
    query = "?month=2026-11" + (f"&commissioner_id={ids[target]}" if target else "")
    response = await client.get(URL + query, headers=headers)
    assert response.status_code == status, response.text


async def test_a_coordinator_is_asked_to_name_the_commissioner(client, town: Town) -> None:
    for language, wording in (("ja", "必須項目です。"), ("en", "This field is required.")):
        headers = {**await login(client, "coord"), "Accept-Language": language}
        response = await client.get(URL + "?month=2026-11", headers=headers)
        assert response.status_code == 400
        problem = response.json()
        assert [(e["field"], e["message"]) for e in problem["errors"]] == [("commissioner_id", wording)], (
            problem
        )


@pytest.mark.parametrize("month", ["2026-13", "2026/11", "26-11", "1999-12", "9999-12", "2026-00"])
async def test_a_bad_month_is_a_400_naming_it(client, town: Town, month: str) -> None:
    headers = await login(client, "comm")
    response = await client.get(f"{URL}?month={month}", headers=headers)
    assert response.status_code == 400
    assert "month" in response.text


async def test_review_is_kept_idempotent_and_notices_later_changes(client, db, town: Town) -> None:
    headers = await login(client, "comm")
    first = await client.post(f"{URL}/review", json={"month": "2026-11"}, headers=headers)
    assert first.status_code == 200, first.text
    review = first.json()["review"]
    assert review["reviewed_by"] == town.comm.id and review["changed_since_review"] is False
    assert datetime.fromisoformat(review["reviewed_at"]) == NOW

    clock.set(datetime(2026, 12, 2, 3, 1, tzinfo=UTC))  # a minute later
    again = await client.post(f"{URL}/review", json={"month": "2026-11"}, headers=headers)
    assert again.json()["review"] == review  # nothing changed: the same review
    shown = (await client.get(f"{URL}?month=2026-11", headers=headers)).json()["review"]
    assert shown == review

    district = (await client.get(f"{URL}/districts/{town.east.id}?month=2026-11", headers=headers)).json()
    assert (district["commissioners"], district["reviewed"]) == (2, 1)

    assert review["changes"] == []
    async with db() as s:  # a late phone sync adds an activity and a consultation to November
        s.add(_activity(town, town.comm, date(2026, 11, 28), ActivityKind.SURVEY))
        s.add(
            _note(
                town,
                town.comm,
                town.r1,
                jst(2026, 11, 28, 10, 0),
                ContactMethod.HOME_VISIT,
                support_field="elderly",
                support_topic="health",
            )
        )
    changed = (await client.get(f"{URL}?month=2026-11", headers=headers)).json()
    assert changed["review"]["changed_since_review"] is True
    assert changed["figures"]["other_activities_total"] == 10
    # each changed count named, old → new, in the form's order; totals not repeated
    assert [(c["figure"], c["label"], c["reviewed"], c["current"]) for c in changed["review"]["changes"]] == [
        ("consultations.elderly.health", "高齢者に関すること／健康・保健医療", 1, 2),
        ("other_activities.survey", "調査・実態把握", 1, 2),
        ("visits", "訪問回数", 4, 5),
        ("days_active", "活動日数", 10, 11),
    ]
    english = await client.get(f"{URL}?month=2026-11", headers={**headers, "Accept-Language": "en"})
    assert [c["label"] for c in english.json()["review"]["changes"]][2:] == ["Visits", "Days active"]
    district = (await client.get(f"{URL}/districts/{town.east.id}?month=2026-11", headers=headers)).json()
    assert district["reviewed"] == 0
    member = next(m for m in district["members"] if m["commissioner"]["id"] == town.comm.id)
    assert member["review"]["changes"] == changed["review"]["changes"]

    renewed = (await client.post(f"{URL}/review", json={"month": "2026-11"}, headers=headers)).json()[
        "review"
    ]
    assert renewed["changed_since_review"] is False and renewed["changes"] == []
    assert datetime.fromisoformat(renewed["reviewed_at"]) > datetime.fromisoformat(review["reviewed_at"])


@pytest.mark.parametrize(
    ("login_name", "body", "status"),
    [
        ("coord", {"month": "2026-11"}, 403),
        ("vol", {"month": "2026-11"}, 403),
        ("comm", {"month": "2027-01"}, 400),  # not begun
        ("comm", {"month": "November"}, 400),
        ("comm", {"month": "2026-11", "commissioner_id": "x"}, 400),
    ],
)
async def test_who_may_review_and_what(client, town: Town, login_name: str, body: dict, status: int) -> None:
    headers = await login(client, login_name)
    response = await client.post(f"{URL}/review", json=body, headers=headers)
    assert response.status_code == status, response.text


async def test_the_district_councils_total(client, town: Town) -> None:
    headers = await login(client, "comm2")
    response = await client.get(f"{URL}/districts/{town.east.id}?month=2026-11", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["district_name"], body["commissioners"], body["reviewed"]) == ("東地区", 2, 0)
    assert [m["commissioner"]["display_name"] for m in body["members"]] == ["東 一子", "東 二郎"]
    f = body["figures"]
    assert f["consultations"]["total"] == 6
    assert _consultations(f)[("elderly", "home_welfare")] == 1
    assert {x["field"]: x["total"] for x in f["consultations"]["by_field"]}["elderly"] == 3
    assert (f["visits"], f["contacts"], f["liaison"], f["other_activities_total"], f["days_active"]) == (
        5,
        2,
        4,
        9,
        11,
    )


_COUNTS = ("visits", "contacts", "liaison", "other_activities_total", "days_active")


def _counts(figures: dict[str, Any]) -> tuple[int, ...]:
    return (figures["consultations"]["total"], *(figures[k] for k in _COUNTS))


async def test_a_commissioner_holding_two_districts_counts_once(client, db, town: Town) -> None:
    """両 三郎 holds 西地区 and 東地区 (西 recorded first): counted in 東地区, the first by name, and
    listed in 西地区 as counted elsewhere. The district totals add up to the records."""
    async with db() as s:
        both = await make_user(
            s,
            town.org,
            Role.COMMISSIONER,
            "comm-both",
            districts=[town.west, town.east],
            display_name="両 三郎",
        )
        home, phone = ContactMethod.HOME_VISIT, ContactMethod.PHONE
        s.add_all(
            [
                _note(town, both, town.r1, jst(2026, 11, 3, 10, 0), home, support_field="elderly"),
                _note(town, both, town.r1, jst(2026, 11, 21, 10, 0), phone),
                _activity(town, both, date(2026, 11, 21), ActivityKind.LIAISON, count=2),
                _activity(town, both, date(2026, 11, 22), ActivityKind.EVENTS_MEETINGS),
                _note(
                    town,
                    town.comm_w,
                    town.r2,
                    jst(2026, 11, 10, 10, 0),
                    home,
                    support_field="elderly",
                    support_topic="housing",
                ),
            ]
        )
    headers = await login(client, "coord")
    # (consultations, visits, contacts, liaison, other activities, days active), counted by hand
    records = {
        "comm": (5, 4, 2, 3, 9, 10),
        "comm2": (1, 1, 0, 1, 0, 1),
        "comm-both": (1, 1, 1, 2, 1, 3),  # 3, 21, 22 November
        "comm-w": (1, 1, 0, 0, 0, 1),
    }
    ids = {"comm": town.comm.id, "comm2": town.comm2.id, "comm-both": both.id, "comm-w": town.comm_w.id}
    for name, expected in records.items():
        record = await client.get(f"{URL}?month=2026-11&commissioner_id={ids[name]}", headers=headers)
        assert _counts(record.json()["figures"]) == expected, name

    east = (await client.get(f"{URL}/districts/{town.east.id}?month=2026-11", headers=headers)).json()
    west = (await client.get(f"{URL}/districts/{town.west.id}?month=2026-11", headers=headers)).json()
    assert _counts(east["figures"]) == (7, 6, 3, 6, 10, 14)  # comm + comm2 + comm-both
    assert _counts(west["figures"]) == (1, 1, 0, 0, 0, 1)  # comm-w alone
    sums = tuple(sum(column) for column in zip(*records.values(), strict=True))
    assert (
        tuple(e + w for e, w in zip(_counts(east["figures"]), _counts(west["figures"]), strict=True)) == sums
    )
    assert (east["commissioners"], west["commissioners"]) == (3, 1)

    def member(total: dict[str, Any], user_id: str) -> dict[str, Any]:
        return next(m for m in total["members"] if m["commissioner"]["id"] == user_id)

    here = member(east, both.id)
    assert here["counted_in"] == {"id": town.east.id, "name": "東地区"} and here["counted_elsewhere"] is False
    there = member(west, both.id)
    assert (
        there["counted_in"] == {"id": town.east.id, "name": "東地区"} and there["counted_elsewhere"] is True
    )
    assert member(west, town.comm_w.id)["counted_elsewhere"] is False
    assert [m["commissioner"]["display_name"] for m in west["members"]] == ["comm-w", "両 三郎"]

    # A review by the commissioner counted elsewhere counts where they are counted only.
    both_headers = await login(client, "comm-both")
    assert (
        await client.post(f"{URL}/review", json={"month": "2026-11"}, headers=both_headers)
    ).status_code == 200
    east = (await client.get(f"{URL}/districts/{town.east.id}?month=2026-11", headers=headers)).json()
    west = (await client.get(f"{URL}/districts/{town.west.id}?month=2026-11", headers=headers)).json()
    assert (east["reviewed"], west["reviewed"]) == (1, 0)
    assert member(west, both.id)["review"]["changed_since_review"] is False


@pytest.mark.parametrize(
    ("login_name", "district", "status"),
    [
        ("coord", "east", 200),
        ("comm-w", "east", 403),  # not their district
        ("vol", "east", 403),
        ("stranger", "east", 404),
        ("coord", "nowhere", 404),
    ],
)
async def test_who_may_read_a_district_total(
    client, town: Town, login_name: str, district: str, status: int
) -> None:
    headers = await login(client, login_name)
    district_id = town.east.id if district == "east" else "nowhere"
    response = await client.get(f"{URL}/districts/{district_id}?month=2026-11", headers=headers)
    assert response.status_code == status, response.text


async def test_the_office_records_a_consultation_through_the_rest_api(client, town: Town) -> None:
    headers = await login(client, "comm")
    response = await client.post(
        f"/api/v1/residents/{town.r1.id}/contact-notes",
        json={
            "method": "phone",
            "outcome": "met_well",
            "occurred_at": "2026-12-02T10:00:00",
            "support_field": "elderly",
            "support_topic": "living_costs",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    note = response.json()
    assert (note["support_field"], note["support_topic"]) == ("elderly", "living_costs")
    corrected = await client.patch(
        f"/api/v1/contact-notes/{note['id']}", json={"support_topic": "housing"}, headers=headers
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["support_topic"] == "housing"
    bad = await client.post(
        f"/api/v1/residents/{town.r1.id}/contact-notes",
        json={"method": "phone", "outcome": "met_well", "support_field": "pets"},
        headers=headers,
    )
    assert bad.status_code == 400
    december = (await client.get(f"{URL}?month=2026-12", headers=headers)).json()["figures"]
    assert _consultations(december)[("elderly", "housing")] == 1


async def test_a_review_kept_before_the_counterpart_split_is_not_changed_by_it(
    client, db, town: Town
) -> None:
    headers = await login(client, "comm")
    assert (await client.post(f"{URL}/review", json={"month": "2026-11"}, headers=headers)).status_code == 200
    async with db() as s:  # as a review kept by the previous version stored it
        review = await s.scalar(select(ActivityRecordReview))
        review.figures = {k: v for k, v in review.figures.items() if k != "liaison_by_counterpart"}
        review.fingerprint = "before-v5"
    shown = (await client.get(f"{URL}?month=2026-11", headers=headers)).json()["review"]
    assert (shown["changed_since_review"], shown["changes"]) == (False, [])
    async with db() as s:  # a liaison with the school arrives later: that is a change
        s.add(_activity(town, town.comm, date(2026, 11, 29), ActivityKind.LIAISON, counterpart="school"))
    shown = (await client.get(f"{URL}?month=2026-11", headers=headers)).json()["review"]
    assert [(c["figure"], c["reviewed"], c["current"]) for c in shown["changes"]] == [
        ("liaison", 3, 4),
        ("days_active", 10, 11),
    ]
