"""Recording and correcting contact notes over REST (#10 item 8): the same rules, consent checks and
contact listener as a note synced from a phone; idempotent on a client-made id; corrections only
within the organisation's window, audited, with the replaced values kept; phones see it all on
their next pull."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from domain.clock import clock
from domain.enums import AlertResolution, AlertStatus, ConsentRecipient, Role, VisitStatus
from domain.models import (
    Alert,
    AuditEvent,
    ContactNote,
    ContactNoteRevision,
    Organisation,
    Resident,
    Visit,
)
from schedules import jobs, plans
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user
from tests.sync.conftest import Town, add_note, ms, phone


def _notes_url(town: Town, resident=None) -> str:
    return f"/api/v1/residents/{(resident or town.shared).id}/contact-notes"


async def _count_notes(db) -> int:
    async with db() as s:
        return int(await s.scalar(select(func.count(ContactNote.id))) or 0)


async def test_an_office_call_is_recorded_and_reaches_phones_on_their_next_pull(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "comm")
    await device.pull()
    coord = await login(client, "coord", device_id="office-pc")
    recorded = await client.post(
        _notes_url(town),
        json={
            "method": "phone",
            "outcome": "met_concern",
            "occurred_at": "2026-06-01T11:30:00",  # no offset: Tokyo time
            "body": "電話で話した。食欲がないとのこと。",
            "warning_signs": ["mail_piling_up"],
            "follow_up_needed": True,
        },
        headers=coord,
    )
    assert recorded.status_code == 201, recorded.text
    note = recorded.json()
    assert note["occurred_at"] == "2026-06-01T02:30:00Z" and note["received_at"] == "2026-06-01T03:00:00Z"
    assert (note["author_id"], note["author_name"]) == (town.coordinator.id, "coord")

    async with db() as s:
        resident = await s.get_one(Resident, town.shared.id)
        assert resident.last_contact_at == datetime(2026, 6, 1, 2, 30, tzinfo=UTC)
        (event,) = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "create"))).all()
        assert (event.entity, event.entity_id, event.actor_id) == (
            "contact_note",
            note["id"],
            town.coordinator.id,
        )
    pulled = await device.pull()
    (synced,) = pulled["changes"]["contact_notes"]["updated"]
    assert (synced["id"], synced["outcome"], synced["occurred_at"]) == (
        note["id"],
        "met_concern",
        ms(datetime(2026, 6, 1, 2, 30, tzinfo=UTC)),
    )


async def test_sending_the_same_client_id_twice_records_one_note(client, db, town: Town, now) -> None:
    comm = await login(client, "comm")
    body = {"id": "office-call-0601", "method": "phone", "outcome": "met_well", "body": "元気"}
    first = await client.post(_notes_url(town), json=body, headers=comm)
    clock.advance(timedelta(minutes=3))  # the retry comes later: `occurred_at` defaulted to "now" then
    again = await client.post(_notes_url(town), json=body, headers=comm)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and first.json()["id"] == "office-call-0601"
    assert await _count_notes(db) == 1

    changed = await client.post(_notes_url(town), json={**body, "outcome": "no_answer"}, headers=comm)
    assert changed.status_code == 409 and changed.json()["code"] == "error.note_id_reused"
    # Another person's note under that id is not theirs to see or overwrite.
    coord = await login(client, "coord", device_id="office-pc")
    taken = await client.post(_notes_url(town), json=body, headers=coord)
    assert taken.status_code == 409 and taken.json()["code"] == "error.note_id_taken"
    assert await _count_notes(db) == 1


async def test_the_fields_follow_the_sync_rules(client, db, town: Town, now) -> None:
    comm = await login(client, "comm")

    async def refused(body: dict, *, resident=None) -> tuple[int, list[str]]:
        response = await client.post(
            _notes_url(town, resident),
            json={"method": "home_visit", "outcome": "met_well", **body},
            headers=comm,
        )
        return response.status_code, [e["field"] for e in response.json().get("errors", [])]

    # Well-formed but against the rules a phone's note is held to: 422 naming the field.
    assert await refused({"occurred_at": (now + timedelta(hours=1)).isoformat()}) == (422, ["occurred_at"])
    assert await refused({"occurred_at": "1999-12-31T00:00:00+09:00"}) == (422, ["occurred_at"])
    other_visit = {"visit_id": town.visit.id}  # the visit of `shared`, named for `private`
    assert await refused(other_visit, resident=town.private) == (422, ["visit_id"])
    # Malformed: 400 naming the field.
    assert await refused({"outcome": "fine"}) == (400, ["outcome"])
    assert await refused({"warning_signs": ["x"] * 31}) == (400, ["warning_signs"])
    assert await refused({"body": "あ" * 10_001}) == (400, ["body"])
    assert await refused({"author_id": town.coordinator.id}) == (400, ["author_id"])
    assert await refused({"warning_signs": ["mail\u0000"]}) == (400, ["warning_signs"])
    assert await refused({"wellbeing": {"ucla": {"lonely": "of\u0007ten"}}}) == (400, ["wellbeing"])
    assert await _count_notes(db) == 0
    # A resident the commissioner may not see (another district) is not found.
    assert (await refused({}, resident=town.other))[0] == 404


async def _town_with_plan(db):
    """A daily visit from 10 Nov, 09:00–10:00 JST, assigned to the district's commissioner."""
    clock.set(datetime(2026, 11, 9, 1, 0, tzinfo=UTC))
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        comm = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[district])
        coord = await make_user(s, org, Role.COORDINATOR, "coord")
        resident = await make_resident(s, org, district)
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        fields = {
            "rrule": "FREQ=DAILY",
            "starts_on": date(2026, 11, 10),
            "window_start": time(9, 0),
            "window_end": time(10, 0),
            "window_days": 1,
            "assignee_id": comm.id,
        }
        await plans.create_plan(s, org, resident, fields, coord.id)
    return resident


