"""Leaving scope takes every message naming the resident along (issue 8): the inbox and unread count
drop it, the next pull lists it under `deleted`, a new phone never receives it, and when the person
may see the resident again it comes back whole. Alerts, visits and notes leave the same way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from domain.models import Notification
from tests.factories import login
from tests.sync.conftest import Town, add_note, ms, phone


async def _inbox(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/me/notifications", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _consent(client: Any, town: Town, recipient: str, *, give: bool) -> None:
    coord = await login(client, "coord", device_id="coord-laptop")
    base = f"/api/v1/residents/{town.shared.id}/consents/{recipient}"
    if give:
        response = await client.put(base, json={"status": "given"}, headers=coord)
    else:
        response = await client.post(f"{base}/withdraw", headers=coord)
    assert response.status_code == 200, response.text


async def test_revisit_request_leaves_inbox_and_phone_with_the_consent_and_comes_back_whole(
    client, db, town: Town, now
) -> None:
    volunteer = await phone(client, "vol")
    await volunteer.pull()
    volunteer.create_note(town.shared.id, ms(now - timedelta(minutes=5)), outcome="no_answer")
    await volunteer.push()
    await volunteer.pull()
    async with db() as s:
        (revisit,) = await s.scalars(
            select(Notification).where(
                Notification.user_id == town.volunteer.id, Notification.kind == "visit.revisit"
            )
        )
    assert revisit.resident_id == town.shared.id and "佐藤 一郎" in revisit.title
    held = volunteer.store["notifications"][revisit.id]
    inbox = await _inbox(client, volunteer.headers)
    assert revisit.id in [i["id"] for i in inbox["items"]] and inbox["unread"] >= 1
    unread_before = inbox["unread"]

    await _consent(client, town, "volunteers", give=False)

    inbox = await _inbox(client, volunteer.headers)
    assert revisit.id not in [i["id"] for i in inbox["items"]]
    assert inbox["unread"] == unread_before - 1
    assert not any("佐藤 一郎" in i["title"] + i["body"] for i in inbox["items"])
    hidden = await client.post(f"/api/v1/me/notifications/{revisit.id}/read", headers=volunteer.headers)
    assert hidden.status_code == 404
    body = await volunteer.pull()
    assert revisit.id in body["changes"]["notifications"]["deleted"]
    assert town.shared.id in body["changes"]["residents"]["deleted"]
    assert not any("佐藤 一郎" in str(r) for r in volunteer.store["notifications"].values())
    fresh = await phone(client, "vol", "phone-2")
    first = await fresh.pull()
    assert revisit.id not in [n["id"] for n in first["changes"]["notifications"]["created"]]
    assert "佐藤 一郎" not in str(first)

    await _consent(client, town, "volunteers", give=True)

    inbox = await _inbox(client, volunteer.headers)
    (back,) = [i for i in inbox["items"] if i["id"] == revisit.id]
    assert back["read_at"] is None and back["title"] == revisit.title
    assert inbox["unread"] == unread_before
    await volunteer.pull()
    restored = volunteer.store["notifications"][revisit.id]
    assert {k: restored[k] for k in ("title", "body", "resident_id", "read_at")} == {
        k: held[k] for k in ("title", "body", "resident_id", "read_at")
    }
    await fresh.pull()
    assert revisit.id in fresh.ids("notifications")


async def test_alert_and_its_messages_leave_the_commissioners_phone(client, db, town: Town, now) -> None:
    note = await add_note(db, town, town.shared, town.volunteer, now - timedelta(days=1))
    commissioner = await phone(client, "comm")
    await commissioner.pull()
    volunteer = await phone(client, "vol")
    await volunteer.pull()
    volunteer.create_note(town.shared.id, ms(now - timedelta(minutes=1)), outcome="emergency")
    await volunteer.push()
    body = await commissioner.pull()
    (alert,) = body["changes"]["alerts"]["created"] + body["changes"]["alerts"]["updated"]
    messages = {
        n["id"]
        for n in body["changes"]["notifications"]["created"] + body["changes"]["notifications"]["updated"]
    }
    assert alert["resident_id"] == town.shared.id and messages

    await _consent(client, town, "district_commissioner", give=False)

    body = await commissioner.pull()
    assert body["changes"]["alerts"]["deleted"] == [alert["id"]]
    assert set(body["changes"]["notifications"]["deleted"]) == messages
    assert note.id in body["changes"]["contact_notes"]["deleted"]
    assert town.visit.id in body["changes"]["visits"]["deleted"]
    assert (await _inbox(client, commissioner.headers))["total"] == 0
    fresh = await phone(client, "comm", "phone-2")
    first = await fresh.pull()
    assert not first["changes"]["alerts"]["created"] and not first["changes"]["notifications"]["created"]
