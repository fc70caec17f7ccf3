"""Cadence arithmetic: RFC 5545 RRULEs, holiday rules and contact windows, in local time.

Pure functions (no database): the plans API validates and previews with them, the expansion job
turns them into visits. Occurrences are computed on local dates in the organisation's timezone and
the window is converted to UTC per occurrence, so a DST change moves nothing in local time.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic_clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import holidays
from dateutil.rrule import rrule, rrulestr

from domain.enums import HolidayRule
from domain.errors import FieldError, InvalidInput
from domain.settings import Settings

log = logging.getLogger("mimamori.schedules")
P = ParamSpec("P")
R = TypeVar("R")

# Parts we accept. DTSTART/UNTIL are the plan's own `starts_on`/`ends_on` (local dates), so that a
# rule never disagrees with them; sub-daily frequencies make no sense for visits.
ALLOWED_PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "BYDAY",
        "BYMONTHDAY",
        "BYMONTH",
        "BYSETPOS",
        "BYWEEKNO",
        "BYYEARDAY",
        "WKST",
    }
)
ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
MAX_WINDOW_DAYS = 31
# Allowed magnitude of each numeric part (RFC 5545 §3.3.10); dateutil accepts some out-of-range
# values silently and then produces no visit at all.
NUMERIC_RANGES = {
    "BYMONTHDAY": (1, 31),
    "BYMONTH": (1, 12),
    "BYSETPOS": (1, 366),
    "BYWEEKNO": (1, 53),
    "BYYEARDAY": (1, 366),
}
# Grammar limits (finding: one rule froze the server). No visit cadence needs more; each limit
# keeps dateutil's work per period small, and the scan budget below bounds the number of periods.
MAX_RULE_CHARS = 200
MAX_LIST_ITEMS = {"BYDAY": 7, "BYMONTHDAY": 31, "BYMONTH": 12, "BYSETPOS": 7, "BYWEEKNO": 53, "BYYEARDAY": 31}
MAX_INTERVAL = {"DAILY": 366, "WEEKLY": 53, "MONTHLY": 24, "YEARLY": 10}
# How far ahead validation looks for a first visit.
VALIDATION_YEARS = 5


@dataclass(frozen=True)
class ScanBudget:
    """The hard budget of one rule expansion (settings `rrule_max_scan_months`/`_seconds`)."""

    months: int = Settings.model_fields["rrule_max_scan_months"].default
    seconds: float = Settings.model_fields["rrule_max_seconds"].default


_budget = ScanBudget()


def configure(settings: Settings) -> None:
    """Set the scan budget from the settings (the app factory and the worker call this)."""
    global _budget
    _budget = ScanBudget(settings.rrule_max_scan_months, settings.rrule_max_seconds)


class RuleTooExpensive(InvalidInput):
    """The rule needs more scanning than the budget allows: refused as unprocessable (422)."""

    status = 422


class _WindowEnd(Exception):
    """Internal: the scan passed the end of the search window (not an error)."""


class _BoundedRule(rrule):
    """A dateutil rule whose scan is bounded.

    dateutil looks for the next date period after period and, when a rule produces nothing (e.g.
    31 February), keeps going until the year 9999 - minutes of CPU on a daily rule, and a thread
    cannot be interrupted. dateutil rebuilds its month masks at least once per calendar month it
    scans (every period for MONTHLY/YEARLY, every month change for DAILY/WEEKLY) and reads
    `_byeaster` each time; counting those reads bounds the scan without touching its logic. Past
    the caller's window the scan simply ends (no more dates there); past the hard budget (months or
    CPU time of the scanning thread, see settings) the rule is refused. tests/schedules/test_rrule_limits.py checks the
    hook still fires with the installed dateutil.
    """

    _window_months: int = 0
    _budget_months: int = 0
    _deadline: float = 0.0
    _seconds: float = 0.0
    _months_scanned: int = 0
    _easter: Any = None

    def bound(self, window_months: int, budget_months: int, seconds: float) -> _BoundedRule:
        self._window_months = window_months
        self._budget_months = budget_months
        self._seconds = seconds
        return self

    def _iter(self) -> Iterator[datetime]:  # type: ignore[override]
        self._months_scanned = 0
        # The thread's CPU time, not the wall clock: on a busy machine a plain rule's thread may
        # wait for a core (or the GIL) longer than the budget, and must not be refused for it.
        self._deadline = monotonic_clock.thread_time() + self._seconds
        yield from super()._iter()  # type: ignore[misc]

    @property  # type: ignore[override]
    def _byeaster(self) -> Any:
        self._months_scanned += 1
        if self._months_scanned > self._window_months:
            raise _WindowEnd
        if self._months_scanned > self._budget_months:
            raise RuleTooExpensive.field("rrule", "rrule.too_expensive")
        if monotonic_clock.thread_time() > self._deadline:
            # The backstop, never seen to trip on a hostile rule (the months bound comes first):
            # logged so that a refusal of a plain rule can be told apart (no personal data here).
            log.warning(
                "rrule expansion refused by the CPU backstop after %d months (window %d)",
                self._months_scanned,
                self._window_months,
            )
            raise RuleTooExpensive.field("rrule", "rrule.too_expensive")
        # Hand the GIL over once a month scanned: this runs in a worker thread, and the event
        # loop's thread should not wait a whole switch interval to serve other requests.
        monotonic_clock.sleep(0)
        return self._easter

    @_byeaster.setter
    def _byeaster(self, value: Any) -> None:
        self._easter = value


def _months_between(start: date, end: date) -> int:
    return max(0, (end.year - start.year) * 12 + end.month - start.month)


def _bounded_dates(rule_text: str, starts_on: date, after: date, until: date) -> Iterator[date]:
    """Rule dates in [after, until], from a rule anchored at starts_on, with a bounded scan."""
    budget = _budget
    parsed = rrulestr(rule_text, dtstart=datetime.combine(starts_on, time(0, 0)))
    assert isinstance(parsed, rrule)
    rule = _BoundedRule(**_rule_arguments(parsed)).bound(
        window_months=_months_between(starts_on, until) + 2,
        budget_months=budget.months,
        seconds=budget.seconds,
    )
    moments = rule.xafter(datetime.combine(after, time(0, 0)), inc=True)
    while True:
        try:
            moment = next(moments)
        except (StopIteration, _WindowEnd):
            return
        if moment.date() > until:
            return
        yield moment.date()


def _rule_arguments(parsed: rrule) -> dict[str, Any]:
    """The constructor arguments of a parsed rule (dateutil keeps the ones given explicitly)."""
    original = dict(parsed._original_rule)
    return {
        "freq": parsed._freq,
        "dtstart": parsed._dtstart,
        "interval": parsed._interval,
        "wkst": parsed._wkst,
        "count": parsed._count,
        "until": parsed._until,
        **original,
    }


async def off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Rule arithmetic is CPU work: run it in a worker thread so that the event loop keeps
    serving meanwhile; the scan budget bounds how long that thread can run."""
    return await asyncio.to_thread(function, *args, **kwargs)


