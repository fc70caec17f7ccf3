"""The outbox and the dispatcher, through the FCM transport (real firebase-admin, stand-in network)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.clock import clock, utcnow
from domain.enums import DeliveryStatus
from domain.models import Delivery, DeliveryAttempt, Device, Notification, Organisation
from notifications import wakeup
from notifications.dispatcher import dispatch_once
from notifications.outbox import enqueue
from notifications.templates import MessageKind
from notifications.testing import INVALID_ARGUMENT, UNAVAILABLE, UNREGISTERED, quota_exceeded
from notifications.transports import RecordingTransport
from tests.notifications.conftest import NIGHT, add_phone


async def deliveries(db, **where) -> list[Delivery]:
    async with db() as session:
        query = select(Delivery).order_by(Delivery.created_at, Delivery.id)
        for key, value in where.items():
            query = query.where(getattr(Delivery, key) == value)
        return list((await session.scalars(query)).all())


async def alert_for(db, world, user_ids, **kw) -> list[Notification]:
    async with db() as session:
        return await enqueue(
            session,
            org_id=world.org.id,
            user_ids=user_ids,
            kind=kw.pop("kind", MessageKind.MISSED_CONTACT),
            resident_id=world.resident.id,
            params=kw.pop("params", {"resident_name": world.resident.name}),
            **kw,
        )


async def test_enqueue_renders_per_locale_and_dispatch_sends_ids_only(db, db_config, world, fcm, push_config):
    transport, standin = fcm
    sent = await alert_for(db, world, [world.coordinator.id, world.commissioner.id], visit_id="visit-1")
    titles = {n.user_id: n.title for n in sent}
    assert titles[world.coordinator.id] == "【見守り】山田 花子さんの連絡記録がありません"  # ja
    assert titles[world.commissioner.id] == "No contact recorded for 山田 花子"  # en

    assert await dispatch_once(db_config, transport=transport, config=push_config) == 2
    by_token = {b["message"]["token"]: b["message"] for b in standin.received}
    assert set(by_token) == {"token-coord", "token-comm"}
    coord = by_token["token-coord"]
    notification = next(n for n in sent if n.user_id == world.coordinator.id)
    assert coord["data"] == {
        "kind": "missed_contact",
        "notification_id": notification.id,
        "resident_id": world.resident.id,
        "visit_id": "visit-1",
        "urgent": "0",
    }
    assert coord["android"]["priority"] == "normal"
    # Never the address: the resident's name is the most a push carries.
    assert world.resident.address not in str(standin.received)
    rows = await deliveries(db)
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    assert all(r.attempts == 1 and r.provider_message_id for r in rows)
    async with db() as session:
        outcomes = (await session.scalars(select(DeliveryAttempt.outcome))).all()
    assert outcomes == ["sent", "sent"]
    # Sent once: nothing is due any more.
    assert await dispatch_once(db_config, transport=transport, config=push_config) == 0
    assert len(standin.received) == 2


async def test_retry_after_is_honoured_and_only_failures_are_retried(db, db_config, world, fcm, push_config):
    transport, standin = fcm
    standin.answer = lambda body: quota_exceeded(600) if body["message"]["token"] == "token-comm" else None
    await alert_for(db, world, [world.coordinator.id, world.commissioner.id])
    await dispatch_once(db_config, transport=transport, config=push_config)
    [failed] = await deliveries(db, status=DeliveryStatus.PENDING)
    assert failed.last_error_code == "QUOTA_EXCEEDED"
    assert failed.next_attempt_at >= utcnow() + timedelta(seconds=600)

    standin.answer = None
    clock.advance(timedelta(seconds=590))
    await dispatch_once(db_config, transport=transport, config=push_config)
    assert len(standin.received) == 2  # not yet: Retry-After said 600 s
    clock.advance(timedelta(seconds=20))
    await dispatch_once(db_config, transport=transport, config=push_config)
    # Only the failed one was tried again.
    assert sorted(b["message"]["token"] for b in standin.received) == [
        "token-comm",
        "token-comm",
        "token-coord",
    ]
    assert Counter(b["message"]["token"] for b in standin.delivered) == {"token-coord": 1, "token-comm": 1}
    assert {r.status for r in await deliveries(db)} == {DeliveryStatus.SENT}


async def test_unregistered_token_is_deactivated_and_inbox_keeps_the_message(
    db, db_config, world, fcm, push_config
):
    transport, standin = fcm
    standin.answer = lambda body: UNREGISTERED() if body["message"]["token"] == "token-vol" else None
    [notification] = await alert_for(db, world, [world.volunteer.id], kind=MessageKind.REVISIT_REQUEST)
    await dispatch_once(db_config, transport=transport, config=push_config)
    [row] = await deliveries(db)
    assert (row.status, row.last_error_code) == (DeliveryStatus.DEAD, "UNREGISTERED")
    async with db() as session:
        phone = await session.get(Device, world.phones["vol"].id)
        assert phone.push_token is None
        assert await session.get(Notification, notification.id) is not None  # the inbox keeps it
    # The next message for that user creates no delivery to the dead token.
    await alert_for(db, world, [world.volunteer.id], kind=MessageKind.REVISIT_REQUEST)
    assert len(await deliveries(db)) == 1


async def test_invalid_argument_is_dead_lettered_without_personal_data_in_logs(
    db, db_config, world, fcm, push_config, caplog
):
    transport, standin = fcm
    standin.answer = lambda body: INVALID_ARGUMENT()
    await alert_for(db, world, [world.coordinator.id])
    with caplog.at_level(logging.INFO):
        await dispatch_once(db_config, transport=transport, config=push_config)
    [row] = await deliveries(db)
    assert (row.status, row.attempts, row.last_error_code) == (DeliveryStatus.DEAD, 1, "INVALID_ARGUMENT")
    assert "dead-lettered" in caplog.text
    assert world.resident.name not in caplog.text and "token-coord" not in caplog.text
    async with db() as session:
        phone = await session.get(Device, world.phones["coord"].id)
        assert phone.push_token == "token-coord"  # our bug, not the phone's


async def test_after_the_last_attempt_the_delivery_is_dead_lettered(db, db_config, world, fcm, push_config):
    transport, standin = fcm
    standin.answer = lambda body: UNAVAILABLE()
    config = push_config.model_copy(update={"max_attempts": 3})
    await alert_for(db, world, [world.coordinator.id])
    for _ in range(5):
        await dispatch_once(db_config, transport=transport, config=config)
        clock.advance(timedelta(hours=1))
    [row] = await deliveries(db)
    assert (row.status, row.attempts, row.last_error_code) == (DeliveryStatus.DEAD, 3, "UNAVAILABLE")
    assert len(standin.received) == 3
    async with db() as session:
        attempts = (await session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.at))).all()
        assert attempts == ["retry", "retry", "dead"]
        assert await session.scalar(select(func.count()).select_from(Notification)) == 1


async def test_quiet_hours_defer_reminders_to_the_morning_but_not_urgent_alerts(
    db, db_config, world, fcm, push_config
):
    transport, standin = fcm
    clock.set(NIGHT)  # 23:00 in Tokyo
    await alert_for(
        db,
        world,
        [world.volunteer.id],
        kind=MessageKind.REMINDER,
        visit_id="visit-1",
        params={"resident_name": "山田 花子", "due": NIGHT + timedelta(hours=12)},
    )
    await alert_for(db, world, [world.coordinator.id], kind=MessageKind.URGENT_ALERT, urgent=True)
    await dispatch_once(db_config, transport=transport, config=push_config)
    assert [b["message"]["token"] for b in standin.received] == ["token-coord"]
    assert standin.received[0]["message"]["android"]["priority"] == "high"
    assert standin.received[0]["message"]["apns"]["headers"]["apns-priority"] == "10"
    [waiting] = await deliveries(db, status=DeliveryStatus.PENDING)
    morning = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
    assert waiting.next_attempt_at == morning and waiting.attempts == 0

    clock.set(morning - timedelta(minutes=1))
    await dispatch_once(db_config, transport=transport, config=push_config)
    assert len(standin.received) == 1
    clock.set(morning)
    await dispatch_once(db_config, transport=transport, config=push_config)
    reminder = standin.received[1]["message"]
    assert reminder["token"] == "token-vol"
    assert reminder["android"]["collapse_key"] == "reminder:visit-1"
    assert reminder["android"]["priority"] == "normal"


async def test_stale_tokens_stop_receiving(db, db_config, world, fcm, push_config):
    transport, standin = fcm
    async with db() as session:
        old = await add_phone(
            session,
            world.coordinator,
            "token-old-phone",
            client_id="old-phone",
            push_token_updated_at=utcnow() - timedelta(days=61),
        )
    await alert_for(db, world, [world.coordinator.id])
    assert {d.device_id for d in await deliveries(db)} == {world.phones["coord"].id}
    # A token that goes stale while its delivery waits is skipped, not sent.
    clock.advance(timedelta(days=61))
    await dispatch_once(db_config, transport=transport, config=push_config)
    assert standin.received == []
    [row] = await deliveries(db)
    assert (row.status, row.last_error_code) == (DeliveryStatus.SKIPPED, "stale_token")
    assert old.id != row.device_id


async def test_fcm_outage_of_an_hour_loses_nothing_and_sends_nothing_twice(
    db, db_config, world, fcm, push_config
):
    transport, standin = fcm
    start = utcnow()
    back_at = start + timedelta(hours=1)
    standin.answer = lambda body: UNAVAILABLE() if utcnow() < back_at else None
    everyone = [world.coordinator.id, world.commissioner.id, world.volunteer.id]
    expected = set()
    minute = 0
    while True:
        if minute < 60 and minute % 10 == 0:  # new messages keep arriving during the outage
            for n in await alert_for(
                db, world, everyone, kind=MessageKind.URGENT_ALERT, urgent=(minute == 30)
            ):
                expected.add(n.id)
        await dispatch_once(db_config, transport=transport, config=push_config)
        if minute > 60 and not await deliveries(db, status=DeliveryStatus.PENDING):
            break
        assert minute < 180, "deliveries still pending two hours after FCM recovered"
        clock.advance(timedelta(minutes=1))
        minute += 1
    assert len(standin.received) > len(standin.delivered)  # it really was failing
    delivered = Counter(
        (b["message"]["token"], b["message"]["data"]["notification_id"]) for b in standin.delivered
    )
    assert all(count == 1 for count in delivered.values()), "a device got the same message twice"
    assert {nid for _, nid in delivered} == expected
    assert len(delivered) == len(expected)  # one notification per person, one phone each
    rows = await deliveries(db)
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    assert all(r.sent_at >= back_at for r in rows)


class Crash(Exception):
    pass


class CrashingTransport(RecordingTransport):
    async def send(self, messages):
        raise Crash("the process died between claiming and sending")


async def test_crash_between_commit_and_send_still_delivers(db, db_config, world, fcm, push_config):
    transport, standin = fcm
    [notification] = await alert_for(db, world, [world.coordinator.id])  # committed: the cause happened
    with pytest.raises(Crash):
        await dispatch_once(db_config, transport=CrashingTransport(), config=push_config)
    # The claim's lease holds the row for a while, then it is due again.
    assert await dispatch_once(db_config, transport=transport, config=push_config) == 0
    clock.advance(timedelta(seconds=push_config.lease_seconds + 1))
    assert await dispatch_once(db_config, transport=transport, config=push_config) == 1
    assert [b["message"]["data"]["notification_id"] for b in standin.delivered] == [notification.id]
    [row] = await deliveries(db)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)


async def test_a_commit_with_an_urgent_message_wakes_the_dispatcher(db, db_config, world, push_config):
    recording = RecordingTransport()
    waker = asyncio.create_task(
        wakeup.run_on_wake(
            lambda: dispatch_once(db_config, transport=recording, config=push_config), idle_seconds=3600
        )
    )
    await asyncio.sleep(0.05)
    try:
        await alert_for(db, world, [world.coordinator.id], kind=MessageKind.MISSED_CONTACT)
        await asyncio.sleep(0.3)
        assert recording.sent == []  # not urgent: waits for the periodic job
        await alert_for(db, world, [world.coordinator.id], kind=MessageKind.URGENT_ALERT, urgent=True)
        for _ in range(50):
            if recording.sent:
                break
            await asyncio.sleep(0.05)
        # The wake-up run sends everything due, the earlier message too.
        assert sorted(m.data["kind"] for m in recording.sent) == ["missed_contact", "urgent_alert"]
    finally:
        waker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waker


async def test_enqueue_never_reaches_another_organisation(db, world):
    async with db() as session:
        sent = await enqueue(
            session,
            org_id=world.org.id,
            user_ids=[world.coordinator.id, world.outsider.id],
            kind="generic",
            title="t",
            body="b",
        )
    assert [n.user_id for n in sent] == [world.coordinator.id]
    assert {d.device_id for d in await deliveries(db)} == {world.phones["coord"].id}


@pytest.mark.postgres_only
async def test_concurrent_dispatchers_never_send_a_delivery_twice(db, db_config, world, push_config):
    everyone = [world.coordinator.id, world.commissioner.id, world.volunteer.id]
    for _ in range(20):
        await alert_for(db, world, everyone)
    config = push_config.model_copy(update={"batch_size": 7})

    class Slow(RecordingTransport):
        async def send(self, messages):
            await asyncio.sleep(0.01)
            return await super().send(messages)

    first, second = Slow(), Slow()
    await asyncio.gather(
        dispatch_once(db_config, transport=first, config=config),
        dispatch_once(db_config, transport=second, config=config),
    )
    ids = [m.delivery_id for m in first.sent + second.sent]
    assert len(ids) == len(set(ids)) == 60
    assert first.sent and second.sent  # both took part


async def test_a_message_that_kills_the_dispatcher_every_time_is_eventually_dead_lettered(
    db, db_config, world, push_config
):
    config = push_config.model_copy(update={"max_attempts": 2})
    await alert_for(db, world, [world.coordinator.id])
    for _ in range(2):
        with pytest.raises(Crash):
            await dispatch_once(db_config, transport=CrashingTransport(), config=config)
        clock.advance(timedelta(seconds=config.lease_seconds + 1))
    assert await dispatch_once(db_config, transport=RecordingTransport(), config=config) == 1
    [row] = await deliveries(db)
    assert (row.status, row.last_error_code) == (DeliveryStatus.DEAD, "lease_expired")


async def test_unreadable_organisation_settings_do_not_stop_pushes(db, db_config, world, push_config):
    async with db() as session:
        org = await session.get(Organisation, world.org.id)
        org.timezone = "Mars/Olympus_Mons"
    await alert_for(db, world, [world.coordinator.id])
    recording = RecordingTransport()
    assert await dispatch_once(db_config, transport=recording, config=push_config) == 1
    assert len(recording.sent) == 1
