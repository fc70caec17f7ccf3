"""Firebase Cloud Messaging through firebase-admin's async batch API.

* `messaging.send_each_async`, at most 500 messages per call (the SDK refuses more);
* urgent: Android priority "high" and APNs priority 10; otherwise "normal" and 5;
* a collapse key (Android `collapse_key` + notification tag, APNs `apns-collapse-id`) so that a
  newer reminder replaces an older one on the phone;
* errors are classified per message (see `classify`); the outbox does the retrying, so the SDK's
  own in-call retries on 500/503 are switched off by default (they would hold the whole batch for
  seconds and ignore Retry-After).

The app registers an FCM *registration token*, so messages target `token=`; firebase-admin 7.x
marks that argument deprecated in favour of Firebase installation ids (`fid=`), which the app does
not send. The warning is silenced where we build the message, as the SDK does itself.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import firebase_admin
from firebase_admin import credentials, exceptions, messaging

from domain.settings import get_settings
from notifications.transports import Outcome, PushMessage, SendResult

log = logging.getLogger("mimamori.push.fcm")

FCM_BATCH_LIMIT = 500
_app_numbers = itertools.count(1)

_DEACTIVATE_CODES = {
    messaging.UnregisteredError: "UNREGISTERED",
    messaging.SenderIdMismatchError: "SENDER_ID_MISMATCH",
}
_TRANSIENT = (
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
    exceptions.UnknownError,
    messaging.QuotaExceededError,
)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The `Retry-After` of the failed response: delay-seconds or an HTTP date."""
    response = getattr(exc, "http_response", None)
    header = response.headers.get("Retry-After") if response is not None else None
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _error_text(exc: BaseException) -> str:
    # FCM's messages name the problem (field, status), never the message content; keep it short.
    return str(exc)[:300]


def classify(exc: BaseException) -> SendResult:
    """What one failed send means for its delivery."""
    for error_class, code in _DEACTIVATE_CODES.items():
        if isinstance(exc, error_class):
            return SendResult(Outcome.DEACTIVATE, code, _error_text(exc))
    if isinstance(exc, exceptions.InvalidArgumentError):
        if "registration token" in str(exc).lower():
            return SendResult(Outcome.DEACTIVATE, "INVALID_REGISTRATION_TOKEN", _error_text(exc))
        return SendResult(Outcome.DEAD, "INVALID_ARGUMENT", _error_text(exc))
    if isinstance(exc, _TRANSIENT):
        code = "QUOTA_EXCEEDED" if isinstance(exc, messaging.QuotaExceededError) else _code_of(exc)
        return SendResult(Outcome.RETRY, code, _error_text(exc), retry_after=retry_after_seconds(exc))
    if isinstance(
        exc, (exceptions.UnauthenticatedError, exceptions.PermissionDeniedError)
    ) and not isinstance(exc, messaging.ThirdPartyAuthError):
        # Our service account is wrong or expired: keep the messages until it is fixed.
        return SendResult(Outcome.RETRY, _code_of(exc), _error_text(exc), retry_after_seconds(exc))
    return SendResult(Outcome.DEAD, _code_of(exc), _error_text(exc))


def _code_of(exc: BaseException) -> str:
    return str(getattr(exc, "code", None) or type(exc).__name__)[:60]


def build_message(message: PushMessage) -> messaging.Message:
    """The firebase-admin message for one push (what FCM receives is this, JSON-encoded)."""
    urgent = message.urgent
    android_notification = messaging.AndroidNotification(
        tag=message.collapse_key, channel_id="urgent" if urgent else "default"
    )
    apns_headers = {"apns-priority": "10" if urgent else "5", "apns-push-type": "alert"}
    if message.collapse_key:
        apns_headers["apns-collapse-id"] = message.collapse_key
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # token=: see the module docstring
        return messaging.Message(
            token=message.token,
            notification=messaging.Notification(title=message.title, body=message.body or None),
            data=message.data,
            android=messaging.AndroidConfig(
                priority="high" if urgent else "normal",
                collapse_key=message.collapse_key,
                notification=android_notification,
            ),
            apns=messaging.APNSConfig(
                headers=apns_headers, payload=messaging.APNSPayload(aps=messaging.Aps(sound="default"))
            ),
        )


