"""What a phone pushes that no app would send: nested hundreds deep, not a finite number, tables
beside a `changes` key. The record at fault is held naming its field and the rest of the push
applies (DESIGN.md, guarantee 6); the server never answers 500, and nothing it stores can make a
later read fail."""

from __future__ import annotations

import json

from sqlalchemy import select

from domain.models import CommissionerActivity, ContactNote, QuarantinedRecord
from tests.factories import login
from tests.sync.conftest import Town, ms, phone

UCLA = {"scale": "ucla3", "answers": [1, 2, 3], "score": 6}


def _nested(depth: int) -> str:
    return '{"a": ' + "[" * depth + "]" * depth + "}"


async def _held(db) -> dict[str, dict]:
    async with db() as s:
        return {q.record_id: q.detail for q in (await s.scalars(select(QuarantinedRecord))).all()}


async def test_a_wellbeing_nested_deep_is_held_naming_the_field_and_the_rest_applies(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "vol")
    await device.pull()
    good = device.create_note(town.shared.id, ms(now), wellbeing=json.dumps(UCLA))
    one_level = device.create_note(
        town.shared.id, ms(now), wellbeing=json.dumps({"ucla": {"lonely": 2, "left_out": 1}})
    )
    answers = {"scale": "ucla3", "answers": [{"item": 1, "value": 2}, {"item": 2, "value": 1}]}
    listed = device.create_note(town.shared.id, ms(now), wellbeing=json.dumps(answers))
    # Stored before, these made every later read of the note a 500 (pydantic stops near 255 levels).
    deep = device.create_note(town.shared.id, ms(now), wellbeing=_nested(400))
    # Deeper than json.loads can go: before, the whole push was a 500.
    deeper = device.create_note(town.shared.id, ms(now), wellbeing=_nested(3_000))
    signs = device.create_note(town.shared.id, ms(now), warning_signs="[" * 3_000 + "]" * 3_000)
    two_levels = device.create_note(town.shared.id, ms(now), wellbeing=json.dumps({"a": {"b": {"c": 1}}}))
    too_many = device.create_note(
        town.shared.id, ms(now), wellbeing=json.dumps({f"q{i}": i for i in range(21)})
    )
    result = await device.push()
    assert result is not None and result["applied"] == 3
    assert {q["id"] for q in result["quarantined"]} == {deep, deeper, signs, two_levels, too_many}
    assert await _held(db) == {
        deep: {"field": "wellbeing", "rule": "field.type"},  # past 32 levels: cut, as any too-deep value
        deeper: {"field": "wellbeing", "rule": "field.type"},
        signs: {"field": "warning_signs", "rule": "field.type"},
        two_levels: {"field": "wellbeing", "rule": "field.wellbeing"},
        too_many: {"field": "wellbeing", "rule": "field.wellbeing"},
    }
    async with db() as s:
        assert (await s.get(ContactNote, good)).wellbeing == UCLA
        assert (await s.get(ContactNote, one_level)).wellbeing == {"ucla": {"lonely": 2, "left_out": 1}}
        assert (await s.get(ContactNote, listed)).wellbeing == answers

    # The coordinator is told which field, in words.
    coordinator = await login(client, "coord", device_id="desk")
    listing = (await client.get("/api/v1/sync/quarantine", headers=coordinator)).json()
    reason = next(i for i in listing["items"] if i["record_id"] == deep)
    assert "体調・暮らしの様子" in json.dumps(reason, ensure_ascii=False)
    # Every reader of the applied notes answers.
    note = await client.get(f"/api/v1/contact-notes/{good}", headers=coordinator)
    assert note.status_code == 200 and note.json()["wellbeing"] == UCLA
    notes = await client.get(f"/api/v1/residents/{town.shared.id}/contact-notes", headers=coordinator)
    assert notes.status_code == 200 and notes.json()["total"] == 3


async def test_an_activity_count_that_is_not_a_finite_number_is_held(client, db, town: Town, now) -> None:
    device = await phone(client, "comm", "phone-1")
    await device.pull()
    # Python's JSON writer sends these as NaN and Infinity (1e400 reads as Infinity too), and
    # Python's JSON reader accepts them: before, NaN was a 500 and Infinity refused the whole push.
    fine = device.create("commissioner_activities", kind="certificates", activity_date="2026-05-31", count=2)
    nan = device.create(
        "commissioner_activities", kind="certificates", activity_date="2026-05-31", count=float("nan")
    )
    inf = device.create(
        "commissioner_activities", kind="certificates", activity_date="2026-05-31", count=float("inf")
    )
    result = await device.push()
    assert result is not None and result["applied"] == 1
    assert {q["id"] for q in result["quarantined"]} == {nan, inf}
    assert await _held(db) == {
        nan: {"field": "count", "rule": "field.type"},
        inf: {"field": "count", "rule": "field.type"},
    }
    async with db() as s:
        assert (await s.get(CommissionerActivity, fine)).count == 2