def _jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour - 9, minute, tzinfo=UTC)


async def test_an_office_note_fulfils_the_open_visit_and_resolves_the_missed_visit_alert(
    client, db, db_config
) -> None:
    resident = await _town_with_plan(db)
    clock.set(_jst(12, 12))  # the 10 Nov visit is past its window and the 24 h grace
    await jobs.sweep(db_config)
    async with db() as s:
        visits = {
            v.due_start: v for v in await s.scalars(select(Visit).where(Visit.resident_id == resident.id))
        }
        missed, today = visits[_jst(10, 9)], visits[_jst(12, 9)]
        (alert,) = await s.scalars(select(Alert).where(Alert.cause_key == f"missed_visit:{missed.id}"))
        assert (missed.status, alert.status) == (VisitStatus.MISSED, AlertStatus.OPEN)

    coord = await login(client, "coord", device_id="office-pc")
    # The commissioner did go on the 10th and phoned the office about it today.
    late = await client.post(
        f"/api/v1/residents/{resident.id}/contact-notes",
        json={"method": "home_visit", "outcome": "met_well", "occurred_at": "2026-11-10T09:40:00+09:00"},
        headers=coord,
    )
    # ... and the office rang the resident this morning, within today's window.
    call = await client.post(
        f"/api/v1/residents/{resident.id}/contact-notes",
        json={"method": "phone", "outcome": "phone_only", "occurred_at": "2026-11-12T09:20:00+09:00"},
        headers=coord,
    )
    assert (late.status_code, call.status_code) == (201, 201), (late.text, call.text)
    async with db() as s:
        missed = await s.get_one(Visit, missed.id)
        today = await s.get_one(Visit, today.id)
        alert = await s.get_one(Alert, alert.id)
        assert (missed.status, missed.fulfilled_by_note_id) == (VisitStatus.DONE, late.json()["id"])
        assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, AlertResolution.RECORDED_LATE)
        assert (today.status, today.fulfilled_by_note_id) == (VisitStatus.DONE, call.json()["id"])
    # The note names the visit it fulfilled, as a synced one does.
    read = await client.get(f"/api/v1/contact-notes/{late.json()['id']}", headers=coord)
    assert read.json()["visit_id"] == missed.id


