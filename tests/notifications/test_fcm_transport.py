"""The FCM transport over the real firebase-admin code path; only the network is a stand-in."""

from __future__ import annotations

import pytest
from firebase_admin import messaging

from notifications import fcm as fcm_module
from notifications.testing import (
    INTERNAL,
    INVALID_ARGUMENT,
    INVALID_TOKEN,
    SENDER_ID_MISMATCH,
    UNAVAILABLE,
    UNREGISTERED,
    quota_exceeded,
)
from notifications.transports import Outcome, PushMessage


def message(
    token: str = "tok-1",  # noqa: S107
    *,
    urgent: bool = False,
    collapse_key: str | None = None,
) -> PushMessage:
    return PushMessage(
        delivery_id=f"del-{token}",
        device_id=f"dev-{token}",
        token=token,
        title="訪問予定：山田 花子さん",
        body="11月28日 10:00に訪問の予定があります。",
        data={
            "kind": "reminder",
            "notification_id": "n-1",
            "resident_id": "r-1",
            "visit_id": "v-1",
            "urgent": "0",
        },
        urgent=urgent,
        collapse_key=collapse_key,
    )


async def test_urgent_message_json_is_high_priority_with_data_payload(fcm):
    transport, standin = fcm
    results = await transport.send([message(urgent=True)])
    assert [r.outcome for r in results] == [Outcome.SENT]
    assert results[0].message_id.startswith("projects/mimamori-test/messages/")
    assert standin.received == [
        {
            "message": {
                "token": "tok-1",
                "notification": {
                    "title": "訪問予定：山田 花子さん",
                    "body": "11月28日 10:00に訪問の予定があります。",
                },
                "data": {
                    "kind": "reminder",
                    "notification_id": "n-1",
                    "resident_id": "r-1",
                    "visit_id": "v-1",
                    "urgent": "0",
                },
                "android": {"priority": "high", "notification": {"channel_id": "urgent"}},
                "apns": {
                    "headers": {"apns-priority": "10", "apns-push-type": "alert"},
                    "payload": {"aps": {"sound": "default"}},
                },
            }
        }
    ]
    assert standin.auth_headers == {"Bearer test-access-token"}


async def test_reminder_is_normal_priority_and_collapses(fcm):
    transport, standin = fcm
    await transport.send([message(collapse_key="reminder:v-1")])
    body = standin.received[0]["message"]
    assert body["android"] == {
        "priority": "normal",
        "collapse_key": "reminder:v-1",
        "notification": {"tag": "reminder:v-1", "channel_id": "default"},
    }
    assert body["apns"]["headers"] == {
        "apns-priority": "5",
        "apns-push-type": "alert",
        "apns-collapse-id": "reminder:v-1",
    }


@pytest.mark.parametrize(
    ("answer", "outcome", "code"),
    [
        (UNREGISTERED, Outcome.DEACTIVATE, "UNREGISTERED"),
        (SENDER_ID_MISMATCH, Outcome.DEACTIVATE, "SENDER_ID_MISMATCH"),
        (INVALID_TOKEN, Outcome.DEACTIVATE, "INVALID_REGISTRATION_TOKEN"),
        (INVALID_ARGUMENT, Outcome.DEAD, "INVALID_ARGUMENT"),
        (UNAVAILABLE, Outcome.RETRY, "UNAVAILABLE"),
        (INTERNAL, Outcome.RETRY, "INTERNAL"),
        (lambda: quota_exceeded(120), Outcome.RETRY, "QUOTA_EXCEEDED"),
    ],
)
async def test_each_fcm_error_is_classified(fcm, answer, outcome, code):
    transport, standin = fcm
    standin.answer = lambda body: answer() if body["message"]["token"] == "bad" else None
    results = await transport.send([message("good"), message("bad"), message("good-2")])
    assert [r.outcome for r in results] == [Outcome.SENT, outcome, Outcome.SENT]
    assert results[1].error_code == code
    # One HTTP call per message: the SDK's own in-call retries are off (the outbox retries).
    assert len(standin.received) == 3


async def test_retry_after_is_read_from_the_response(fcm):
    transport, standin = fcm
    standin.answer = lambda body: quota_exceeded(90)
    [result] = await transport.send([message()])
    assert result.outcome == Outcome.RETRY
    assert result.retry_after == 90


async def test_batches_over_500_are_split(fcm, monkeypatch):
    transport, standin = fcm
    sizes: list[int] = []
    real = messaging.send_each_async

    async def spy(messages, dry_run=False, app=None):
        sizes.append(len(messages))
        return await real(messages, dry_run=dry_run, app=app)

    monkeypatch.setattr(fcm_module.messaging, "send_each_async", spy)
    standin.answer = lambda body: UNAVAILABLE() if body["message"]["token"] == "tok-700" else None
    results = await transport.send([message(f"tok-{i}") for i in range(1201)])
    assert sizes == [500, 500, 201]
    assert len(standin.received) == 1201
    assert [i for i, r in enumerate(results) if r.outcome != Outcome.SENT] == [700]
    assert {b["message"]["token"] for b in standin.delivered} == {f"tok-{i}" for i in range(1201)} - {
        "tok-700"
    }


async def test_a_message_fcm_would_refuse_fails_alone_and_the_rest_of_the_batch_goes_out(fcm):
    """firebase-admin checks a message while encoding it, before sending anything: one bad message
    used to fail the whole batch (up to 500), retried until the lease ran out."""
    transport, standin = fcm
    bad = message("bad")
    bad.data["urgent"] = 0  # type: ignore[assignment]  # not a string: the SDK's encoder refuses it
    results = await transport.send([message("good"), bad, message("good-2")])
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.DEAD, Outcome.SENT]
    assert results[1].error_code == "ENCODE_ERROR"
    assert "non-string" in results[1].error
    assert {b["message"]["token"] for b in standin.delivered} == {"good", "good-2"}
