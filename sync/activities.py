"""Commissioners' activities as a phone sends them (sync schema v4): the field rules. One line of
the monthly activity record (民生委員・児童委員活動記録) that is not about one resident; `sync.push`
applies them, each commissioner their own."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from domain.access import Principal
from domain.enums import ActivityKind, LiaisonCounterpart
from sync import schema
from sync.validation import EARLIEST, invalid, read_choice, read_str

MAX_MEMO = 2000
MAX_COUNT = 999
ACTIVITY_FIELDS = ("district_id", "kind", "activity_date", "count", "memo", "counterpart")
REQUIRED_ON_CREATE = ("kind", "activity_date")


def read_activity(
    data: dict[str, Any], principal: Principal, version: int, *, creating: bool
) -> dict[str, Any]:
    """The activity fields in `data` (wire form), decoded and validated (only those present when
    editing, and only the columns of the phone's schema `version`: a v4 phone's edit leaves a
    counterpart set by a v5 phone alone; on creation the district defaults to the commissioner's
    only district). Raises `sync.validation.Refused` naming the field and the rule broken."""
    allowed = schema.column_names("commissioner_activities", version)
    readers: dict[str, Callable[[], Any]] = {
        "district_id": lambda: _district(data, principal),
        "kind": lambda: read_choice(data, "kind", ActivityKind),
        "activity_date": lambda: _local_date(data, principal),
        "count": lambda: _count(data),
        "memo": lambda: read_str(data, "memo", max_len=MAX_MEMO, default="") or "",
        "counterpart": lambda: _counterpart(data),
    }
    out: dict[str, Any] = {}
    for name in ACTIVITY_FIELDS:
        if name not in allowed:
            continue
        if name in data or (creating and name in REQUIRED_ON_CREATE):
            out[name] = readers[name]()
    if creating and out.get("district_id") is None and len(principal.district_ids) == 1:
        out["district_id"] = next(iter(principal.district_ids))
    return out


def _counterpart(data: dict[str, Any]) -> LiaisonCounterpart | None:
    if data.get("counterpart") in (None, ""):
        return None
    return read_choice(data, "counterpart", LiaisonCounterpart)


def _district(data: dict[str, Any], principal: Principal) -> str | None:
    value = data.get("district_id")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise invalid("district_id", "field.type")
    if value not in principal.district_ids:
        raise invalid("district_id", "field.not_allowed")  # only the commissioner's own districts
    return value


def _local_date(data: dict[str, Any], principal: Principal) -> date:
    """`YYYY-MM-DD`, a day of the organisation's calendar; at most tomorrow (a phone's clock)."""
    value = data.get("activity_date")
    if value in (None, ""):
        raise invalid("activity_date", "field.required")
    if not isinstance(value, str) or len(value) != 10:
        raise invalid("activity_date", "field.type")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise invalid("activity_date", "field.type") from None
    if day < EARLIEST.date():
        raise invalid("activity_date", "field.range")
    if day > principal.today() + timedelta(days=1):
        raise invalid("activity_date", "sync.future_time")
    return day


def _count(data: dict[str, Any]) -> int:
    value = data.get("count")
    if value is None:
        return 1
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)  # NaN and 1e400 (infinity), which Python's JSON reader accepts
        or value != int(value)
    ):
        raise invalid("count", "field.type")
    if not 1 <= value <= MAX_COUNT:
        raise invalid("count", "field.range")
    return int(value)