@dataclass(frozen=True)
class Closures:
    """Days the organisation's office is closed, which skip and shift treat like public holidays:
    年末年始 (29 Dec – 3 Jan) unless the organisation switches it off, plus the days it adds."""

    year_end: bool = True
    days: frozenset[date] = frozenset()

    def __contains__(self, day: date) -> bool:
        if day in self.days:
            return True
        return self.year_end and ((day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3))


@dataclass(frozen=True)
class Cadence:
    rrule: str
    starts_on: date
    ends_on: date | None
    window_start: time
    window_end: time
    window_days: int
    holiday_rule: HolidayRule
    closures: Closures = Closures()


@dataclass(frozen=True)
class Occurrence:
    key_date: date  # the date the rule produced (stable key, before any holiday shift)
    local_date: date  # the day the window opens, after the holiday rule
    due_start: datetime  # UTC
    due_end: datetime  # UTC


def _normalise(text: str) -> str:
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return text.strip().strip(";")


def validate_rrule(text: str, field: str = "rrule") -> str:
    """Return the normalised rule or raise InvalidInput naming the part that is wrong."""
    return _validated(text, field)


@lru_cache(maxsize=4096)
def _validated(text: str, field: str) -> str:
    rule = _normalise(text)
    if not rule:
        raise InvalidInput.field(field, "rrule.empty")
    if "\n" in rule or "\r" in rule:
        raise InvalidInput.field(field, "rrule.single_line")
    if len(rule) > MAX_RULE_CHARS:
        raise RuleTooExpensive.field(field, "rrule.too_long", max=MAX_RULE_CHARS)
    seen: dict[str, str] = {}
    for part in rule.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or not name or not value.strip():
            raise InvalidInput.field(field, "rrule.malformed_part", part=part)
        if name in ("DTSTART", "UNTIL"):
            raise InvalidInput.field(field, "rrule.use_plan_dates", part=name)
        if name not in ALLOWED_PARTS:
            raise InvalidInput.field(field, "rrule.unknown_part", part=name)
        if name in seen:
            raise InvalidInput.field(field, "rrule.repeated_part", part=name)
        seen[name] = value.strip().upper()
    freq = seen.get("FREQ")
    if freq is None:
        raise InvalidInput.field(field, "rrule.freq_required")
    if freq not in ALLOWED_FREQ:
        raise InvalidInput.field(
            field, "rrule.freq_not_allowed", part=f"FREQ={freq}", choices=", ".join(ALLOWED_FREQ)
        )
    if "INTERVAL" in seen and (not seen["INTERVAL"].isdigit() or not 1 <= int(seen["INTERVAL"]) <= 366):
        raise InvalidInput.field(field, "rrule.invalid_part", part=f"INTERVAL={seen['INTERVAL']}")
    if "INTERVAL" in seen and int(seen["INTERVAL"]) > MAX_INTERVAL[freq]:
        raise RuleTooExpensive.field(
            field, "rrule.interval_too_large", part=f"INTERVAL={seen['INTERVAL']}", max=MAX_INTERVAL[freq]
        )
    for name, most in MAX_LIST_ITEMS.items():
        items = seen.get(name, "").split(",") if name in seen else []
        if len(items) > most:
            raise RuleTooExpensive.field(field, "rrule.list_too_long", part=name, max=most)
        if len(set(items)) != len(items):
            raise InvalidInput.field(field, "rrule.repeated_value", part=name)
    if "BYSETPOS" in seen and freq == "DAILY":
        # A daily set holds one day: BYSETPOS can only select it or nothing.
        raise InvalidInput.field(field, "rrule.setpos_daily")
    if "COUNT" in seen and (not seen["COUNT"].isdigit() or not 1 <= int(seen["COUNT"]) <= 10_000):
        raise InvalidInput.field(field, "rrule.invalid_part", part=f"COUNT={seen['COUNT']}")
    for name, (low, high) in NUMERIC_RANGES.items():
        if name in seen:
            for item in seen[name].split(","):
                number = item.lstrip("+-")
                if (
                    not number.isdigit()
                    or not low <= int(number) <= high
                    or (name == "BYMONTH" and item[0] in "+-")
                ):
                    raise InvalidInput.field(field, "rrule.invalid_part", part=f"{name}={seen[name]}")
    normalised = ";".join(f"{k}={v}" for k, v in seen.items())
    anchor = datetime(2026, 1, 1, 9, 0)
    try:
        rrulestr(normalised, dtstart=anchor)
    except (ValueError, TypeError, KeyError, IndexError):
        # Find the part dateutil rejects by trying each one alone beside FREQ.
        for name, value in seen.items():
            if name == "FREQ":
                continue
            try:
                rrulestr(f"FREQ={freq};{name}={value}", dtstart=anchor)
            except (ValueError, TypeError, KeyError, IndexError):
                raise InvalidInput.field(field, "rrule.invalid_part", part=f"{name}={value}") from None
        raise InvalidInput.field(field, "rrule.invalid") from None
    return normalised


