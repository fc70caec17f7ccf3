"""Alert handling for coordinators: who sees what, history, acknowledge/resolve rules, live stream."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from domain import alerts as lifecycle
from domain.access import Principal
from domain.clock import clock
from domain.enums import AlertSeverity, Role
from domain.models import Alert, AuditEvent, User, UserDistrict
from domain.principals import principal_of
from domain.settings import PushSettings
from notifications import alert_stream
from notifications.alert_stream import alert_events
from notifications.outbox import enqueue
from notifications.templates import MessageKind
from tests.factories import login, make_district, make_resident


@pytest.fixture
async def alerts(db, world) -> dict[str, Alert]:
    """Missed contact for the volunteer's resident, urgent alert for the other district's resident,
    and one in another organisation."""
    async with db() as session:
        missed = await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="missed_contact",
            cause_key="missed:1",
            resident_id=world.resident.id,
            visit_id="visit-1",
        )
        clock.advance(timedelta(seconds=1))
        await enqueue(
            session,
            org_id=world.org.id,
            user_ids=[world.coordinator.id, world.commissioner.id],
            kind=MessageKind.MISSED_CONTACT,
            alert_id=missed.id,
            resident_id=world.resident.id,
            params={"resident_name": world.resident.name},
        )
    clock.advance(timedelta(minutes=5))
    async with db() as session:
        urgent = await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="urgent_outcome",
            cause_key="urgent:1",
            resident_id=world.other_resident.id,
            severity=AlertSeverity.URGENT,
        )
        foreign_district = await make_district(session, world.other_org)
        foreign_resident = await make_resident(session, world.other_org, foreign_district)
        foreign = await lifecycle.open_alert(
            session,
            org_id=world.other_org.id,
            kind="missed_contact",
            cause_key="missed:x",
            resident_id=foreign_resident.id,
        )
    return {"missed": missed, "urgent": urgent, "foreign": foreign}


async def ids(client, headers, query: str = "") -> list[str]:
    response = await client.get(f"/api/v1/alerts{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


async def test_each_role_sees_the_alerts_of_the_residents_it_may_see(client, world, alerts):
    coord, comm, vol = [await login(client, name) for name in ("coord", "comm", "vol")]
    assert await ids(client, coord) == [alerts["urgent"].id, alerts["missed"].id]  # newest first
    assert await ids(client, comm) == [alerts["missed"].id]  # own district only
    assert await ids(client, vol) == [alerts["missed"].id]  # assigned resident only
    assert await ids(client, await login(client, "outsider")) == [alerts["foreign"].id]
    # Another organisation's alert does not exist for you; nor does another district's.
    assert (await client.get(f"/api/v1/alerts/{alerts['foreign'].id}", headers=coord)).status_code == 404
    assert (await client.get(f"/api/v1/alerts/{alerts['urgent'].id}", headers=vol)).status_code == 404
    assert (
        await client.post(f"/api/v1/alerts/{alerts['urgent'].id}/acknowledge", headers=comm)
    ).status_code == 404


async def test_filters_and_most_urgent_first(client, world, alerts):
    coord = await login(client, "coord")
    assert await ids(client, coord, "?severity=urgent") == [alerts["urgent"].id]
    assert await ids(client, coord, "?kind=missed_contact") == [alerts["missed"].id]
    assert await ids(client, coord, f"?district_id={world.district.id}") == [alerts["missed"].id]
    assert await ids(client, coord, f"?resident_id={world.other_resident.id}") == [alerts["urgent"].id]
    assert await ids(client, coord, "?status=resolved") == []
    assert await ids(client, coord, "?sort=urgent") == [alerts["urgent"].id, alerts["missed"].id]
    await client.post(f"/api/v1/alerts/{alerts['urgent'].id}/acknowledge", headers=coord)
    # Unhandled first: the acknowledged urgent alert now comes after the open one.
    assert await ids(client, coord, "?sort=urgent") == [alerts["missed"].id, alerts["urgent"].id]
    assert (await client.get("/api/v1/alerts?severity=extreme", headers=coord)).status_code == 400


async def test_only_coordinators_and_commissioners_handle_alerts(client, world, alerts):
    vol = await login(client, "vol")
    missed = alerts["missed"].id
    assert (await client.post(f"/api/v1/alerts/{missed}/acknowledge", headers=vol)).status_code == 403
    response = await client.post(
        f"/api/v1/alerts/{missed}/resolve", json={"resolution": "handled"}, headers=vol
    )
    assert response.status_code == 403
    comm = await login(client, "comm")
    response = await client.post(f"/api/v1/alerts/{missed}/acknowledge", headers=comm)
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"
    assert response.json()["acknowledged_by"] == world.commissioner.id


async def test_history_acknowledge_and_resolve_rules(client, world, alerts):
    coord = await login(client, "coord")
    missed = alerts["missed"].id
    clock.advance(timedelta(minutes=1))  # history is ordered by time; the test clock stands still
    first = await client.post(f"/api/v1/alerts/{missed}/acknowledge", headers=coord)
    again = await client.post(f"/api/v1/alerts/{missed}/acknowledge", headers=coord)
    assert first.status_code == again.status_code == 200
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]  # idempotent

    bad = await client.post(
        f"/api/v1/alerts/{missed}/resolve", json={"resolution": "recorded_late"}, headers=coord
    )
    assert bad.status_code == 400  # recorded_late is for the system (a late note), not a person
    clock.advance(timedelta(minutes=1))
    resolved = await client.post(
        f"/api/v1/alerts/{missed}/resolve",
        json={"resolution": "handled", "note": "電話で無事を確認"},
        headers=coord,
    )
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "handled")
    assert (
        await client.post(f"/api/v1/alerts/{missed}/resolve", json={"resolution": "handled"}, headers=coord)
    ).status_code == 409
    assert (await client.post(f"/api/v1/alerts/{missed}/acknowledge", headers=coord)).status_code == 409

    detail = (await client.get(f"/api/v1/alerts/{missed}", headers=coord)).json()
    actions = [e["action"] for e in detail["history"]]
    assert actions[:3] == ["created", "notified", "acknowledged"]
    # Resolving tells those who were told (same moment on the test clock, so either order).
    assert sorted(actions[3:]) == ["notified", "resolved"]
    resolved_event = next(e for e in detail["history"] if e["action"] == "resolved")
    assert detail["history"][1]["detail"]["user_ids"] == sorted([world.coordinator.id, world.commissioner.id])
    assert resolved_event["actor_id"] == world.coordinator.id
    assert resolved_event["detail"] == {"resolution": "handled"}
    assert detail["resolution_note"] == "電話で無事を確認"
    told = {r["user_id"]: r for r in detail["recipients"] if r["kind"] == "missed_contact"}
    assert set(told) == {world.coordinator.id, world.commissioner.id}
    assert told[world.commissioner.id]["deliveries"][0]["device_id"] == world.phones["comm"].id
    assert told[world.commissioner.id]["deliveries"][0]["status"] == "pending"

    # The commissioner, who was told, hears it is over; the coordinator who resolved it does not.
    comm = await login(client, "comm")
    inbox = (await client.get("/api/v1/me/notifications", headers=comm)).json()["items"]
    assert (inbox[0]["kind"], inbox[0]["title"]) == ("alert_resolved", "Resolved: 山田 花子")
    coord_inbox = (await client.get("/api/v1/me/notifications", headers=coord)).json()["items"]
    assert [n["kind"] for n in coord_inbox] == ["missed_contact"]


async def test_stream_sends_changes_in_scope_from_the_last_event_id(client, world, alerts):
    comm = await login(client, "comm")
    response = await client.get(
        "/api/v1/alerts/stream?max_seconds=0.5", headers={**comm, "Last-Event-ID": "0"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert events[0]["event"] == "ready" and events[0]["id"] == "0"
    sent = [json.loads(e["data"]) for e in events if e["event"] == "alert"]
    assert [a["id"] for a in sent] == [alerts["missed"].id]  # not the other district's, nor the other org's
    assert events[-1]["id"] == str(sent[-1]["feed_seq"])


async def test_stream_follows_live_changes(db, db_config, world, alerts):
    principal = Principal(user_id=world.coordinator.id, org_id=world.org.id, role=Role.COORDINATOR)
    config = PushSettings(stream_poll_seconds=0.05)
    stream = alert_events(db_config, principal, config, last_event_id=None, max_seconds=10)
    ready = await anext(stream)
    assert ready.event == "ready"
    async with db() as session:
        alert = await session.get(Alert, alerts["urgent"].id)
        await lifecycle.acknowledge(session, alert, world.coordinator.id)
    change = await asyncio.wait_for(anext(stream), timeout=5)
    payload = json.loads(change.data)
    assert (change.event, payload["id"], payload["status"]) == ("alert", alerts["urgent"].id, "acknowledged")
    assert int(change.id) > int(ready.id)
    # Deactivating the user ends the stream at the next look.
    async with db() as session:
        user = await session.get(User, world.coordinator.id)
        user.active = False
    end = await asyncio.wait_for(anext(stream), timeout=5)
    assert end.event == "end"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def _commissioner_stream(db, db_config, world):
    async with db() as session:
        principal = await principal_of(session, await session.get(User, world.commissioner.id))
    assert principal.district_ids == {world.district.id}
    stream = alert_events(
        db_config, principal, PushSettings(stream_poll_seconds=0.05), last_event_id=None, max_seconds=10
    )
    assert (await anext(stream)).event == "ready"
    return stream


async def _raise_alert(db, world, cause_key: str) -> None:
    clock.advance(timedelta(seconds=1))
    async with db() as session:
        await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="urgent_outcome",
            cause_key=cause_key,
            resident_id=world.resident.id,
        )


async def _ends_for(stream, reason: str) -> None:
    end = await asyncio.wait_for(anext(stream), timeout=5)
    assert (end.event, json.loads(end.data)) == ("end", {"reason": reason})
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_stream_ends_when_the_district_is_taken_away(db, db_config, world):
    stream = await _commissioner_stream(db, db_config, world)
    await _raise_alert(db, world, "urgent:before")
    sent = await asyncio.wait_for(anext(stream), timeout=5)
    assert sent.event == "alert" and json.loads(sent.data)["resident_name"] == world.resident.name
    # The coordinator takes the district away: the next alert about its resident is not sent; the
    # stream ends so that the phone reconnects with a principal of the new scope.
    async with db() as session:
        await session.execute(delete(UserDistrict).where(UserDistrict.user_id == world.commissioner.id))
    await _raise_alert(db, world, "urgent:after")
    await _ends_for(stream, "scope_changed")
    async with db() as session:
        streamed = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "stream"))).all()
    assert len(streamed) == 1  # only the alert actually sent is audited as sent


async def test_stream_ends_when_the_role_changes_even_with_nothing_to_send(db, db_config, world):
    stream = await _commissioner_stream(db, db_config, world)
    async with db() as session:
        user = await session.get(User, world.commissioner.id)
        user.role = Role.VOLUNTEER
    await _ends_for(stream, "scope_changed")


async def test_stream_checks_the_scope_after_reading_and_before_sending(db, db_config, world, monkeypatch):
    """A scope change that commits while a look reads the alerts is caught before they are sent."""
    stream = await _commissioner_stream(db, db_config, world)
    read = alert_stream.read_changes

    async def read_then_lose_the_district(*args, **kwargs):
        out = await read(*args, **kwargs)
        if out[0]:
            async with db() as session:
                await session.execute(
                    delete(UserDistrict).where(UserDistrict.user_id == world.commissioner.id)
                )
        return out

    monkeypatch.setattr(alert_stream, "read_changes", read_then_lose_the_district)
    await _raise_alert(db, world, "urgent:during")
    await _ends_for(stream, "scope_changed")


async def test_stream_stops_when_the_client_goes_away(app, client, world, alerts):
    headers = await login(client, "coord")
    sent_body = asyncio.Event()
    messages: list[dict] = []

    async def receive():
        if not messages:
            messages.append({"type": "http.request"})
            return {"type": "http.request", "body": b"", "more_body": False}
        await sent_body.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body" and message.get("body"):
            sent_body.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/alerts/stream",
        "raw_path": b"/api/v1/alerts/stream",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", headers["Authorization"].encode()), (b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
        "state": {},
    }
    # The stream may live 15 minutes; a departed client must end it at once.
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    assert sent_body.is_set()


def parse_sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":") and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.removeprefix(" ")
        if "event" in fields or "data" in fields:
            events.append(fields)
    return events


async def test_alert_push_lets_the_app_open_the_alert(db_config, world, alerts, push_config):
    from notifications.dispatcher import dispatch_once
    from notifications.transports import RecordingTransport

    recording = RecordingTransport()
    await dispatch_once(db_config, transport=recording, config=push_config)
    assert {m.token for m in recording.sent} == {"token-coord", "token-comm"}
    for message in recording.sent:
        assert message.data["alert_id"] == alerts["missed"].id
        assert message.data["resident_id"] == world.resident.id
        assert message.data["kind"] == "missed_contact" and message.data["notification_id"]
