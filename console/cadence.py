"""The plan editor's cadence in words: what the form's shapes (weekdays every N weeks, or the n-th
weekday of every month) mean as an RFC 5545 RRULE, and any stored rule back in words
("毎週火曜 10:00–12:00" / "Every Tuesday 10:00–12:00").

Pure functions; the RRULE is checked by the plans service (`schedules.recurrence`), the same as
for the API, so the editor never accepts what the API would refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from domain.errors import InvalidInput

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_JA = {"MO": "月", "TU": "火", "WE": "水", "TH": "木", "FR": "金", "SA": "土", "SU": "日"}
WEEKDAY_EN = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
# The n-th weekday of the month: 1–4, or -1 for the last one.
NTHS = (1, 2, 3, 4, -1)
ORDINAL_EN = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}
MAX_WEEKS = 8

Shape = Literal["weekly", "monthly"]


@dataclass(frozen=True)
class CadenceChoice:
    """What the editor's form says: `weekly` (weekdays, every `interval` weeks) or `monthly`
    (the `nth` `weekday` of every month)."""

    shape: Shape = "weekly"
    weekdays: tuple[str, ...] = field(default_factory=tuple)
    interval: int = 1
    nth: int = 1
    weekday: str = "TU"


def build_rrule(choice: CadenceChoice) -> str:
    """The RRULE for the editor's choice; a clear field error when the choice is incomplete."""
    if choice.shape == "weekly":
        days = [d for d in WEEKDAYS if d in choice.weekdays]
        if not days or len(days) != len(set(choice.weekdays)):
            raise InvalidInput.field("weekdays", "console.cadence.weekdays_required")
        if not 1 <= choice.interval <= MAX_WEEKS:
            raise InvalidInput.field("interval", "field.range")
        every = f";INTERVAL={choice.interval}" if choice.interval > 1 else ""
        return f"FREQ=WEEKLY{every};BYDAY={','.join(days)}"
    if choice.shape == "monthly":
        if choice.nth not in NTHS:
            raise InvalidInput.field("nth", "field.invalid")
        if choice.weekday not in WEEKDAYS:
            raise InvalidInput.field("weekday", "field.invalid")
        return f"FREQ=MONTHLY;BYDAY={choice.nth}{choice.weekday}"
    raise InvalidInput.field("shape", "field.invalid")


_MONTHLY_DAY = re.compile(r"^(-1|[1-4])(MO|TU|WE|TH|FR|SA|SU)$")


def choice_of(rrule: str) -> CadenceChoice | None:
    """The editor's choice for a stored rule, or None when the rule is not one of its shapes (it
    is then shown as the RRULE itself)."""
    parts: dict[str, str] = {}
    for item in rrule.strip().upper().split(";"):
        name, _, value = item.partition("=")
        if not value or name in parts:
            return None
        parts[name] = value
    freq = parts.pop("FREQ", None)
    interval = parts.pop("INTERVAL", "1")
    byday = parts.pop("BYDAY", "")
    parts.pop("WKST", None)
    if parts or not interval.isdigit() or not byday:
        return None
    if freq == "WEEKLY":
        days = tuple(byday.split(","))
        if any(d not in WEEKDAYS for d in days) or not 1 <= int(interval) <= MAX_WEEKS:
            return None
        return CadenceChoice("weekly", tuple(d for d in WEEKDAYS if d in days), int(interval))
    match = _MONTHLY_DAY.match(byday)
    if freq == "MONTHLY" and interval == "1" and match:
        return CadenceChoice("monthly", nth=int(match.group(1)), weekday=match.group(2))
    return None


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")


def in_words(rrule: str, window_start: time, window_end: time, locale: str) -> str:
    """'毎週火曜 10:00–12:00', 'Every 2 weeks on Tuesday and Friday 10:00–12:00', … A rule the
    editor cannot draw is shown as itself."""
    hours = f"{_hhmm(window_start)}–{_hhmm(window_end)}"
    choice = choice_of(rrule)
    if choice is None:
        return f"{rrule} {hours}"
    english = locale.startswith("en")
    if choice.shape == "weekly":
        if english:
            names = [WEEKDAY_EN[d] for d in choice.weekdays]
            days = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            lead = "Every" if choice.interval == 1 else f"Every {choice.interval} weeks on"
            return f"{lead} {days} {hours}"
        days = "・".join(WEEKDAY_JA[d] for d in choice.weekdays) + "曜"
        lead = (
            "毎週"
            if choice.interval == 1
            else ("隔週" if choice.interval == 2 else f"{choice.interval}週ごと")
        )
        return f"{lead}{days} {hours}"
    if english:
        return f"Monthly on the {ORDINAL_EN[choice.nth]} {WEEKDAY_EN[choice.weekday]} {hours}"
    nth = "最終" if choice.nth == -1 else f"第{choice.nth}"
    return f"毎月{nth}{WEEKDAY_JA[choice.weekday]}曜 {hours}"


def visit_day(start: datetime, end: datetime, locale: str) -> str:
    """A visit's day and hours in the zone its times carry: '2026/12/01（火）10:00–12:00' /
    'Tue 1 Dec 2026 10:00–12:00'."""
    hours = f"{_hhmm(start.time())}–{_hhmm(end.time())}"
    code = WEEKDAYS[start.weekday()]
    if locale.startswith("en"):
        return f"{WEEKDAY_EN[code][:3]} {start.day} {start.strftime('%b %Y')} {hours}"
    return f"{start.strftime('%Y/%m/%d')}（{WEEKDAY_JA[code]}）{hours}"