def validate_window(window_start: time, window_end: time, window_days: int) -> None:
    errors: list[FieldError] = []
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        errors.append(FieldError("window_days", "window.days_range", {"max": MAX_WINDOW_DAYS}))
    elif window_days == 1 and window_end <= window_start:
        errors.append(FieldError("window_end", "window.end_before_start"))
    if errors:
        raise InvalidInput(errors=errors)


def validate_cadence(cadence: Cadence) -> None:
    validate_rrule(cadence.rrule)
    validate_window(cadence.window_start, cadence.window_end, cadence.window_days)
    if cadence.ends_on is not None and cadence.ends_on < cadence.starts_on:
        raise InvalidInput.field("ends_on", "plan.ends_before_start")
    # A rule that never produces a visit is a mistake (e.g. BYMONTHDAY=31;BYMONTH=2). The search
    # stops after VALIDATION_YEARS however late `ends_on` is, so it is bounded.
    horizon = cadence.starts_on + timedelta(days=366 * VALIDATION_YEARS)
    if cadence.ends_on is not None:
        horizon = min(horizon, cadence.ends_on)
    if (
        next(occurrences(cadence, ZoneInfo("UTC"), from_date=cadence.starts_on, until_date=horizon), None)
        is None
    ):
        if cadence.holiday_rule != HolidayRule.SKIP:
            raise InvalidInput.field("rrule", "rrule.no_occurrences")


