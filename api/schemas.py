"""Shared request-body rules for every API slice."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # server ids are uuid hex; phone-made ids are alphanumeric
_ID = re.compile(ID_PATTERN)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_id(value: str) -> bool:
    """Whether `value` could be an id at all; anything else cannot exist (and must not reach the
    database: PostgreSQL refuses NUL in text)."""
    return bool(_ID.match(value))


def strip_control(text: str) -> str:
    return _CONTROL.sub("", text)


class InputModel(BaseModel):
    """A request body: unknown fields refused, and no control characters in any text (PostgreSQL
    refuses NUL; a phone screen cannot show the others)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("control characters are not allowed")
        return value


def _trimmed(value: Any) -> Any:
    """Spaces around a name are dropped before its length is checked, full-width ones (U+3000, what
    a Japanese input method types) included: a name of spaces only is missing, not stored empty."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise PydanticCustomError("field.required", "a value other than spaces is required")
    return value


# A text that must say something (a name): trimmed, and refused as `field.required` when blank.
RequiredText = Annotated[str, BeforeValidator(_trimmed)]
