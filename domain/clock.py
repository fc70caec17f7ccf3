"""One clock for the whole service. Jobs and services ask it for "now"; tests set it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Tokyo"


class Clock:
    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._frozen = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)

    def reset(self) -> None:
        self._frozen = None


clock = Clock()


def utcnow() -> datetime:
    return clock.now()


def to_millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def from_millis(millis: int | float | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, tz=UTC)


def local_today(zone: tzinfo, now: datetime | None = None) -> date:
    """The calendar day at `now` (default: the clock) in `zone`: the organisation's "today".
    `utcnow().date()` is yesterday in Tokyo until 09:00 and tomorrow in Honolulu from 14:00."""
    return (now or clock.now()).astimezone(zone).date()


def local_midnight(zone: tzinfo, now: datetime | None = None) -> datetime:
    """The start (00:00 local, as a UTC datetime) of the organisation's day containing `now`."""
    day = local_today(zone, now)
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=64)
def zone_named(name: str | None) -> ZoneInfo:
    """The organisation's time zone. A name the system does not know (a damaged row) falls back to
    Japan's rather than stopping every job and push that asks."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)
