"""Pushes: idempotent, atomic, conflict-checked, and nothing lost on bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import events
from domain.alerts import open_alert
from domain.clock import clock, utcnow
from domain.enums import AlertStatus, VisitStatus
from domain.models import Alert, ContactNote, Notification, QuarantinedRecord, Resident, Visit
from notifications.outbox import enqueue
from tests.factories import login
from tests.sync.conftest import Town, add_note, ms, phone
from tests.sync.device import LostResponse, SyncConflict


async def _notes(db, **where) -> list[ContactNote]:
    async with db() as s:
        stmt = select(ContactNote)
        for name, value in where.items():
            stmt = stmt.where(getattr(ContactNote, name) == value)
        return list((await s.scalars(stmt)).all())


async def test_note_recorded_offline_arrives_once_with_server_fields(client, db, town: Town, now) -> None:
    device = await phone(client, "vol")
    await device.pull()
    note_id = device.create_note(
        town.shared.id,
        ms(now - timedelta(hours=30)),
        outcome="met_concern",
        body="食欲がない様子",
        visit_id=town.visit.id,
        warning_signs=json.dumps(["mail_piling_up"]),
    )
    result = await device.push()
    assert result == {"applied": 1, "quarantined": []}
    [note] = await _notes(db)
    assert note.id == note_id and note.author_id == town.volunteer.id and note.device_id is not None
    assert note.received_at == now and note.occurred_at == now - timedelta(hours=30)
    assert note.warning_signs == ["mail_piling_up"] and note.outcome == "met_concern"
    async with db() as s:
        assert (await s.get(Resident, town.shared.id)).last_contact_at == note.occurred_at
    # the phone's own note comes back as `updated` (never `created`), with the server's fields
    body = await device.pull()
    assert body["changes"]["contact_notes"]["created"] == []
    [back] = body["changes"]["contact_notes"]["updated"]
    assert back["id"] == note_id and back["received_at"] == ms(now) and back["author_id"] == town.volunteer.id


async def test_lost_response_after_commit_retry_changes_nothing(client, db, town: Town, now) -> None:
    device = await phone(client, "vol")
    await device.pull()
    device.create_note(town.shared.id, ms(now))
    with pytest.raises(LostResponse):
        await device.push(lose_response=True)
    [before] = await _notes(db)
    async with db() as s:
        resident_seq = (await s.get(Resident, town.shared.id)).feed_seq
    result = await device.push()  # the app retries the same push
    assert result == {"applied": 0, "quarantined": []}
    [after] = await _notes(db)
    assert (after.feed_seq, after.updated_at, after.received_at) == (
        before.feed_seq,
        before.updated_at,
        before.received_at,
    )
    async with db() as s:
        assert (await s.get(Resident, town.shared.id)).feed_seq == resident_seq
    await device.sync()
    assert len(await _notes(db)) == 1 and not device.has_local_changes()


async def test_killed_app_after_commit_then_full_sync(client, db, town: Town, now) -> None:
    """The app died after the server committed but before it marked anything synced; on restart it
    pulls first (its own note comes back) and pushes again: still one note."""
    device = await phone(client, "vol")
    await device.pull()
    note_id = device.create_note(town.shared.id, ms(now), body="訪問")
    with pytest.raises(LostResponse):
        await device.push(lose_response=True)
    device.update("contact_notes", note_id, body="訪問（追記）")  # edited while offline, after the push
    await device.sync()
    [note] = await _notes(db)
    assert note.body == "訪問（追記）"
    assert device.store["contact_notes"][note_id]["_status"] == "synced"


async def test_push_is_atomic_when_the_server_fails_midway(client, db, town: Town, now) -> None:
    device = await phone(client, "comm")
    await device.pull()
    first = device.create_note(town.shared.id, ms(now))
    device.create_note(town.private.id, ms(now))

    async def failing(session, note) -> None:
        if note.id != first:
            raise RuntimeError("crash in the middle of a push")

    events.on_contact_recorded(failing)
    try:
        response = await client.post(
            f"/api/v1/sync/push?last_pulled_at={device.last_pulled_at}",
            content=json.dumps(device.local_changes()),
            headers=device.headers,
        )
        assert response.status_code == 500
    finally:
        events._note_listeners.remove(failing)
    assert await _notes(db) == []
    await device.sync()
    assert len(await _notes(db)) == 2


async def test_created_with_existing_id_updates_by_same_author_only(client, db, town: Town, now) -> None:
    device = await phone(client, "comm")
    await device.pull()
    note_id = device.create_note(town.shared.id, ms(now), body="初回")
    await device.push()
    device.update("contact_notes", note_id, body="修正")
    device.store["contact_notes"][note_id]["_status"] = (
        "created"  # changed during the push: re-sent as created
    )
    await device.pull()
    assert (await device.push())["applied"] == 1
    [note] = await _notes(db)
    assert note.body == "修正"
    # another author re-using the id is refused, never a duplicate or an overwrite
    other = await phone(client, "coord", "phone-x")
    await other.pull()
    other.store["contact_notes"][note_id].update(body="上書き", _status="created")
    result = await other.push()
    assert result["quarantined"] == [
        {"table": "contact_notes", "id": note_id, "reason": "sync.refused.forbidden"}
    ]
    assert [n.body for n in await _notes(db)] == ["修正"]


async def test_updated_unknown_creates_tombstoned_conflicts_unknown_delete_is_noop(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "comm")
    await device.pull()
    note_id = device.create_note(town.shared.id, ms(now))
    device.store["contact_notes"][note_id]["_status"] = "updated"
    assert (await device.push())["applied"] == 1
    assert [n.id for n in await _notes(db)] == [note_id]

    gone = await add_note(db, town, town.shared, town.commissioner, now - timedelta(days=1))
    async with db() as s:
        (await s.get(ContactNote, gone.id)).deleted_at = utcnow()
    changes = {
        "contact_notes": {
            "created": [],
            "deleted": ["never-existed"],
            "updated": [
                {
                    "id": gone.id,
                    "resident_id": town.shared.id,
                    "method": "phone",
                    "outcome": "met_well",
                    "occurred_at": ms(now),
                    "_status": "updated",
                    "_changed": "method",
                }
            ],
        }
    }
    response = await client.post(
        f"/api/v1/sync/push?last_pulled_at={device.last_pulled_at}",
        content=json.dumps(changes),
        headers=device.headers,
    )
    assert response.status_code == 409
    assert response.json()["conflicts"] == [{"table": "contact_notes", "id": gone.id}]
    changes["contact_notes"]["updated"] = []
    response = await client.post(
        f"/api/v1/sync/push?last_pulled_at={device.last_pulled_at}",
        content=json.dumps(changes),
        headers=device.headers,
    )
    assert response.status_code == 200 and response.json()["applied"] == 0


async def test_conflict_refuses_whole_push_then_merge_succeeds(client, db, town: Town, now) -> None:
    """Two phones edit the same visit: the later push is refused, pulls, merges per column, wins."""
    a, b = await phone(client, "coord", "phone-a"), await phone(client, "coord", "phone-b")
    await a.pull()
    await b.pull()
    a.update("visits", town.visit.id, status="done", completed_at=ms(now))
    await a.push()
    b.update("visits", town.visit.id, assignee_id=town.commissioner.id)
    b.create_note(town.shared.id, ms(now), body="同じ送信の中の記録")
    with pytest.raises(SyncConflict):
        await b.push()
    assert await _notes(db) == []  # nothing of the refused push applied
    await b.sync()
    async with db() as s:
        visit = await s.get(Visit, town.visit.id)
        assert (visit.status, visit.assignee_id) == (VisitStatus.DONE, town.commissioner.id)
    assert len(await _notes(db)) == 1
    await a.pull()
    assert a.store["visits"][town.visit.id]["assignee_id"] == town.commissioner.id


async def test_a_visit_goes_only_to_someone_who_may_see_its_resident(client, db, town: Town) -> None:
    """A coordinator's phone may reassign a visit, under the rule (and in the words) of REST: the
    other district's commissioner may not see `shared`, and a name that is nobody's is refused."""
    device = await phone(client, "coord")
    await device.pull()
    device.update("visits", town.visit.id, assignee_id=town.commissioner_b.id)
    answer = await device.push()
    assert answer is not None and answer["applied"] == 0
    assert answer["quarantined"] == [
        {"table": "visits", "id": town.visit.id, "reason": "sync.refused.invalid"}
    ]
    async with db() as s:
        assert (await s.get(Visit, town.visit.id)).assignee_id == town.volunteer.id
        held = await s.scalar(select(QuarantinedRecord))
        assert held.detail == {"field": "assignee_id", "rule": "sight.other_district"}
        await s.delete(held)

    office = await login(client, "coord", device_id="desk")
    plan = {"resident_id": town.shared.id, "rrule": "FREQ=WEEKLY;BYDAY=WE"}
    for assignee, rule in (
        (town.commissioner_b.id, "sight.other_district"),
        ("nobody", "plan.assignee_unknown"),
    ):
        device.update("visits", town.visit.id, assignee_id=assignee)
        assert (await device.push())["quarantined"], assignee
        for locale in ("ja", "en"):
            headers = {**office, "Accept-Language": locale}
            rest = await client.post("/api/v1/plans", json={**plan, "assignee_id": assignee}, headers=headers)
            assert rest.status_code in (400, 422) and rest.json()["errors"][0]["code"] == rule, rest.text
            [item] = (await client.get("/api/v1/sync/quarantine", headers=headers)).json()["items"]
            assert item["reason_text"] == rest.json()["errors"][0]["message"]
        async with db() as s:
            await s.delete(await s.scalar(select(QuarantinedRecord)))


async def test_two_devices_record_notes_for_same_resident_never_conflict(client, db, town: Town, now) -> None:
    a, b = await phone(client, "vol"), await phone(client, "comm", "phone-b")
    await a.pull()
    await b.pull()
    a.create_note(town.shared.id, ms(now))
    b.create_note(town.shared.id, ms(now))
    await a.sync()
    await b.sync()
    assert len(await _notes(db)) == 2
    await a.pull()
    assert len(a.ids("contact_notes")) == 2


async def test_quarantine_keeps_bad_records_applies_the_rest_and_tells_people(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "vol")
    await device.pull()
    good = device.create_note(town.shared.id, ms(now))
    bad_outcome = device.create_note(town.shared.id, ms(now), outcome="fine")
    future = device.create_note(town.shared.id, ms(now + timedelta(hours=2)))
    too_long = device.create_note(town.shared.id, ms(now), body="あ" * 10_001)
    bad_type = device.create_note(town.shared.id, "yesterday")
    not_mine = device.create_note(town.private.id, ms(now))  # not assigned / no consent
    device.update("residents", town.shared.id, name="書き換え")  # phones never edit residents
    result = await device.push()
    assert result["applied"] == 1
    held = {(q["table"], q["id"]): q["reason"] for q in result["quarantined"]}
    assert held == {
        ("contact_notes", bad_outcome): "sync.refused.invalid",
        ("contact_notes", future): "sync.refused.invalid",
        ("contact_notes", too_long): "sync.refused.invalid",
        ("contact_notes", bad_type): "sync.refused.invalid",
        ("contact_notes", not_mine): "sync.refused.forbidden",
        ("residents", town.shared.id): "sync.refused.forbidden",
    }
    assert [n.id for n in await _notes(db)] == [good]
    async with db() as s:
        entries = (await s.scalars(select(QuarantinedRecord))).all()
        assert len(entries) == 6
        entry = next(e for e in entries if e.record_id == too_long)
        assert entry.record["body"] == "あ" * 10_001 and entry.detail == {
            "field": "body",
            "rule": "field.too_long",
        }
        future_entry = next(e for e in entries if e.record_id == future)
        assert future_entry.detail["field"] == "occurred_at"
        told = (
            await s.execute(
                select(Notification.user_id, Notification.body).where(Notification.kind == "sync_quarantined")
            )
        ).all()
        # one summary per push and person, however many records were held
        assert sorted(u for u, _ in told) == sorted([town.volunteer.id, town.coordinator.id])
        assert all("6" in body for _, body in told)
        assert (await s.get(Resident, town.shared.id)).name == "佐藤 一郎"
    # a retry quarantines nothing twice and tells nobody twice
    for record in device.store["contact_notes"].values():
        record["_status"] = "created" if record["id"] != good else "synced"
    await device.push()
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(QuarantinedRecord)) == 6
    # the next pull purges refused records from the phone and restores the server's resident
    await device.pull()
    assert device.ids("contact_notes") == {good}
    assert device.store["residents"][town.shared.id]["name"] == "佐藤 一郎"

    coordinator = await login(client, "coord", device_id="desk")
    listing = (await client.get("/api/v1/sync/quarantine", headers=coordinator)).json()
    assert listing["total"] == 6
    item = next(i for i in listing["items"] if i["record_id"] == future)
    fixed = await client.post(
        f"/api/v1/sync/quarantine/{item['id']}/resolve",
        headers=coordinator,
        json={"action": "apply", "record": {"occurred_at": ms(now)}},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "applied"
    [applied] = await _notes(db, id=future)
    assert applied.author_id == town.volunteer.id and applied.occurred_at == now
    again = await client.post(
        f"/api/v1/sync/quarantine/{item['id']}/resolve", headers=coordinator, json={"action": "discard"}
    )
    assert again.status_code == 409
    other = next(i for i in listing["items"] if i["record_id"] == bad_outcome)
    response = await client.post(
        f"/api/v1/sync/quarantine/{other['id']}/resolve",
        headers=coordinator,
        json={"action": "discard", "note": "重複"},
    )
    assert response.json()["status"] == "discarded"
    volunteer_headers = await login(client, "vol", device_id="phone-1")
    assert (await client.get("/api/v1/sync/quarantine", headers=volunteer_headers)).status_code == 403


async def _held_edit(client, db, town: Town, now):
    """The volunteer's phone writes a note, then an edit of it the server holds (a bad outcome)."""
    device = await phone(client, "vol")
    await device.pull()
    note_id = device.create_note(town.shared.id, ms(now - timedelta(hours=1)), body="最初の記録")
    assert (await device.push())["applied"] == 1
    await device.pull()
    device.update("contact_notes", note_id, outcome="bogus", body="保留された書き直し")
    assert (await device.push())["quarantined"][0]["id"] == note_id
    await device.pull()  # the server's note comes back to the phone
    coordinator = await login(client, "coord", device_id="desk")
    [item] = (await client.get("/api/v1/sync/quarantine", headers=coordinator)).json()["items"]
    return device, note_id, coordinator, item["id"]


