"""Request and response bodies for contact notes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from api.schemas import ID_PATTERN, InputModel, strip_control
from domain.enums import ContactMethod, ContactOutcome, NoteVisibility, SupportField, SupportTopic
from sync.notes import MAX_BODY, MAX_REFERRAL, MAX_WARNING_SIGN_LENGTH, MAX_WARNING_SIGNS, wellbeing_fits

WarningSign = Annotated[str, StringConstraints(min_length=1, max_length=MAX_WARNING_SIGN_LENGTH)]


def _no_control_characters(value: Any) -> Any:
    """`InputModel` checks top-level text; lists and objects are checked here, to the leaves."""
    if isinstance(value, str) and strip_control(value) != value:
        raise ValueError("control characters are not allowed")
    if isinstance(value, list):
        for item in value:
            _no_control_characters(item)
    if isinstance(value, dict):
        for key, item in value.items():
            _no_control_characters(key)
            _no_control_characters(item)
    return value


class _NoteFields(InputModel):
    @field_validator("warning_signs", "wellbeing", check_fields=False)
    @classmethod
    def _nested_text(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name == "wellbeing" and value is not None and not wellbeing_fits(value):
            # Judged before anything walks it: a value nested hundreds deep is refused here, not
            # stored to make every later read of the note fail. The code is the field error's.
            raise PydanticCustomError("field.wellbeing", "wellbeing is not in the accepted shape")
        return _no_control_characters(value)


class ContactNoteIn(_NoteFields):
    """A contact the office made or was told of: a phone call, a visit, a meeting."""

    id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="Client-made id: sending the same note again with it records it once",
    )
    visit_id: str | None = Field(default=None, pattern=ID_PATTERN, description="The visit it fulfils")
    method: ContactMethod
    outcome: ContactOutcome
    occurred_at: datetime | None = Field(
        default=None,
        description="When the contact happened (ISO 8601; without an offset: the organisation's "
        "local time). Default: now",
    )
    body: str = Field(default="", max_length=MAX_BODY)
    follow_up_needed: bool = False
    visibility: NoteVisibility = NoteVisibility.TEAM
    warning_signs: list[WarningSign] = Field(default_factory=list, max_length=MAX_WARNING_SIGNS)
    referral: str | None = Field(default=None, max_length=MAX_REFERRAL)
    wellbeing: dict[str, Any] | None = Field(
        default=None,
        description="Questionnaire answers, e.g. the 3-item UCLA scale "
        '`{"scale": "ucla3", "answers": [1, 2, 3], "score": 6}`: at most 20 keys of up to 40 characters; '
        "values are text (up to 200 characters), numbers, booleans or null, or a list or object of at "
        "most 20 of those (nested no deeper)",
    )
    support_field: SupportField | None = Field(
        default=None, description="A consultation (相談・支援) of the activity record: its field"
    )
    support_topic: SupportTopic | None = Field(default=None, description="The consultation's topic")


class ContactNoteCorrection(_NoteFields):
    """Only the fields sent change. The resident a note is about cannot change."""

    visit_id: str | None = Field(default=None, pattern=ID_PATTERN)
    method: ContactMethod | None = None
    outcome: ContactOutcome | None = None
    occurred_at: datetime | None = None
    body: str | None = Field(default=None, max_length=MAX_BODY)
    follow_up_needed: bool | None = None
    visibility: NoteVisibility | None = None
    warning_signs: list[WarningSign] | None = Field(default=None, max_length=MAX_WARNING_SIGNS)
    referral: str | None = Field(default=None, max_length=MAX_REFERRAL)
    wellbeing: dict[str, Any] | None = Field(default=None, description="As when recording a note")
    support_field: SupportField | None = None
    support_topic: SupportTopic | None = None
    reason: str = Field(default="", max_length=200, description="Why it is corrected (kept with it)")


class ContactNoteOut(BaseModel):
    id: str
    resident_id: str
    visit_id: str | None
    author_id: str
    author_name: str
    method: ContactMethod
    outcome: ContactOutcome
    occurred_at: datetime
    received_at: datetime
    updated_at: datetime
    body: str
    follow_up_needed: bool
    visibility: NoteVisibility
    warning_signs: list[str]
    referral: str | None
    wellbeing: dict[str, Any] | None
    support_field: SupportField | None = None
    support_topic: SupportTopic | None = None
    corrections: int = Field(description="How many times it was corrected")
    correctable_until: datetime = Field(description="The end of the organisation's correction window")


class ContactNotePage(BaseModel):
    items: list[ContactNoteOut]
    total: int
    page: int
    page_size: int


class ContactNoteRevisionOut(BaseModel):
    id: str
    revised_at: datetime
    revised_by: str
    reason: str
    fields: list[str]
    previous: dict[str, Any] = Field(description="The values these fields had before")
