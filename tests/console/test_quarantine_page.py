"""Quarantine review (/console/quarantine): `sync.quarantine.list_held` and `resolve` under the
cookie session — coordinators of the organisation only, the held note applied as its author's,
resolving twice refused in words, CSRF on every change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from domain.clock import utcnow
from domain.enums import Role
from domain.models import AuditEvent, ContactNote, Device, QuarantinedRecord
from tests.console.conftest import DAYTIME, csrf_from, sign_in
from tests.factories import make_district, make_org, make_resident, make_user

PAGE = "/console/quarantine"
SENT_AT = DAYTIME - timedelta(hours=1)  # 09:00 in Tokyo


@dataclass
class Held:
    note: QuarantinedRecord  # a contact note with an outcome the API does not know
    foreign: QuarantinedRecord  # another organisation's


def _note(
    org_id: str, user_id: str, device_id: str | None, resident_id: str, record_id: str
) -> QuarantinedRecord:
    return QuarantinedRecord(
        org_id=org_id,
        user_id=user_id,
        device_id=device_id,
        table_name="contact_notes",
        record_id=record_id,
        operation="created",
        record={
            "id": record_id,
            "resident_id": resident_id,
            "method": "home_visit",
            "outcome": "fine",
            "occurred_at": int(SENT_AT.timestamp() * 1000),
            "body": "玄関先で話した",
        },
        payload_hash=record_id,
        reason="sync.refused.invalid",
        detail={"field": "outcome", "rule": "field.not_allowed"},
        received_at=DAYTIME,
    )


@pytest.fixture
async def held(world, db) -> Held:
    async with db() as session:
        device = (await session.scalars(select(Device).where(Device.user_id == world.volunteer.id))).one()
        note = _note(
            world.org.id,
            world.volunteer.id,
            device.id,
            world.resident.id,
            "0192f0a0-0000-7000-8000-00000000a001",
        )
        other = await make_org(session, "遠くの町")
        person = await make_user(session, other, Role.VOLUNTEER, "far-vol")
        district = await make_district(session, other)
        resident = await make_resident(session, other, district, name="遠方 花子")
        foreign = _note(other.id, person.id, None, resident.id, "0192f0a0-0000-7000-8000-00000000a002")
        session.add_all([note, foreign])
        await session.flush()
    return Held(note, foreign)


async def test_the_coordinator_reviews_what_was_sent_why_by_whom_and_when(client, world, held):
    await sign_in(client, "coord")
    page = await client.get(PAGE)
    assert page.status_code == 200
    text = page.text
    assert "保留データ（1件）" in text and "遠方 花子" not in text  # never another organisation's
    assert "連絡記録" in text and "山田 花子" in text and "奉仕 次郎 / android" in text
    assert "2026/11/27 10:00" in text  # received, in Tokyo time
    assert "fine" in text and "玄関先で話した" in text  # what was sent, kept whole
    assert "連絡の結果" in text  # the reason names the field in words


async def test_apply_corrected_and_pressing_twice_is_refused_in_words(client, world, held, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PAGE)
    form = {
        "_csrf": token,
        "method": "home_visit",
        "outcome": "met_well",
        "visibility": "team",
        "occurred_at": "2026-11-27T09:00",
        "body": "玄関先で話した（元気）",
    }
    path = f"{PAGE}/{held.note.id}/correct"
    done = await client.post(path, data=form)
    assert done.status_code == 200 and "保留データを反映しました。" in done.text
    assert "保留データ（0件）" in done.text
    async with db() as session:
        note = await session.get_one(ContactNote, held.note.record_id)
        assert note.author_id == world.volunteer.id and note.outcome == "met_well"
        assert note.body == "玄関先で話した（元気）" and note.occurred_at.replace(tzinfo=UTC) == SENT_AT
        entry = await session.get_one(QuarantinedRecord, held.note.id)
        assert entry.status == "applied" and entry.resolved_by == world.coordinator.id
        actions = set((await session.scalars(select(AuditEvent.action))).all())
    assert {"sync.quarantine.list", "sync.quarantine.apply"} <= actions
    twice = await client.post(path, data=form)
    assert twice.status_code == 409 and "この保留データはすでに処理済みです。" in twice.text


async def test_a_correction_still_wrong_is_named_and_nothing_is_applied(client, world, held, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PAGE)
    future = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = await client.post(
        f"{PAGE}/{held.note.id}/correct",
        data={"_csrf": token, "method": "home_visit", "outcome": "met_well", "occurred_at": future},
    )
    assert response.status_code == 400 and "連絡した日時" in response.text
    async with db() as session:
        assert await session.get(ContactNote, held.note.record_id) is None
        assert (await session.get_one(QuarantinedRecord, held.note.id)).status == "open"


async def test_discard_needs_a_reason(client, world, held, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PAGE)
    path = f"{PAGE}/{held.note.id}/discard"
    assert (await client.post(path, data={"_csrf": token, "note": " "})).status_code == 400
    nul = await client.post(path, data={"_csrf": token, "note": "重複\x00"})  # stored, or PostgreSQL's error
    assert nul.status_code == 400 and nul.headers["content-type"].startswith("text/html")
    done = await client.post(path, data={"_csrf": token, "note": "本人に確認し重複と判明"})
    assert done.status_code == 200 and "保留データを破棄しました。" in done.text
    async with db() as session:
        entry = await session.get_one(QuarantinedRecord, held.note.id)
    assert entry.status == "discarded" and entry.resolution_note == "本人に確認し重複と判明"


async def test_csrf_scope_and_roles(client, world, held, db):
    await sign_in(client, "coord")
    forged = await client.post(f"{PAGE}/{held.note.id}/apply", data={"_csrf": "forged"})
    assert forged.status_code == 403
    token = await csrf_from(client, PAGE)
    foreign = await client.post(f"{PAGE}/{held.foreign.id}/discard", data={"_csrf": token, "note": "x"})
    assert foreign.status_code == 404
    await client.post("/console/sign-out", data={"_csrf": token})

    await sign_in(client, "comm")  # the API refuses commissioners the quarantine (403)
    refused = await client.get(PAGE)
    assert refused.status_code == 403 and "玄関先で話した" not in refused.text
    token = await csrf_from(client, "/console")
    assert (await client.post(f"{PAGE}/{held.note.id}/apply", data={"_csrf": token})).status_code == 403
    async with db() as session:
        for entry in (held.note, held.foreign):
            assert (await session.get_one(QuarantinedRecord, entry.id)).status == "open"


async def test_applying_as_sent_what_the_api_cannot_read_is_refused_naming_the_field(client, world, held, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, PAGE)
    response = await client.post(f"{PAGE}/{held.note.id}/apply", data={"_csrf": token})
    assert response.status_code == 400 and "連絡の結果" in response.text
    async with db() as session:
        assert (await session.get_one(QuarantinedRecord, held.note.id)).status == "open"
