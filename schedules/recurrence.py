"""Cadence arithmetic: RFC 5545 RRULEs, holiday rules and contact windows, in local time.

Pure functions (no database): the plans API validates and previews with them, the expansion job
turns them into visits. Occurrences are computed on local dates in the organisation's timezone and
the window is converted to UTC per occurrence, so a DST change moves nothing in local time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.rrule import rrule, rrulestr

from domain.enums import HolidayRule
from domain.errors import FieldError, InvalidInput

# Parts we accept. DTSTART/UNTIL are the plan's own `starts_on`/`ends_on` (local dates), so that a
# rule never disagrees with them; sub-daily frequencies make no sense for visits.
ALLOWED_PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO", "BYYEARDAY",
     "WKST"}
)  # fmt: skip
ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
MAX_WINDOW_DAYS = 31
# Allowed magnitude of each numeric part (RFC 5545 §3.3.10); dateutil accepts some out-of-range
# values silently and then produces no visit at all.
NUMERIC_RANGES = {"BYMONTHDAY": (1, 31), "BYMONTH": (1, 12), "BYSETPOS": (1, 366), "BYWEEKNO": (1, 53),
                  "BYYEARDAY": (1, 366)}  # fmt: skip


@dataclass(frozen=True)
class Cadence:
    rrule: str
    starts_on: date
    ends_on: date | None
    window_start: time
    window_end: time
    window_days: int
    holiday_rule: HolidayRule


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
        raise InvalidInput.field(field, "rrule.freq_not_allowed", part=f"FREQ={freq}",
                                 choices=", ".join(ALLOWED_FREQ))  # fmt: skip
    if "INTERVAL" in seen and (not seen["INTERVAL"].isdigit() or not 1 <= int(seen["INTERVAL"]) <= 366):
        raise InvalidInput.field(field, "rrule.invalid_part", part=f"INTERVAL={seen['INTERVAL']}")
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
    # A rule that never produces a visit is a mistake (e.g. BYMONTHDAY=31;BYMONTH=2).
    horizon = cadence.ends_on or cadence.starts_on + timedelta(days=366 * 5)
    if (
        next(occurrences(cadence, ZoneInfo("UTC"), from_date=cadence.starts_on, until_date=horizon), None)
        is None
    ):
        if cadence.holiday_rule != HolidayRule.SKIP:
            raise InvalidInput.field("rrule", "rrule.no_occurrences")


@lru_cache(maxsize=64)
def _japanese_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("JP", years=year).keys())


def is_holiday(day: date) -> bool:
    return day in _japanese_holidays(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def apply_holiday_rule(day: date, rule: HolidayRule) -> date | None:
    """The day an occurrence actually happens: None when skipped."""
    if rule == HolidayRule.NONE or not is_holiday(day):
        return day
    if rule == HolidayRule.SKIP:
        return None
    shifted = day + timedelta(days=1)
    while not is_working_day(shifted):
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
    (COUNT counts from starts_on, so previews and expansion agree)."""
    rule = rrulestr(validate_rrule(cadence.rrule), dtstart=datetime.combine(cadence.starts_on, time(0, 0)))
    assert isinstance(rule, rrule)
    last = until_date if cadence.ends_on is None else min(until_date, cadence.ends_on)
    for moment in rule.xafter(datetime.combine(from_date, time(0, 0)), inc=True):
        key_date = moment.date()
        if key_date > last:
            break
        day = apply_holiday_rule(key_date, cadence.holiday_rule)
        if day is None:
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
