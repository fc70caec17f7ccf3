"""A phone handed on to someone in another organisation: its push token goes with it, and the first
organisation's pushes (they name its residents) no longer reach its lock screen."""

from __future__ import annotations

import logging

from sqlalchemy import select

from domain.models import Device
from notifications.dispatcher import dispatch_once
from notifications.outbox import enqueue
from notifications.templates import MessageKind
from notifications.transports import RecordingTransport
from tests.factories import PASSWORD


async def test_a_phone_signed_in_to_another_organisation_no_longer_gets_the_first_ones_pushes(
    client, db, db_config, world, push_config, caplog
) -> None:
    """The same app installation (same FCM token) signs in as the other organisation's coordinator;
    nobody signed out of the first organisation."""
    shared = "token-vol"  # the volunteer's phone's token (world fixture)
    caplog.set_level(logging.INFO, logger="mimamori")
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "login": "outsider",
            "password": PASSWORD,
            "device": {"id": "phone-1", "platform": "android", "push_token": shared},
        },
    )
    assert response.status_code == 200, response.text
    assert shared not in caplog.text  # the move is logged by device ids only
    async with db() as session:
        holders = (await session.scalars(select(Device.user_id).where(Device.push_token == shared))).all()
        assert holders == [world.outsider.id]
        await enqueue(
            session,
            org_id=world.org.id,
            user_ids=[world.volunteer.id],
            kind=MessageKind.MISSED_CONTACT,
            resident_id=world.resident.id,
            params={"resident_name": world.resident.name},
        )
    transport = RecordingTransport()
    await dispatch_once(db_config, transport=transport, config=push_config)
    leaked = [m for m in transport.sent if m.token == shared]
    assert not leaked, (
        f"a push about {world.resident.name} went to the phone now used in another organisation"
    )