@lru_cache(maxsize=64)
def _japanese_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("JP", years=year).keys())


def is_holiday(day: date, closures: Closures = Closures()) -> bool:
    """A public holiday of Japan or a day the organisation is closed."""
    return day in _japanese_holidays(day.year) or day in closures


def is_working_day(day: date, closures: Closures = Closures()) -> bool:
    return day.weekday() < 5 and not is_holiday(day, closures)


def apply_holiday_rule(day: date, rule: HolidayRule, closures: Closures = Closures()) -> date | None:
    """The day an occurrence actually happens: None when skipped."""
    if rule == HolidayRule.NONE or not is_holiday(day, closures):
        return day
    if rule == HolidayRule.SKIP:
        return None
    shifted = day + timedelta(days=1)
    while not is_working_day(shifted, closures):
        shifted += timedelta(days=1)
    return shifted


def local_to_utc(day: date, moment: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as UTC. In a DST gap the clock reading is moved forward (fold=0
    semantics of zoneinfo), in an overlap the first instant is taken."""
    local = datetime.combine(day, moment, tzinfo=zone)
    # zoneinfo resolves non-existent times by the offset before the gap; normalise through UTC.
    return local.astimezone(UTC)


def window_of(day: date, cadence: Cadence, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = local_to_utc(day, cadence.window_start, zone)
    end = local_to_utc(day + timedelta(days=cadence.window_days - 1), cadence.window_end, zone)
    return start, end


def occurrences(
    cadence: Cadence, zone: ZoneInfo, *, from_date: date, until_date: date
) -> Iterator[Occurrence]:
    """Occurrences whose rule date lies in [from_date, until_date], honouring ends_on and COUNT
    (COUNT counts from starts_on, so previews and expansion agree). Under `shift`, dates that land
    on the same day make one occurrence, keyed by the earliest of them, whatever the range."""
    last = until_date if cadence.ends_on is None else min(until_date, cadence.ends_on)
    first = from_date
    if cadence.holiday_rule == HolidayRule.SHIFT:
        # Holidays just before from_date may have been shifted onto a day in range: read them too.
        while not is_working_day(first - timedelta(days=1), cadence.closures):
            first -= timedelta(days=1)
    landed: date | None = None
    for key_date in _bounded_dates(validate_rrule(cadence.rrule), cadence.starts_on, first, last):
        day = apply_holiday_rule(key_date, cadence.holiday_rule, cadence.closures)
        if day is None or day == landed:
            # Several dates shifted onto one day (29 and 31 Dec onto 4 Jan), or onto a day the rule
            # visits anyway: one visit that day, keyed by the earliest date (one door, one note).
            continue
        landed = day
        if key_date < from_date:
            continue
        start, end = window_of(day, cadence, zone)
        yield Occurrence(key_date=key_date, local_date=day, due_start=start, due_end=end)


def next_occurrences(cadence: Cadence, zone: ZoneInfo, *, after: datetime, count: int) -> list[Occurrence]:
    """The next `count` occurrences whose window has not closed at `after` (preview)."""
    found: list[Occurrence] = []
    from_date = max(cadence.starts_on, after.astimezone(zone).date() - timedelta(days=MAX_WINDOW_DAYS))
    horizon = from_date + timedelta(days=366 * 5)
    for occ in occurrences(cadence, zone, from_date=from_date, until_date=horizon):
        if occ.due_end <= after:
            continue
        found.append(occ)
        if len(found) >= count:
            break
    return found