async def _apply(client, coordinator, entry_id: str, locale: str = "ja"):
    return await client.post(
        f"/api/v1/sync/quarantine/{entry_id}/resolve",
        headers={**coordinator, "Accept-Language": locale},
        json={"action": "apply", "record": {"outcome": "met_well"}},
    )


async def test_a_held_edit_applies_over_the_note_it_was_made_to(client, db, town: Town, now) -> None:
    _device, note_id, coordinator, entry_id = await _held_edit(client, db, town, now)
    response = await _apply(client, coordinator, entry_id)
    assert response.status_code == 200, response.text
    [note] = await _notes(db, id=note_id)
    assert (note.body, note.deleted_at) == ("保留された書き直し", None)


async def test_a_held_edit_never_brings_back_a_deleted_note(client, db, town: Town, now) -> None:
    device, note_id, coordinator, entry_id = await _held_edit(client, db, town, now)
    clock.advance(timedelta(minutes=5))
    device.delete("contact_notes", note_id)  # the author deletes the note after the edit was held
    assert (await device.push())["applied"] == 1
    for locale, words in (("ja", "削除"), ("en", "was deleted after it was held")):
        response = await _apply(client, coordinator, entry_id, locale)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "error.sync.apply_note_deleted"
        assert words in response.json()["title"]
    [note] = await _notes(db, id=note_id)
    assert note.deleted_at is not None
    discarded = await client.post(
        f"/api/v1/sync/quarantine/{entry_id}/resolve", headers=coordinator, json={"action": "discard"}
    )
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"


