"""Reading the resident page's two forms — the plan editor and the office contact — into the
API's own request bodies (`PreviewIn` / `PlanIn` / `PlanPatch`, `ContactNoteIn`), so that their
validation is the API's. A missing or malformed field is a clear field error (400/422), never 500.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import ValidationError

from api.contact_notes.schemas import ContactNoteIn
from api.schemas import is_id
from console.cadence import NTHS, WEEKDAYS, CadenceChoice, build_rrule
from domain.base import new_id
from domain.enums import ContactMethod, ContactOutcome, HolidayRule, NoteVisibility
from domain.errors import FieldError, InvalidInput
from schedules.schemas import PlanIn, PlanPatch, PreviewIn

PREVIEW_COUNT = 5
MAX_TEXT = 4000


def _text(form: Any, name: str, limit: int = 100) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput.field(name, "field.invalid")
    return value.strip()


def _many(form: Any, name: str) -> tuple[str, ...]:
    values = form.getall(name, []) if hasattr(form, "getall") else form.get(name, [])
    if isinstance(values, str):
        values = [values]
    if len(values) > 7 or any(not isinstance(v, str) or len(v) > 2 for v in values):
        raise InvalidInput.field(name, "field.invalid")
    return tuple(values)


def _int(form: Any, name: str, default: int) -> int:
    text = _text(form, name, 4)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInput.field(name, "field.invalid") from None


def _time(form: Any, name: str) -> time:
    text = _text(form, name, 8)
    if not text:
        raise InvalidInput.field(name, "field.required")
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field(name, "field.invalid") from None


def _date(form: Any, name: str) -> date | None:
    text = _text(form, name, 10)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field(name, "field.invalid") from None


def _choice(form: Any, name: str, kind: Any, default: Any) -> Any:
    text = _text(form, name, 40)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput.field(
            name, "field.not_allowed", choices=", ".join(k.value for k in kind)
        ) from None


def _invalid(exc: ValidationError) -> InvalidInput:
    errors = [
        FieldError(".".join(str(p) for p in e.get("loc", ())) or "form", "field.invalid")
        for e in exc.errors()
    ]
    return InvalidInput(errors=errors)


def cadence_choice(form: Any) -> CadenceChoice:
    shape = _text(form, "shape", 10) or "weekly"
    if shape not in ("weekly", "monthly"):
        raise InvalidInput.field("shape", "field.invalid")
    return CadenceChoice(
        shape=shape,  # type: ignore[arg-type]
        weekdays=_many(form, "weekdays"),
        interval=_int(form, "interval", 1),
        nth=_int(form, "nth", 1),
        weekday=_text(form, "weekday", 2) or "TU",
    )


def cadence_values(form: Any) -> dict[str, Any]:
    """The cadence the editor describes, in the plans API's terms (one-day window)."""
    return {
        "rrule": build_rrule(cadence_choice(form)),
        "starts_on": _date(form, "starts_on"),
        "window_start": _time(form, "window_start"),
        "window_end": _time(form, "window_end"),
        "window_days": 1,
        "holiday_rule": _choice(form, "holiday_rule", HolidayRule, HolidayRule.SHIFT),
    }


def preview_in(form: Any, resident_id: str) -> PreviewIn:
    try:
        return PreviewIn(**cadence_values(form), resident_id=resident_id, count=PREVIEW_COUNT)
    except ValidationError as exc:
        raise _invalid(exc) from None


def plan_in(form: Any, resident_id: str) -> PlanIn:
    try:
        return PlanIn(**cadence_values(form), resident_id=resident_id)
    except ValidationError as exc:
        raise _invalid(exc) from None


def plan_patch(form: Any) -> PlanPatch:
    values = cadence_values(form)
    if values["starts_on"] is None:
        raise InvalidInput.field("starts_on", "field.required")
    try:
        return PlanPatch(**values)
    except ValidationError as exc:
        raise _invalid(exc) from None


def client_key(form: Any, name: str) -> str:
    """The form's own id (made when the page was drawn): a second submission is the same record."""
    key = _text(form, name, 64)
    if not key or not is_id(key):
        raise InvalidInput.field(name, "field.required")
    return key


def contact_note_in(form: Any) -> ContactNoteIn:
    occurred = _text(form, "occurred_at", 30)
    try:
        moment = datetime.fromisoformat(occurred) if occurred else None
    except ValueError:
        raise InvalidInput.field("occurred_at", "field.invalid") from None
    try:
        return ContactNoteIn(
            id=client_key(form, "note_key"),
            method=_choice(form, "method", ContactMethod, None) or _missing("method"),
            outcome=_choice(form, "outcome", ContactOutcome, None) or _missing("outcome"),
            occurred_at=moment,  # without an offset: the organisation's local time (the service)
            body=_text(form, "body", MAX_TEXT),
            follow_up_needed=form.get("follow_up_needed") == "on",
            visibility=_choice(form, "visibility", NoteVisibility, NoteVisibility.TEAM),
        )
    except ValidationError as exc:
        raise _invalid(exc) from None


def _missing(name: str) -> Any:
    raise InvalidInput.field(name, "field.required")


def editor_context() -> dict[str, Any]:
    """The choices the page's forms offer, and fresh ids for a new plan and a new note (the same
    id sent twice is one record)."""
    return {
        "weekdays": WEEKDAYS,
        "nths": NTHS,
        "holiday_rules": [h.value for h in HolidayRule],
        "methods": [m.value for m in ContactMethod],
        "outcomes": [o.value for o in ContactOutcome],
        "plan_key": new_id(),
        "note_key": new_id(),
    }
