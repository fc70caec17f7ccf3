"""Test and benchmark support (needs the dev extra: respx): a Firebase test credential and an
in-process stand-in for the FCM v1 endpoint.

firebase-admin has no supported endpoint override, so the stand-in answers the SDK's own HTTP
calls (respx on httpx, as the SDK's own tests do): the real firebase-admin code path runs —
message encoding, auth header, batching, error parsing — and only the network is replaced.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import google.auth.credentials
import httpx
import respx
from firebase_admin import credentials

PROJECT_ID = "mimamori-test"
FCM_SEND_URL = f"https://fcm.googleapis.com/v1/projects/{PROJECT_ID}/messages:send"


class _StaticGoogleCredential(google.auth.credentials.Credentials):
    """A Google credential whose 'refresh' needs no network."""

    def refresh(self, request: Any) -> None:
        self.token = "test-access-token"  # noqa: S105


class TestCredential(credentials.Base):
    """What firebase-admin's own tests use in place of a service account."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self._credential = _StaticGoogleCredential()

    def get_credential(self) -> google.auth.credentials.Credentials:
        return self._credential


def fcm_error(
    status_code: int,
    status: str,
    message: str,
    fcm_code: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """An error answer shaped like FCM v1's (google.rpc.Status with an FcmError detail)."""
    error: dict[str, Any] = {"code": status_code, "message": message, "status": status}
    if fcm_code:
        error["details"] = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
        ]
    return httpx.Response(status_code, json={"error": error}, headers=headers)


UNREGISTERED = lambda: fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")  # noqa: E731
SENDER_ID_MISMATCH = lambda: fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")  # noqa: E731
INVALID_TOKEN = lambda: fcm_error(  # noqa: E731
    400,
    "INVALID_ARGUMENT",
    "The registration token is not a valid FCM registration token",
    "INVALID_ARGUMENT",
)
INVALID_ARGUMENT = lambda: fcm_error(  # noqa: E731
    400, "INVALID_ARGUMENT", "Invalid value at 'message.android.ttl'", "INVALID_ARGUMENT"
)
UNAVAILABLE = lambda: fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE")  # noqa: E731
INTERNAL = lambda: fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL")  # noqa: E731


def quota_exceeded(retry_after: int = 60) -> httpx.Response:
    return fcm_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded.",
        "QUOTA_EXCEEDED",
        headers={"Retry-After": str(retry_after)},
    )


class FcmStandIn:
    """Answers POST …/messages:send. `answer(body) -> httpx.Response | None` decides (None: success).
    Every JSON body FCM would have received is kept in `received`; `delivered` lists the bodies that
    were answered with success."""

    def __init__(self, answer: Callable[[dict[str, Any]], httpx.Response | None] | None = None) -> None:
        self.answer = answer
        self.received: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        self.auth_headers: set[str] = set()
        self._ids = itertools.count(1)
        self._router = respx.mock(assert_all_called=False, assert_all_mocked=True)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.received.append(body)
        self.auth_headers.add(request.headers.get("authorization", ""))
        response = self.answer(body) if self.answer else None
        if response is None:
            self.delivered.append(body)
            return httpx.Response(200, json={"name": f"projects/{PROJECT_ID}/messages/{next(self._ids)}"})
        return response

    def start(self) -> FcmStandIn:
        self._router.post(FCM_SEND_URL).mock(side_effect=self._handle)
        self._router.start()
        return self

    def stop(self) -> None:
        self._router.stop()

    def __enter__(self) -> FcmStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
