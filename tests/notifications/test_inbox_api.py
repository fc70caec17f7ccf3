"""The inbox and push-token endpoints."""

from __future__ import annotations

from sqlalchemy import select

from domain.models import Device, Notification
from notifications.outbox import enqueue
from tests.factories import login


async def send(db, world, user, n: int) -> list[Notification]:
    out = []
    async with db() as session:
        for i in range(n):
            out += await enqueue(
                session,
                org_id=world.org.id,
                user_ids=[user.id],
                kind="generic",
                title=f"message {i}",
                body="本文",
            )
    return out


async def test_inbox_lists_newest_first_filters_unread_and_marks_read(client, db, world):
    from datetime import timedelta

    from domain.clock import clock

    mine = []
    for _ in range(3):
        mine += await send(db, world, world.volunteer, 1)
        clock.advance(timedelta(minutes=1))
    [theirs] = await send(db, world, world.coordinator, 1)
    headers = await login(client, "vol")

    page = (await client.get("/api/v1/me/notifications", headers=headers)).json()
    assert [i["id"] for i in page["items"]] == [n.id for n in reversed(mine)]
    assert (page["total"], page["unread"]) == (3, 3)
    assert page["items"][0]["title"] == "message 0" and page["items"][0]["read_at"] is None

    response = await client.post(f"/api/v1/me/notifications/{mine[0].id}/read", headers=headers)
    assert response.status_code == 200 and response.json()["read_at"] is not None
    unread = (await client.get("/api/v1/me/notifications?unread=true", headers=headers)).json()
    assert [i["id"] for i in unread["items"]] == [mine[2].id, mine[1].id]
    assert unread["unread"] == 2

    # Someone else's message is not there for you.
    response = await client.post(f"/api/v1/me/notifications/{theirs.id}/read", headers=headers)
    assert response.status_code == 404

    paged = (await client.get("/api/v1/me/notifications?page=2&page_size=2", headers=headers)).json()
    assert [i["id"] for i in paged["items"]] == [mine[0].id]

    response = await client.post("/api/v1/me/notifications/read-all", headers=headers)
    assert response.json() == {"marked": 2}
    assert (await client.get("/api/v1/me/notifications?unread=true", headers=headers)).json()["total"] == 0
    async with db() as session:
        rows = (
            await session.scalars(select(Notification).where(Notification.user_id == world.volunteer.id))
        ).all()
        assert all(r.read_at is not None for r in rows)
        # Read marks travel through the change feed to the phones.
        assert min(r.feed_seq for r in rows) > max(n.feed_seq for n in mine)
        other = await session.get(Notification, theirs.id)
        assert other.read_at is None


async def test_push_token_registers_on_own_device_and_moves_between_devices(client, db, world):
    vol = await login(client, "vol", device_id="phone-1")
    response = await client.put(
        "/api/v1/me/devices/phone-1/push-token", json={"token": "fresh-token"}, headers=vol
    )
    assert response.status_code == 200, response.text
    assert response.json()["push_token_updated_at"] is not None
    async with db() as session:
        device = await session.get(Device, world.phones["vol"].id)
        assert device.push_token == "fresh-token"

    # The same token turns up on the coordinator's phone (the phone was handed on): it moves.
    coord = await login(client, "coord", device_id="phone-1")
    coord_device = world.phones["coord"].id
    response = await client.put(
        f"/api/v1/me/devices/{coord_device}/push-token", json={"token": "fresh-token"}, headers=coord
    )
    assert response.status_code == 200
    async with db() as session:
        assert (await session.get(Device, world.phones["vol"].id)).push_token is None
        assert (await session.get(Device, coord_device)).push_token == "fresh-token"

    # Another user's device: as if it did not exist.
    response = await client.put(
        f"/api/v1/me/devices/{world.phones['comm'].id}/push-token", json={"token": "x"}, headers=vol
    )
    assert response.status_code == 404
    response = await client.put("/api/v1/me/devices/phone-1/push-token", json={"token": ""}, headers=vol)
    assert response.status_code == 400

    response = await client.delete(f"/api/v1/me/devices/{coord_device}/push-token", headers=coord)
    assert response.status_code == 204
    async with db() as session:
        assert (await session.get(Device, coord_device)).push_token is None


async def test_token_given_at_login_moves_too(client, db, world):
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "login": "comm",
            "password": "correct-horse-battery",
            "device": {"id": "tablet", "platform": "ios", "push_token": "token-vol"},
        },
    )
    assert response.status_code == 200, response.text
    async with db() as session:
        assert (await session.get(Device, world.phones["vol"].id)).push_token is None
        tablet = await session.scalar(select(Device).where(Device.client_id == "tablet"))
        assert tablet.push_token == "token-vol" and tablet.push_token_updated_at is not None


async def test_inbox_needs_a_signed_in_user(client, world):
    assert (await client.get("/api/v1/me/notifications")).status_code == 401