async def test_a_held_edit_never_overwrites_a_newer_one(client, db, town: Town, now) -> None:
    device, note_id, coordinator, entry_id = await _held_edit(client, db, town, now)
    clock.advance(timedelta(minutes=5))
    device.update("contact_notes", note_id, body="あとで書き直した記録")
    assert (await device.push())["applied"] == 1
    for locale, words in (("ja", "変更"), ("en", "has changed since it was held")):
        response = await _apply(client, coordinator, entry_id, locale)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "error.sync.apply_note_changed"
        assert words in response.json()["title"]
    [note] = await _notes(db, id=note_id)
    assert note.body == "あとで書き直した記録"


async def test_old_offline_note_is_accepted(client, db, town: Town, now) -> None:
    device = await phone(client, "comm")
    await device.pull()
    device.create_note(town.shared.id, ms(now - timedelta(days=20)))
    assert (await device.push())["applied"] == 1
    recorded: list[str] = []

    async def listener(session, note) -> None:
        recorded.append(note.id)

    events.on_contact_recorded(listener)
    try:
        note_id = device.create_note(town.shared.id, ms(now - timedelta(days=3)), visit_id=town.visit.id)
        await device.push()
    finally:
        events._note_listeners.remove(listener)
    assert recorded == [note_id]


async def test_visit_fields_by_role(client, db, town: Town, now) -> None:
    volunteer = await phone(client, "vol")
    await volunteer.pull()
    volunteer.update("visits", town.visit.id, status="done", due_start=ms(now + timedelta(days=3)))
    result = await volunteer.push()
    assert result["quarantined"][0]["reason"] == "sync.refused.forbidden"
    async with db() as s:
        assert (await s.get(Visit, town.visit.id)).status == VisitStatus.PLANNED
    await volunteer.pull()
    volunteer.update("visits", town.visit.id, status="cancelled")
    assert (await volunteer.push())["quarantined"][0]["reason"] == "sync.refused.invalid"
    await volunteer.pull()
    volunteer.update("visits", town.visit.id, status="done", completed_at=ms(now))
    assert (await volunteer.push())["applied"] == 1
    async with db() as s:
        assert (await s.get(Visit, town.visit.id)).status == VisitStatus.DONE


