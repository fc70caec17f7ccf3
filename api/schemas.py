"""Shared request-body rules for every API slice."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

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
