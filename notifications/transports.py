"""Where pushes go: FCM (production), the log (embedded default), or a recording (tests).

A transport takes a batch of messages and returns one result per message, in order. It never
raises for a per-message failure; it classifies it, and the dispatcher decides what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from domain.settings import Settings

log = logging.getLogger("mimamori.push")


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: try again later (backoff, Retry-After)
    DEACTIVATE = "deactivate"  # the token is dead: clear it from the device
    DEAD = "dead"  # our bug or a permanent refusal: dead-letter now


@dataclass(frozen=True)
class PushMessage:
    delivery_id: str
    device_id: str
    token: str
    title: str
    body: str
    data: dict[str, str]
    urgent: bool = False
    collapse_key: str | None = None
    platform: str | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    error_code: str | None = None
    error: str | None = None
    retry_after: float | None = None
    message_id: str | None = None


class Transport(Protocol):
    name: str

    async def send(self, messages: Sequence[PushMessage]) -> list[SendResult]: ...

    async def close(self) -> None: ...


class LogTransport:
    """The embedded default: writes one line per push (ids only, no message text)."""

    name = "log"

    async def send(self, messages: Sequence[PushMessage]) -> list[SendResult]:
        for message in messages:
            log.info(
                "push (log transport) delivery=%s device=%s kind=%s urgent=%s",
                message.delivery_id,
                message.device_id,
                message.data.get("kind"),
                message.urgent,
            )
        return [SendResult(Outcome.SENT, message_id=f"log/{m.delivery_id}") for m in messages]

    async def close(self) -> None:
        return None


@dataclass
class RecordingTransport:
    """For tests: keeps every message; `script` (a callable per message) may decide the result."""

    name: str = "recording"
    sent: list[PushMessage] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)  # batch sizes
    script: object | None = None  # Callable[[PushMessage], SendResult] | None

    async def send(self, messages: Sequence[PushMessage]) -> list[SendResult]:
        self.calls.append(len(messages))
        results = []
        for message in messages:
            result = self.script(message) if callable(self.script) else SendResult(Outcome.SENT)
            if result.outcome == Outcome.SENT:
                self.sent.append(message)
            results.append(result)
        return results

    async def close(self) -> None:
        return None

    def clear(self) -> None:
        self.sent.clear()
        self.calls.clear()


_configured: Transport | None = None


def credentials_file(settings: Settings) -> Path | None:
    path = settings.fcm_credentials_file.strip()
    return Path(path) if path else None


def build_transport(settings: Settings) -> Transport:
    """The transport that `settings.push_transport` asks for ("auto": FCM when a credentials file
    is configured, else the log transport, and it says so)."""
    choice = settings.push_transport
    if choice == "recording":
        return RecordingTransport()
    if choice == "log":
        log.info("push transport: log (configured)")
        return LogTransport()
    path = credentials_file(settings)
    if choice == "auto" and (path is None or not path.exists()):
        log.warning(
            "push transport: log — no Firebase credentials configured (set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service account file to send real pushes)"
        )
        return LogTransport()
    from notifications.fcm import FcmTransport

    return FcmTransport.from_credentials_file(path)


def configure(settings: Settings) -> Transport:
    """Choose the process's transport once, at start-up."""
    global _configured
    _configured = build_transport(settings)
    return _configured


def current() -> Transport:
    global _configured
    if _configured is None:
        from domain.settings import get_settings

        _configured = build_transport(get_settings())
    return _configured


def use(transport: Transport | None) -> None:
    """Replace the process's transport (tests, benchmarks)."""
    global _configured
    _configured = transport