async def test_a_correction_within_the_window_is_kept_audited_and_synced(client, db, town: Town, now) -> None:
    device = await phone(client, "vol")
    comm = await login(client, "comm", device_id="comm-pc")
    recorded = await client.post(
        _notes_url(town), json={"method": "phone", "outcome": "met_well", "body": "元気そう"}, headers=comm
    )
    note_id = recorded.json()["id"]
    await device.pull()

    clock.advance(timedelta(hours=71))
    comm = await login(client, "comm", device_id="comm-pc")  # access tokens last 15 minutes
    corrected = await client.patch(
        f"/api/v1/contact-notes/{note_id}",
        json={"outcome": "met_concern", "body": "元気そうだが食欲がない", "reason": "聞き取りの追記"},
        headers=comm,
    )
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["outcome"], corrected.json()["corrections"]) == ("met_concern", 1)

    history = await client.get(f"/api/v1/contact-notes/{note_id}/revisions", headers=comm)
    (revision,) = history.json()
    assert revision["previous"] == {"body": "元気そう", "outcome": "met_well"}
    assert (revision["fields"], revision["reason"], revision["revised_by"]) == (
        ["body", "outcome"],
        "聞き取りの追記",
        town.commissioner.id,
    )
    async with db() as s:
        (event,) = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "correct"))).all()
    assert event.detail["fields"] == ["body", "outcome"] and event.detail["revision_id"] == revision["id"]
    assert "元気" not in str(event.detail)  # the audit names fields, never values
    # The volunteer's phone gets the corrected note; the volunteer may not read its history.
    device.headers = await login(client, "vol")
    (synced,) = (await device.pull())["changes"]["contact_notes"]["updated"]
    assert (synced["id"], synced["outcome"]) == (note_id, "met_concern")
    vol = await login(client, "vol", device_id="vol-pc")
    assert (await client.get(f"/api/v1/contact-notes/{note_id}/revisions", headers=vol)).status_code == 403


async def test_after_the_window_a_correction_is_refused_naming_it(client, db, town: Town, now) -> None:
    comm = await login(client, "comm")
    recorded = await client.post(
        _notes_url(town), json={"method": "phone", "outcome": "met_well"}, headers=comm
    )
    note_id = recorded.json()["id"]
    clock.advance(timedelta(hours=72, minutes=1))
    comm = await login(client, "comm", device_id="comm-pc")  # access tokens last 15 minutes
    refused = await client.patch(
        f"/api/v1/contact-notes/{note_id}",
        json={"outcome": "no_answer"},
        headers={**comm, "Accept-Language": "en"},
    )
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "error.note_correction_closed" and problem["correction_window_hours"] == 72
    assert "within 72 hours" in problem["title"] and "2026-06-04 12:00" in problem["title"]  # Tokyo time

    # The window is the organisation's: coordinators widen it, and the same note may be corrected.
    coord = await login(client, "coord", device_id="office-pc")
    rules = await client.patch("/api/v1/org/rules", json={"note_correction_hours": 24 * 7}, headers=coord)
    assert rules.status_code == 200, rules.text
    again = await client.patch(
        f"/api/v1/contact-notes/{note_id}", json={"outcome": "no_answer"}, headers=comm
    )
    assert again.status_code == 200 and again.json()["outcome"] == "no_answer"
    async with db() as s:
        assert await s.scalar(select(func.count(ContactNoteRevision.id))) == 1


async def test_only_the_author_or_a_coordinator_may_correct(client, db, town: Town, now) -> None:
    note = await add_note(db, town, town.shared, town.commissioner, now - timedelta(hours=1))
    vol = await login(client, "vol")
    denied = await client.patch(f"/api/v1/contact-notes/{note.id}", json={"body": "書き換え"}, headers=vol)
    assert denied.status_code == 403
    coord = await login(client, "coord", device_id="office-pc")
    # A coordinator's correction of the outcome runs the contact listener again: an emergency alert.
    corrected = await client.patch(
        f"/api/v1/contact-notes/{note.id}",
        json={"outcome": "emergency", "reason": "本人から再度連絡"},
        headers=coord,
    )
    assert corrected.status_code == 200, corrected.text
    async with db() as s:
        (alert,) = await s.scalars(select(Alert).where(Alert.cause_key == f"emergency:{note.id}"))
        assert alert.resident_id == town.shared.id
        assert (await s.get_one(ContactNote, note.id)).author_id == town.commissioner.id  # still theirs
    # The resident a note is about cannot change; unknown fields are refused.
    moved = await client.patch(
        f"/api/v1/contact-notes/{note.id}", json={"resident_id": town.private.id}, headers=coord
    )
    assert moved.status_code == 400 and moved.json()["errors"][0]["field"] == "resident_id"
    emptied = await client.patch(f"/api/v1/contact-notes/{note.id}", json={"outcome": None}, headers=coord)
    assert emptied.status_code == 422 and emptied.json()["errors"][0]["field"] == "outcome"
    assert "met_well" in emptied.json()["errors"][0]["message"]  # the choices, filled in


