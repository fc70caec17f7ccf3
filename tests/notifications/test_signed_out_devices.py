"""Finding 5 of the hardening review: a phone nobody is signed in on, or whose user was
deactivated, receives no push (pushes carry residents' names)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from domain.clock import clock, utcnow
from domain.enums import DeliveryStatus
from domain.models import Delivery, Device, User
from notifications.dispatcher import dispatch_once
from notifications.outbox import enqueue
from notifications.templates import MessageKind
from tests.factories import login as sign_in


async def _alert(db, world, user_ids):
    async with db() as session:
        return await enqueue(
            session,
            org_id=world.org.id,
            user_ids=user_ids,
            kind=MessageKind.MISSED_CONTACT,
            resident_id=world.resident.id,
            params={"resident_name": world.resident.name},
        )


async def _deliveries(db) -> list[Delivery]:
    async with db() as session:
        return list((await session.scalars(select(Delivery))).all())


async def test_a_signed_out_phone_gets_no_new_deliveries_and_no_waiting_ones(
    db, db_config, world, fcm, push_config
) -> None:
    transport, standin = fcm
    await _alert(db, world, [world.coordinator.id])  # waits for the coordinator's phone
    clock.advance(timedelta(seconds=1))
    async with db() as session:
        # Signed out while the token stayed on record (as sign-out left it before, and as a
        # replayed refresh token leaves it): the phone must still get nothing.
        await session.execute(
            update(Device).where(Device.id == world.phones["coord"].id).values(signed_out_at=utcnow())
        )
    await dispatch_once(db_config, transport=transport, config=push_config)
    assert standin.received == []
    [waiting] = await _deliveries(db)
    assert (waiting.status, waiting.last_error_code) == (DeliveryStatus.SKIPPED, "device_signed_out")
    await _alert(db, world, [world.coordinator.id])
    assert len(await _deliveries(db)) == 1  # no new delivery for the signed-out phone


async def test_a_deactivated_users_phone_gets_nothing(db, db_config, world, fcm, push_config) -> None:
    transport, standin = fcm
    await _alert(db, world, [world.volunteer.id])
    async with db() as session:
        await session.execute(update(User).where(User.id == world.volunteer.id).values(active=False))
    await dispatch_once(db_config, transport=transport, config=push_config)
    assert standin.received == []
    [waiting] = await _deliveries(db)
    assert (waiting.status, waiting.last_error_code) == (DeliveryStatus.SKIPPED, "user_inactive")
    await _alert(db, world, [world.volunteer.id])
    assert len(await _deliveries(db)) == 1


async def test_sign_out_drops_the_push_token_and_a_new_sign_in_brings_it_back(client, db, world) -> None:
    headers = await sign_in(client, "comm", device_id="comm-phone")
    register = await client.put(
        "/api/v1/me/devices/comm-phone/push-token", json={"token": "token-comm-phone"}, headers=headers
    )
    assert register.status_code in (200, 204), register.text
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    async with db() as session:
        device = await session.scalar(select(Device).where(Device.client_id == "comm-phone"))
        assert device.push_token is None
    await _alert(db, world, [world.commissioner.id])
    assert {d.device_id for d in await _deliveries(db)} == {world.phones["comm"].id}

    response = await client.post(
        "/api/v1/auth/login",
        json={
            "login": "comm",
            "password": "correct-horse-battery",
            "device": {"id": "comm-phone", "platform": "android", "push_token": "token-comm-phone"},
        },
    )
    assert response.status_code == 200
    await _alert(db, world, [world.commissioner.id])
    async with db() as session:
        device = await session.scalar(select(Device).where(Device.client_id == "comm-phone"))
    assert device.id in {d.device_id for d in await _deliveries(db)}
