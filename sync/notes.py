"""Contact notes as anyone records them: the field rules, the visit check, and what recording one
sets off. One code path for a phone's push (`sync.push`), a held note a coordinator accepts
(`sync.push.apply_held_note`) and the office's REST endpoints (`api.contact_notes`), so that a note
is judged and acted on the same way however it arrives.

Rules are written against the wire form (WatermelonDB: times in milliseconds, lists and objects as
JSON strings); `wire_values` turns typed values (the REST body) into that form first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import events
from domain.clock import to_millis
from domain.enums import (
    NOT_REACHED,
    ContactMethod,
    ContactOutcome,
    NoteVisibility,
    SupportField,
    SupportTopic,
)
from domain.models import ContactNote, Resident, Visit
from sync import schema
from sync.validation import (
    invalid,
    read_bool,
    read_choice,
    read_id,
    read_json,
    read_str,
    read_time,
)

MAX_BODY = 10_000
MAX_WARNING_SIGNS = 30
MAX_WARNING_SIGN_LENGTH = 60
MAX_REFERRAL = 200
# `wellbeing` holds a short questionnaire's answers, e.g. the 3-item UCLA loneliness scale
# `{"scale": "ucla3", "answers": [1, 2, 3], "score": 6}`: an object of at most MAX_WELLBEING_ITEMS
# short keys whose values are scalars (text, number, true/false, null), a list of scalars or of
# small objects of scalars (answers as `[{"item": 1, "value": 2}]`), or an object of scalars; no
# deeper. Anything else is refused naming the field,
# so no stored note can be too deep for a reader to serialise.
MAX_WELLBEING_ITEMS = 20
MAX_WELLBEING_KEY = 40
MAX_WELLBEING_TEXT = 200
NOTE_FIELDS = (
    "resident_id",
    "visit_id",
    "method",
    "outcome",
    "body",
    "occurred_at",
    "follow_up_needed",
    "visibility",
    "warning_signs",
    "referral",
    "wellbeing",
    "support_field",
    "support_topic",
)
REQUIRED_ON_CREATE = ("resident_id", "method", "outcome", "occurred_at")
# An edit of any of these may change which visit the note fulfils or what its outcome sets off:
# the contact listener runs again.
RECHECKED_FIELDS = frozenset({"occurred_at", "outcome", "visit_id", "method"})


def read_note(data: dict[str, Any], version: int, *, creating: bool) -> dict[str, Any]:
    """The note fields in `data` (wire form), decoded and validated (only those present when
    editing). Raises `sync.validation.Refused` naming the field and the rule broken."""
    allowed = schema.column_names("contact_notes", version)
    readers: dict[str, Callable[[], Any]] = {
        "resident_id": lambda: read_id(data, "resident_id"),
        "visit_id": lambda: read_id(data, "visit_id", optional=True),
        "method": lambda: read_choice(data, "method", ContactMethod),
        "outcome": lambda: read_choice(data, "outcome", ContactOutcome),
        "body": lambda: read_str(data, "body", max_len=MAX_BODY, default=""),
        "occurred_at": lambda: read_time(data, "occurred_at"),
        "follow_up_needed": lambda: read_bool(data, "follow_up_needed"),
        "visibility": lambda: read_choice(data, "visibility", NoteVisibility, default=NoteVisibility.TEAM),
        "warning_signs": lambda: _warning_signs(data),
        "referral": lambda: read_str(data, "referral", max_len=MAX_REFERRAL, optional=True),
        "wellbeing": lambda: _wellbeing(data),
        "support_field": lambda: _optional_choice(data, "support_field", SupportField),
        "support_topic": lambda: _optional_choice(data, "support_topic", SupportTopic),
    }
    out: dict[str, Any] = {}
    for name in NOTE_FIELDS:
        if name not in allowed:
            continue
        if name in data or (creating and name in REQUIRED_ON_CREATE):
            out[name] = readers[name]()
    if creating and out.get("support_topic") is not None and out.get("support_field") is None:
        # A topic belongs to a consultation, and a consultation is counted in its field.
        raise invalid("support_field", "field.required")
    return out


def _optional_choice(data: dict[str, Any], name: str, choices: type) -> str | None:
    """An optional closed value: absent, null or "" (WatermelonDB's empty string) is none."""
    if data.get(name) in (None, ""):
        return None
    return read_choice(data, name, choices)


def _wellbeing(data: dict[str, Any]) -> dict[str, Any] | None:
    value = read_json(data, "wellbeing", dict)
    if value is not None and not wellbeing_fits(value):
        raise invalid("wellbeing", "field.wellbeing")
    return value


def _scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_WELLBEING_TEXT
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | int)


def _record(value: Any) -> bool:
    """An object of at most MAX_WELLBEING_ITEMS short keys with scalar values."""
    return (
        isinstance(value, dict)
        and len(value) <= MAX_WELLBEING_ITEMS
        and all(
            isinstance(key, str) and 0 < len(key) <= MAX_WELLBEING_KEY and _scalar(item)
            for key, item in value.items()
        )
    )