async def test_the_correction_window_is_an_organisation_rule(client, db, town: Town, now) -> None:
    coord = await login(client, "coord")
    rules = (await client.get("/api/v1/org/rules", headers=coord)).json()
    assert rules["note_correction_hours"] == 72
    bad = await client.patch("/api/v1/org/rules", json={"note_correction_hours": -1}, headers=coord)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "note_correction_hours"
    async with db() as s:
        org = await s.get_one(Organisation, town.org.id)
        assert "note_correction_hours" not in (org.settings or {})


async def test_wellbeing_takes_the_shape_of_a_questionnaire_and_nothing_deeper(
    client, db, town: Town, now
) -> None:
    comm = await login(client, "comm")

    async def recorded(wellbeing) -> tuple[int, list[tuple[str, str]]]:
        response = await client.post(
            _notes_url(town),
            content=b'{"method": "home_visit", "outcome": "met_well", "wellbeing": '
            + wellbeing.encode()
            + b"}",
            headers={**comm, "content-type": "application/json"},
        )
        return response.status_code, [(e["field"], e["code"]) for e in response.json().get("errors", [])]

    ucla = '{"scale": "ucla3", "answers": [1, 2, 3], "score": 6, "note": null, "done": true}'
    assert await recorded(ucla) == (201, [])
    assert await recorded('{"ucla": {"lonely": 2, "left_out": 1}}') == (201, [])
    # Answers as a list of small objects, as questionnaire forms often write them.
    assert await recorded('{"scale": "ucla3", "answers": [{"item": 1, "value": 2}, {"item": 2}]}') == (
        201,
        [],
    )
    refused = (400, [("wellbeing", "field.wellbeing")])
    # Nested 600 deep: before, a 500 (json.dumps gave up); 300 deep was stored and then made every
    # read of the note a 500.
    for depth in (300, 600, 900):
        assert await recorded('{"a": ' + "[" * depth + "]" * depth + "}") == refused, depth
    assert await recorded('{"a": {"b": {"c": 1}}}') == refused
    assert await recorded('{"a": [[1]]}') == refused
    assert await recorded('{"a": [{"b": [1]}]}') == refused
    assert await recorded('{"a": [{"b": {"c": 1}}]}') == refused
    assert await recorded(json.dumps({f"q{i}": i for i in range(21)})) == refused
    assert await recorded(json.dumps({"k" * 41: 1})) == refused
    assert await recorded(json.dumps({"a": "x" * 201})) == refused
    assert await _count_notes(db) == 3
    en = await client.post(
        _notes_url(town),
        json={"method": "home_visit", "outcome": "met_well", "wellbeing": {"a": {"b": {"c": 1}}}},
        headers={**comm, "accept-language": "en"},
    )
    assert en.json()["errors"][0]["message"].startswith(
        "wellbeing must be an object of at most 20 short keys"
    )


async def test_a_note_stored_with_a_deep_wellbeing_still_reads(client, db, town: Town, now) -> None:
    # What earlier versions let a phone store: no serialiser writes it out, so it reads as none;
    # the stored value is kept. Before, both reads below answered 500, for everybody.
    deep: dict = {"a": []}
    inner = deep["a"]
    for _ in range(400):
        inner.append([])
        inner = inner[0]
    note = await add_note(db, town, town.shared, town.volunteer, now, wellbeing=deep)
    fine = await add_note(db, town, town.shared, town.volunteer, now, wellbeing={"ucla": {"lonely": 2}})
    coord = await login(client, "coord", device_id="desk")
    one = await client.get(f"/api/v1/contact-notes/{note.id}", headers=coord)
    assert one.status_code == 200 and one.json()["wellbeing"] is None
    listing = await client.get(_notes_url(town), headers=coord)
    assert listing.status_code == 200
    assert {n["id"]: n["wellbeing"] for n in listing.json()["items"]} == {
        note.id: None,
        fine.id: {"ucla": {"lonely": 2}},
    }
    # A coordinator replaces it; the revision keeps the old value and its history reads too.
    corrected = await client.patch(
        f"/api/v1/contact-notes/{note.id}", json={"wellbeing": {"ucla": {"lonely": 1}}}, headers=coord
    )
    assert corrected.status_code == 200 and corrected.json()["wellbeing"] == {"ucla": {"lonely": 1}}
    history = await client.get(f"/api/v1/contact-notes/{note.id}/revisions", headers=coord)
    assert history.status_code == 200 and history.json()[0]["previous"] == {"wellbeing": None}
    async with db() as s:
        [revision] = (await s.scalars(select(ContactNoteRevision))).all()
        assert revision.previous["wellbeing"] == deep