def _result_of(response: messaging.SendResponse) -> SendResult:
    if response.success:
        return SendResult(Outcome.SENT, message_id=response.message_id)
    return classify(response.exception)


class FcmTransport:
    name = "fcm"

    def __init__(
        self, credential: credentials.Base, *, project_id: str | None = None, sdk_retries: bool | None = None
    ) -> None:
        options: dict[str, Any] = {"projectId": project_id} if project_id else {}
        self.app = firebase_admin.initialize_app(
            credential, options=options, name=f"mimamori-push-{next(_app_numbers)}"
        )
        if not (get_settings().push.sdk_retries if sdk_retries is None else sdk_retries):
            _disable_sdk_retries(self.app)
        log.info("push transport: FCM (project %s)", self.app.project_id)

    @classmethod
    def from_credentials_file(cls, path: Path | None) -> FcmTransport:
        if path is None:
            # push_transport="fcm" without a file: Application Default Credentials (GCP runtimes).
            return cls(credentials.ApplicationDefault())
        return cls(credentials.Certificate(str(path)))

    async def send(self, messages: Sequence[PushMessage]) -> list[SendResult]:
        results: list[SendResult | None] = [None] * len(messages)
        built = [(index, build_message(message)) for index, message in enumerate(messages)]
        for start in range(0, len(built), FCM_BATCH_LIMIT):
            chunk = built[start : start + FCM_BATCH_LIMIT]
            try:
                batch = await messaging.send_each_async([m for _, m in chunk], app=self.app)
            except ValueError:
                # firebase-admin validates while encoding, before it sends anything: one message
                # FCM would refuse (our bug) fails the call. Send them one by one instead, so that
                # only that message fails (for good) and the others go out.
                for (index, _), result in zip(
                    chunk, await asyncio.gather(*(self._send_one(m) for _, m in chunk)), strict=True
                ):
                    results[index] = result
                continue
            except exceptions.FirebaseError as exc:  # the whole call failed: every one is retried
                failed = classify(exc)
                for index, _ in chunk:
                    results[index] = failed
                continue
            for (index, _), response in zip(chunk, batch.responses, strict=True):
                results[index] = _result_of(response)
        return [r if r is not None else SendResult(Outcome.RETRY, "NOT_SENT") for r in results]

    async def _send_one(self, message: messaging.Message) -> SendResult:
        try:
            batch = await messaging.send_each_async([message], app=self.app)
        except ValueError as exc:
            # FCM's encoder names the field, never its value.
            return SendResult(Outcome.DEAD, "ENCODE_ERROR", _error_text(exc))
        except exceptions.FirebaseError as exc:
            return classify(exc)
        return _result_of(batch.responses[0])

    async def close(self) -> None:
        # delete_app() inside a running loop raises (it closes the async client synchronously).
        await asyncio.to_thread(firebase_admin.delete_app, self.app)


def _disable_sdk_retries(app: firebase_admin.App) -> None:
    """Replace the messaging service's async HTTP client by one without in-call retries. This
    reaches into firebase-admin internals (7.x); if they move, we keep the SDK's default."""
    try:
        from firebase_admin import _http_client
        from firebase_admin._retry import HttpxRetry

        service = messaging._get_messaging_service(app)
        service._async_client = _http_client.HttpxAsyncClient(
            credential=service._credential,
            timeout=app.options.get("httpTimeout", _http_client.DEFAULT_TIMEOUT_SECONDS),
            retry_config=HttpxRetry(max_retries=0),
        )
    except (AttributeError, ImportError, TypeError) as exc:  # pragma: no cover - SDK changed
        log.warning(
            "could not switch off firebase-admin's own retries (%s); keeping them", type(exc).__name__
        )
