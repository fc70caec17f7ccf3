"""Sync schema v4: the activity record's fields on the phone. Contact notes carry a support field
and topic; a commissioner records activities that are not about one resident, held by their own
phone only; older apps (v1–v3) keep syncing without ever hearing of either."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from domain.models import CommissionerActivity, ContactNote, QuarantinedRecord
from tests.sync.conftest import Town, ms, phone

ACTIVITY_FIELDS = {
    "id",
    "commissioner_id",
    "district_id",
    "kind",
    "activity_date",
    "count",
    "memo",
    "created_at",
    "updated_at",
}


def _activities(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in body["changes"]["commissioner_activities"]["updated"]}


async def test_commissioner_round_trip_of_activities_and_consultations(client, db, town: Town, now) -> None:
    first = await phone(client, "comm", "phone-1", version=4)
    await first.pull()
    activity = first.create(
        "commissioner_activities",
        kind="certificates",
        activity_date="2026-05-31",
        count=3,
        memo="生活保護の証明",
    )
    note = first.create_note(
        town.private.id, ms(now - timedelta(hours=1)), support_field="elderly", support_topic="long_term_care"
    )
    answer = await first.push()
    assert answer == {"applied": 2, "quarantined": []}

    async with db() as s:
        row = await s.get(CommissionerActivity, activity)
        stored = await s.get(ContactNote, note)
    assert (row.commissioner_id, row.district_id, row.kind, str(row.activity_date), row.count) == (
        town.commissioner.id,
        town.district_a.id,  # the commissioner's only district, by default
        "certificates",
        "2026-05-31",
        3,
    )
    assert (stored.support_field, stored.support_topic) == ("elderly", "long_term_care")

    # The commissioner's second phone receives both, in v4's columns.
    second = await phone(client, "comm", "phone-2", version=4)
    body = await second.pull()
    sent = _activities(body)
    assert set(sent) == {activity}
    assert set(sent[activity]) == ACTIVITY_FIELDS
    assert (sent[activity]["kind"], sent[activity]["activity_date"], sent[activity]["count"]) == (
        "certificates",
        "2026-05-31",
        3,
    )
    assert sent[activity]["commissioner_id"] == town.commissioner.id
    notes = {r["id"]: r for r in body["changes"]["contact_notes"]["updated"]}
    assert (notes[note]["support_field"], notes[note]["support_topic"]) == ("elderly", "long_term_care")

    # An edit and a deletion travel back the other way.
    second.update("commissioner_activities", activity, count=4)
    await second.push()
    await first.pull()
    assert first.records()["commissioner_activities"][activity]["count"] == 4
    first.delete("commissioner_activities", activity)
    await first.push()
    body = await second.pull()
    assert body["changes"]["commissioner_activities"]["deleted"] == [activity]
    async with db() as s:
        assert (await s.get(CommissionerActivity, activity)).deleted_at is not None


async def test_nobody_else_holds_or_changes_a_commissioners_activities(client, db, town: Town, now) -> None:
    mine = await phone(client, "comm", "phone-1")
    await mine.pull()
    activity = mine.create("commissioner_activities", kind="survey", activity_date="2026-06-01")
    assert await mine.push() == {"applied": 1, "quarantined": []}

    for login_name in ("comm-b", "coord", "vol"):
        other = await phone(client, login_name, f"phone-{login_name}")
        body = await other.pull()
        assert body["changes"]["commissioner_activities"]["updated"] == [], login_name
        # Pushing it as their own (an edit of someone else's row) is held, never applied.
        answer = await other.client.post(
            f"/api/v1/sync/push?last_pulled_at={other.last_pulled_at}&schema_version=4",
            json={
                "commissioner_activities": {
                    "created": [],
                    "updated": [
                        {"id": activity, "kind": "survey", "activity_date": "2026-06-01", "count": 9}
                    ],
                    "deleted": [],
                }
            },
            headers=other.headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["quarantined"] == [
            {"table": "commissioner_activities", "id": activity, "reason": "sync.refused.forbidden"}
        ]
    async with db() as s:
        assert (await s.get(CommissionerActivity, activity)).count == 1
        causes = sorted(
            (q.detail or {}).get("cause")
            for q in (
                await s.scalars(select(QuarantinedRecord).where(QuarantinedRecord.record_id == activity))
            )
        )
    assert causes == ["commissioners_only", "commissioners_only", "other_commissioner"]


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"kind": "gardening", "activity_date": "2026-05-01"}, "kind", "field.not_allowed"),
        ({"kind": "survey", "activity_date": "2026-13-01"}, "activity_date", "field.type"),
        ({"kind": "survey", "activity_date": "2026-06-09"}, "activity_date", "sync.future_time"),
        ({"kind": "survey", "activity_date": "2026-05-01", "count": 0}, "count", "field.range"),
        (
            {"kind": "survey", "activity_date": "2026-05-01", "district_id": "nope"},
            "district_id",
            "field.not_allowed",
        ),
        (
            {"kind": "liaison", "activity_date": "2026-05-01", "counterpart": "fire_brigade"},
            "counterpart",
            "field.not_allowed",
        ),
    ],
)
async def test_an_invalid_activity_is_held_and_the_rest_applies(
    client, db, town: Town, now, fields: dict[str, Any], field: str, rule: str
) -> None:
    device = await phone(client, "comm")
    await device.pull()
    bad = device.create("commissioner_activities", **fields)
    good = device.create("commissioner_activities", kind="liaison", activity_date="2026-05-02")
    answer = await device.push()
    assert answer == {
        "applied": 1,
        "quarantined": [{"table": "commissioner_activities", "id": bad, "reason": "sync.refused.invalid"}],
    }
    async with db() as s:
        held = await s.scalar(select(QuarantinedRecord).where(QuarantinedRecord.record_id == bad))
        assert await s.get(CommissionerActivity, good) is not None
    assert (held.detail["field"], held.detail["rule"]) == (field, rule)


async def test_a_note_with_an_unknown_topic_or_a_topic_without_field_is_held(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "comm")
    await device.pull()
    unknown = device.create_note(town.private.id, ms(now), support_field="elderly", support_topic="fishing")
    no_field = device.create_note(town.private.id, ms(now), support_topic="housing")
    answer = await device.push()
    assert answer["applied"] == 0
    async with db() as s:
        held = {
            q.record_id: (q.detail["field"], q.detail["rule"])
            for q in await s.scalars(select(QuarantinedRecord))
        }
    assert held == {
        unknown: ("support_topic", "field.not_allowed"),
        no_field: ("support_field", "field.required"),
    }


async def test_a_v3_phone_keeps_syncing_without_the_new_fields(client, db, town: Town, now) -> None:
    new = await phone(client, "comm", "phone-new")
    await new.pull()
    new.create("commissioner_activities", kind="survey", activity_date="2026-05-20")
    consultation = new.create_note(town.private.id, ms(now), support_field="children", support_topic="work")
    await new.push()

    old = await phone(client, "comm", "phone-old", version=3)
    body = await old.pull()
    assert "commissioner_activities" not in body["changes"]
    notes = {r["id"]: r for r in body["changes"]["contact_notes"]["updated"]}
    assert "support_field" not in notes[consultation] and "support_topic" not in notes[consultation]

    # Its own note is applied as before, without a field (a visit, not a consultation) ...
    visit = old.create_note(town.private.id, ms(now - timedelta(minutes=5)))
    assert await old.push() == {"applied": 1, "quarantined": []}
    # ... and its edit of the v4 note leaves the consultation's field alone.
    old.update("contact_notes", consultation, body="追記")
    await old.push()
    async with db() as s:
        stored = await s.get(ContactNote, visit)
        edited = await s.get(ContactNote, consultation)
    assert (stored.support_field, stored.support_topic) == (None, None)
    assert (edited.body, edited.support_field, edited.support_topic) == ("追記", "children", "work")


async def test_a_v3_phone_naming_the_new_table_is_refused(client, town: Town, now) -> None:
    old = await phone(client, "comm", "phone-old", version=3)
    await old.pull()
    answer = await old.client.post(
        f"/api/v1/sync/push?last_pulled_at={old.last_pulled_at}&schema_version=3",
        json={"commissioner_activities": {"created": [], "updated": [], "deleted": []}},
        headers=old.headers,
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "error.sync.unknown_table"


async def test_updating_the_app_to_v4_brings_the_activities_whole(client, town: Town, now) -> None:
    new = await phone(client, "comm", "phone-new")
    await new.pull()
    activity = new.create("commissioner_activities", kind="council_training", activity_date="2026-05-15")
    await new.push()
    old = await phone(client, "comm", "phone-old", version=3)
    await old.pull()
    old.version = 4  # the app updated and migrated its database locally (createTable, addColumns)
    body = await old.pull(
        migration={
            "from": 3,
            "tables": ["commissioner_activities"],
            "columns": [{"table": "contact_notes", "columns": ["support_field", "support_topic"]}],
        }
    )
    assert set(_activities(body)) == {activity}


async def test_v5_liaison_counterparts_and_a_v4_phone_that_never_hears_of_them(
    client, db, town: Town, now
) -> None:
    """Schema v5 adds `commissioner_activities.counterpart`. A v4 phone of the same commissioner
    never receives the column, cannot set it, leaves it alone when editing, and its own liaisons
    count as その他 in the activity record."""
    new = await phone(client, "comm", "phone-new")
    await new.pull()
    school = new.create(
        "commissioner_activities", kind="liaison", activity_date="2026-05-20", count=2, counterpart="school"
    )
    new.create("commissioner_activities", kind="liaison", activity_date="2026-05-21", counterpart="police")
    assert await new.push() == {"applied": 2, "quarantined": []}

    old = await phone(client, "comm", "phone-old", version=4)
    body = await old.pull()
    sent = _activities(body)
    assert school in sent and all(set(r) == ACTIVITY_FIELDS for r in sent.values())
    assert not any("counterpart" in r for r in sent.values())
    mine = old.create(
        "commissioner_activities", kind="liaison", activity_date="2026-05-22", counterpart="government"
    )
    old.update("commissioner_activities", school, memo="学校と相談")
    assert await old.push() == {"applied": 2, "quarantined": []}
    async with db() as s:
        stored, edited = await s.get(CommissionerActivity, mine), await s.get(CommissionerActivity, school)
    assert stored.counterpart is None  # a v4 phone cannot set it
    assert (edited.memo, edited.counterpart) == ("学校と相談", "school")

    got = _activities(await new.pull())
    assert got[mine]["counterpart"] is None and got[school]["counterpart"] == "school"
    record = await client.get("/api/v1/reports/activity-record?month=2026-05", headers=new.headers)
    figures = record.json()["figures"]
    by = {c["counterpart"]: c["count"] for c in figures["liaison_by_counterpart"]}
    assert figures["liaison"] == 4
    assert by == {
        "government": 0,
        "social_welfare_council": 0,
        "school": 2,
        "police": 1,
        "medical_care": 0,
        "other": 1,  # the v4 phone's liaison
    }


async def test_updating_the_app_to_v5_brings_the_counterparts(client, town: Town, now) -> None:
    new = await phone(client, "comm", "phone-new")
    await new.pull()
    liaison = new.create(
        "commissioner_activities", kind="liaison", activity_date="2026-05-15", counterpart="medical_care"
    )
    await new.push()
    old = await phone(client, "comm", "phone-old", version=4)
    await old.pull()
    assert "counterpart" not in old.records()["commissioner_activities"][liaison]
    old.version = 5  # the app updated and migrated its database locally (addColumns)
    body = await old.pull(
        migration={
            "from": 4,
            "tables": [],
            "columns": [{"table": "commissioner_activities", "columns": ["counterpart"]}],
        }
    )
    assert _activities(body)[liaison]["counterpart"] == "medical_care"