def _flat(value: Any) -> bool:
    """A list of at most MAX_WELLBEING_ITEMS scalars or small objects of scalars (a questionnaire's
    answers as `[{"item": 1, "value": 2}, ...]`), or an object of short keys and scalars."""
    if isinstance(value, list):
        return len(value) <= MAX_WELLBEING_ITEMS and all(_scalar(item) or _record(item) for item in value)
    return _record(value)


def wellbeing_fits(value: Any) -> bool:
    """Whether `value` has the shape `wellbeing` may take (see MAX_WELLBEING_ITEMS). Looks at most
    four levels down, however deep `value` goes: safe on anything a decoder produced."""
    if not isinstance(value, dict) or len(value) > MAX_WELLBEING_ITEMS:
        return False
    return all(
        isinstance(key, str) and 0 < len(key) <= MAX_WELLBEING_KEY and (_scalar(item) or _flat(item))
        for key, item in value.items()
    )


MAX_SHOWN_DEPTH = 32


def shown_wellbeing(value: Any) -> dict[str, Any] | None:
    """A stored `wellbeing` as readers get it. Notes stored before its shape was checked may hold
    an object nested hundreds deep, which no serialiser writes out (pydantic stops near 255
    levels): such a value is shown as none rather than failing every read of the note. The stored
    value itself is kept. Walks iteratively, and never below MAX_SHOWN_DEPTH."""
    if not isinstance(value, dict):
        return None
    level: list[Any] = [value]
    for _ in range(MAX_SHOWN_DEPTH):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return value
    return None


def _warning_signs(data: dict[str, Any]) -> list[str]:
    signs = read_json(data, "warning_signs", list) or []
    if len(signs) > MAX_WARNING_SIGNS or not all(
        isinstance(s, str) and 0 < len(s) <= MAX_WARNING_SIGN_LENGTH for s in signs
    ):
        raise invalid("warning_signs", "field.invalid")
    return signs


def wire_values(values: dict[str, Any]) -> dict[str, Any]:
    """Typed note values (datetimes, lists, dicts) in the wire form `read_note` judges. Raises
    `sync.validation.Refused` for a list or object that cannot be written as JSON text."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, datetime):
            out[name] = to_millis(value)
        elif name in ("warning_signs", "wellbeing") and value is not None:
            try:
                out[name] = json.dumps(value, ensure_ascii=False)
            except (ValueError, TypeError, RecursionError):
                raise invalid(name, "field.wellbeing" if name == "wellbeing" else "field.type") from None
        else:
            out[name] = value
    return out


async def check_visit(session: AsyncSession, org_id: str, visit_id: str | None, resident_id: str) -> None:
    """A named visit must be one of this resident's (in this organisation)."""
    if visit_id is None:
        return
    visit = await session.scalar(select(Visit).where(Visit.id == visit_id, Visit.org_id == org_id))
    if visit is None or visit.resident_id != resident_id:
        raise invalid("visit_id", "field.not_found")


def same(server: Any, pushed: Any) -> bool:
    """Whether a stored value equals a sent one (times to the millisecond, as phones keep them)."""
    if isinstance(server, datetime) or isinstance(pushed, datetime):
        return to_millis(server) == to_millis(pushed)
    if server is None or pushed is None:
        return server is pushed
    if isinstance(server, str) or isinstance(pushed, str):
        return str(server) == str(pushed)
    return bool(server == pushed)


async def note_recorded(session: AsyncSession, note: ContactNote, resident: Resident | None = None) -> None:
    """A note was written or its timing or outcome edited (in this transaction): keep the
    resident's last contact current and let schedules fulfil visits and resolve alerts
    (`domain.events.contact_recorded`)."""
    resident = resident or await session.get(Resident, note.resident_id)
    if (
        resident is not None
        and note.outcome not in NOT_REACHED
        and (resident.last_contact_at is None or resident.last_contact_at < note.occurred_at)
    ):
        resident.last_contact_at = note.occurred_at
    await events.contact_recorded(session, note)


async def note_withdrawn(session: AsyncSession, note: ContactNote, resident: Resident | None = None) -> None:
    """A note was deleted, or its timing, outcome or visit edited (in this transaction): the
    resident's last contact is what the remaining notes say, and schedules take back what the note
    did (`domain.events.contact_withdrawn`). Before `note_recorded` for an edited note; running it
    twice changes nothing the second time."""
    await session.flush()
    resident = resident or await session.get(Resident, note.resident_id)
    if resident is not None:
        latest = await session.scalar(
            select(func.max(ContactNote.occurred_at)).where(
                ContactNote.resident_id == resident.id,
                ContactNote.org_id == resident.org_id,
                ContactNote.deleted_at.is_(None),
                ContactNote.outcome.not_in(sorted(NOT_REACHED)),
            )
        )
        if not same(resident.last_contact_at, latest):
            resident.last_contact_at = latest
    await events.contact_withdrawn(session, note)
