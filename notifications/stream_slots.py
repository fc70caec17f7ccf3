"""How many alert streams are open in this server process, per device, per user and in total.

Each open stream polls the database every few seconds, so one token opening hundreds of them is a
denial of service. A stream takes a slot before it is answered (beyond a cap: 429) and gives it back
when it ends for any reason: its lifetime is over, the client left, or the generator was never run
(the slot's finaliser). Counts are per process: behind a load balancer the caps apply per process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from domain.access import Principal
from domain.errors import InvalidInput, RateLimited
from domain.i18n import register
from domain.settings import PushSettings

register(
    {
        "error.stream.too_many": {
            "ja": "同時に開いているアラートの通知ストリームが多すぎます。ほかの画面を閉じてから再接続してください。",
            "en": "Too many alert streams are open at once. Close another one, then reconnect.",
        },
        "error.stream.bad_last_event_id": {
            "ja": "Last-Event-ID が正しくありません（0 以上の整数）。",
            "en": "Last-Event-ID must be a non-negative integer.",
        },
    }
)

MAX_EVENT_ID = 2**53 - 1


@dataclass
class StreamSlots:
    by_device: Counter[str] = field(default_factory=Counter)
    by_user: Counter[str] = field(default_factory=Counter)
    total: int = 0

    def acquire(self, principal: Principal, config: PushSettings) -> StreamSlot:
        """A slot for one stream, or RateLimited (429) when a cap is reached. One event loop runs
        this code, so nothing interleaves between the checks and the counts."""
        device = principal.device_id or f"user:{principal.user_id}"
        if (
            self.by_device[device] >= config.stream_max_per_device
            or self.by_user[principal.user_id] >= config.stream_max_per_user
            or self.total >= config.stream_max_total
        ):
            raise RateLimited(
                "error.stream.too_many", extra={"retry_after": int(config.stream_poll_seconds) + 1}
            )
        self.by_device[device] += 1
        self.by_user[principal.user_id] += 1
        self.total += 1
        return StreamSlot(self, device, principal.user_id)

    def _release(self, device: str, user_id: str) -> None:
        self.by_device[device] -= 1
        if self.by_device[device] <= 0:
            del self.by_device[device]
        self.by_user[user_id] -= 1
        if self.by_user[user_id] <= 0:
            del self.by_user[user_id]
        self.total -= 1


class StreamSlot:
    def __init__(self, slots: StreamSlots, device: str, user_id: str) -> None:
        self._slots: StreamSlots | None = slots
        self._device = device
        self._user_id = user_id

    def release(self) -> None:
        if self._slots is not None:
            self._slots._release(self._device, self._user_id)
            self._slots = None

    def __del__(self) -> None:  # a stream whose body never ran still gives its slot back
        self.release()


def parse_last_event_id(raw: str | None) -> int | None:
    """The position a reconnecting client resumes from: ASCII digits only ("²".isdigit() is
    true), at most what a JavaScript number holds; anything else is the client's mistake (400)."""
    text = (raw or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 16 or int(text) > MAX_EVENT_ID:
        raise InvalidInput("error.stream.bad_last_event_id")
    return int(text)