async def test_notifications_read_and_alerts_acknowledged(client, db, town: Town, now) -> None:
    async with db() as s:
        [mine] = await enqueue(s, org_id=town.org.id, user_ids=[town.commissioner.id], kind="k", title="t")
        alert = await open_alert(
            s, org_id=town.org.id, kind="missed_visit", cause_key="c1", resident_id=town.shared.id
        )
    commissioner = await phone(client, "comm")
    await commissioner.pull()
    commissioner.update("notifications", mine.id, read_at=ms(now))
    commissioner.update("alerts", alert.id, status="acknowledged")
    assert (await commissioner.push())["applied"] == 2
    async with db() as s:
        assert (await s.get(Notification, mine.id)).read_at == now
        row = await s.get(Alert, alert.id)
        assert row.status == AlertStatus.ACKNOWLEDGED and row.acknowledged_by == town.commissioner.id
    await commissioner.pull()
    commissioner.update("alerts", alert.id, status="resolved")
    assert (await commissioner.push())["quarantined"][0]["reason"] == "sync.refused.forbidden"


async def test_a_stray_nul_in_a_note_does_not_block_the_phone(client, db, town: Town, now) -> None:
    device = await phone(client, "vol")
    await device.pull()
    note_id = device.create_note(
        town.shared.id, ms(now), body="訪問\x00済み", warning_signs=json.dumps(["mail\x00_piling_up"])
    )
    result = await device.push()
    assert result == {"applied": 1, "quarantined": []}
    [note] = await _notes(db)
    assert note.id == note_id and note.body == "訪問済み"


@pytest.mark.parametrize("outcome", ["no_answer", "away"])
async def test_an_unanswered_door_is_not_a_contact(client, db, town: Town, now, outcome) -> None:
    """Nobody was reached: the resident's last contact stays where it was, so a contact-gap
    alert is not silenced by an attempt."""
    async with db() as s:
        before = (await s.get(Resident, town.shared.id)).last_contact_at
    device = await phone(client, "vol")
    await device.pull()
    device.create_note(town.shared.id, ms(now - timedelta(hours=1)), outcome=outcome)
    assert (await device.push())["applied"] == 1
    async with db() as s:
        assert (await s.get(Resident, town.shared.id)).last_contact_at == before
