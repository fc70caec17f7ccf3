"""The dispatcher asks again before each push: consent may change between enqueue and send. A push
naming a resident its recipient may no longer see is dropped with its reason, never sent."""

from __future__ import annotations

from sqlalchemy import select

from domain.enums import ConsentRecipient, ConsentStatus, DeliveryStatus
from domain.models import Consent, Delivery, DeliveryAttempt, Device
from notifications.dispatcher import dispatch_once
from notifications.outbox import enqueue
from notifications.templates import MessageKind
from notifications.transports import RecordingTransport


async def test_push_for_a_resident_no_longer_visible_is_dropped_with_its_reason(
    db, db_config, world, push_config
) -> None:
    async with db() as session:
        written = await enqueue(
            session,
            org_id=world.org.id,
            user_ids=[world.coordinator.id, world.commissioner.id, world.volunteer.id],
            kind=MessageKind.MISSED_CONTACT,
            resident_id=world.resident.id,
            params={"resident_name": world.resident.name},
        )
    assert {n.user_id for n in written} == {world.coordinator.id, world.commissioner.id, world.volunteer.id}
    async with db() as session:  # withdrawn after the message was written, before it was pushed
        consent = await session.scalar(
            select(Consent).where(
                Consent.resident_id == world.resident.id,
                Consent.recipient == ConsentRecipient.DISTRICT_COMMISSIONER,
            )
        )
        consent.status = ConsentStatus.WITHDRAWN
    transport = RecordingTransport()
    assert await dispatch_once(db_config, transport=transport, config=push_config) == 3
    assert sorted(m.token for m in transport.sent) == ["token-coord", "token-vol"]
    async with db() as session:
        rows = {
            device_client: (status, code)
            for device_client, status, code in (
                await session.execute(
                    select(Device.push_token, Delivery.status, Delivery.last_error_code).join(
                        Device, Device.id == Delivery.device_id
                    )
                )
            ).all()
        }
        attempts = (
            await session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.error_code == "resident_not_visible")
            )
        ).all()
    assert rows["token-comm"] == (DeliveryStatus.SKIPPED, "resident_not_visible")
    assert rows["token-coord"][0] == DeliveryStatus.SENT and rows["token-vol"][0] == DeliveryStatus.SENT
    assert [a.outcome for a in attempts] == ["skipped"]
    # Dropped for good: a later run sends nothing more.
    assert await dispatch_once(db_config, transport=transport, config=push_config) == 0
    assert len(transport.sent) == 2