async def test_only_the_documented_wrapper_is_unwrapped(client, db, town: Town, now) -> None:
    device = await phone(client, "vol")
    note = {
        "id": "note-wrapped-1",
        "resident_id": town.shared.id,
        "method": "home_visit",
        "outcome": "met_well",
        "occurred_at": ms(now),
    }
    tables = {"contact_notes": {"created": [note], "updated": [], "deleted": []}}
    # A table beside a `changes` key: before, the body was unwrapped to `{}`, answered 200 with
    # nothing applied, and the phone marked its note as synced: lost.
    mixed = await client.post(
        "/api/v1/sync/push?last_pulled_at=0", json={**tables, "changes": {}}, headers=device.headers
    )
    assert mixed.status_code == 400
    assert (mixed.json()["code"], mixed.json()["title"]) == (
        "error.sync.unknown_table",
        "同期できないテーブルです: changes",
    )
    async with db() as s:
        assert await s.get(ContactNote, "note-wrapped-1") is None
    # `{changes, lastPulledAt}` as some clients send it still applies.
    wrapped = await client.post(
        "/api/v1/sync/push?last_pulled_at=0",
        json={"changes": tables, "lastPulledAt": 0},
        headers=device.headers,
    )
    assert wrapped.status_code == 200 and wrapped.json() == {"applied": 1, "quarantined": []}
    async with db() as s:
        assert await s.get(ContactNote, "note-wrapped-1") is not None


async def test_a_record_holding_an_object_nested_hundreds_deep_is_held_and_the_rest_applies(
    client, db, town: Town, now
) -> None:
    """Not JSON text in a column but the value itself nested deep (no app sends it; a broken or
    hostile client can). Before, 500 levels refused the whole push as not JSON and deeper ones broke
    the decoder: the phone retried the same push forever and its good notes never arrived."""
    device = await phone(client, "vol")
    await device.pull()

    def note(note_id: str, **fields: object) -> dict:
        return {
            "id": note_id,
            "resident_id": town.shared.id,
            "method": "home_visit",
            "outcome": "met_well",
            "occurred_at": ms(now),
            **fields,
        }

    notes = [
        note("good-1", body="玄関で話した [[{{ 括弧も本文のうち"),
        note("deep-40", wellbeing="DEEP-40"),
        note("deep-700", wellbeing="DEEP-700"),
        note("deep-5000", body="DEEP-5000"),
        note("good-2", body='"引用" と \\ と ]]}}'),
    ]
    text = json.dumps({"contact_notes": {"created": notes, "updated": [], "deleted": []}}, ensure_ascii=False)
    for depth in (40, 700, 5000):
        text = text.replace(f'"DEEP-{depth}"', '{"a": ' + "[" * depth + '"x"' + "]" * depth + "}")
    pushed = await client.post(
        f"/api/v1/sync/push?last_pulled_at={device.last_pulled_at}&schema_version={device.version}",
        content=text.encode(),
        headers={**device.headers, "content-type": "application/json"},
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["applied"] == 2
    assert {q["id"] for q in pushed.json()["quarantined"]} == {"deep-40", "deep-700", "deep-5000"}
    assert await _held(db) == {
        "deep-40": {"field": "wellbeing", "rule": "field.type"},
        "deep-700": {"field": "wellbeing", "rule": "field.type"},
        "deep-5000": {"field": "body", "rule": "field.type"},
    }
    async with db() as s:
        assert (await s.get(ContactNote, "good-1")).body == "玄関で話した [[{{ 括弧も本文のうち"
        assert (await s.get(ContactNote, "good-2")).body == '"引用" と \\ と ]]}}'
        held = (
            await s.scalars(select(QuarantinedRecord).where(QuarantinedRecord.record_id == "deep-5000"))
        ).one()
        assert held.record["method"] == "home_visit" and "深すぎる" in json.dumps(
            held.record, ensure_ascii=False
        )

    # The coordinator sees the held records and can read the listing (nothing deep was stored).
    coordinator = await login(client, "coord", device_id="desk")
    listing = await client.get("/api/v1/sync/quarantine", headers=coordinator)
    assert listing.status_code == 200
    assert {i["record_id"] for i in listing.json()["items"]} >= {"deep-40", "deep-700", "deep-5000"}
    # A body that is not JSON is still refused as such, however deep.
    broken = await client.post(
        f"/api/v1/sync/push?last_pulled_at={device.last_pulled_at}&schema_version={device.version}",
        content=b'{"contact_notes": ' + b"[" * 5000,
        headers={**device.headers, "content-type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["code"] == "error.sync.not_json"


async def test_a_contact_time_past_year_9999_is_held_and_the_rest_applies(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "vol")
    await device.pull()
    good = device.create_note(town.shared.id, ms(now))
    far = device.create_note(town.shared.id, 2**53 - 1)  # a whole number JavaScript can hold: year ~287,000
    result = await device.push()  # before: 500 for the whole push
    assert result is not None and result["applied"] == 1
    assert [q["id"] for q in result["quarantined"]] == [far]
    assert await _held(db) == {far: {"field": "occurred_at", "rule": "field.range"}}
    async with db() as s:
        assert await s.get(ContactNote, good) is not None
