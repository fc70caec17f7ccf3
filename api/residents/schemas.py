"""Request and response bodies for residents, emergency contacts, consent and assignments."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from api.organisation.schemas import InputModel, RequiredText
from domain.enums import (
    AssignmentRole,
    ConsentRecipient,
    ConsentStatus,
    Household,
    LegalBasis,
    ResidentStatus,
    RiskLevel,
)

PHONE_PATTERN = r"^[0-9+()\- ]{3,40}$"


def _fold_kana(value: str | None) -> str | None:
    """Half-width katakana (ﾔﾏﾀﾞ, as old systems export it) becomes full-width (ヤマダ), so that a
    search finds it however it was typed."""
    return None if value is None else unicodedata.normalize("NFKC", value).strip()


class EmergencyContactIn(InputModel):
    id: str | None = Field(default=None, max_length=64, description="Present to update an existing one")
    name: RequiredText = Field(min_length=1, max_length=100)
    relation: str = Field(default="", max_length=50, description="続柄, e.g. 長男")
    phone: str = Field(pattern=PHONE_PATTERN)
    priority: int = Field(default=1, ge=1, le=9, description="1 is called first")


class EmergencyContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    relation: str
    phone: str
    priority: int


class _ResidentFields(InputModel):
    name: RequiredText = Field(min_length=1, max_length=100, description="氏名")
    kana: str = Field(default="", max_length=100, description="ふりがな (katakana or hiragana)")
    birth_year: int | None = Field(default=None, ge=1890, le=2100)
    address: str = Field(default="", max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    household: Household = Household.ALONE
    risk_level: RiskLevel = RiskLevel.MEDIUM
    support_needs: str = Field(default="", max_length=2000)


class ResidentIn(_ResidentFields):
    @field_validator("kana")
    @classmethod
    def _kana(cls, value: str) -> str | None:
        return _fold_kana(value)

    district_id: str = Field(min_length=1, max_length=64)
    emergency_contacts: list[EmergencyContactIn] = Field(default_factory=list, max_length=10)


class ResidentPatch(InputModel):
    """Only the fields sent change. `emergency_contacts`, when sent, is the whole list: contacts with
    an `id` are updated, without one are added, and those left out are removed."""

    district_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: RequiredText | None = Field(default=None, min_length=1, max_length=100)
    kana: str | None = Field(default=None, max_length=100)
    birth_year: int | None = Field(default=None, ge=1890, le=2100)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    household: Household | None = None
    risk_level: RiskLevel | None = None
    support_needs: str | None = Field(default=None, max_length=2000)
    emergency_contacts: list[EmergencyContactIn] | None = Field(default=None, max_length=10)

    @field_validator("kana")
    @classmethod
    def _kana(cls, value: str | None) -> str | None:
        return _fold_kana(value)


class ResidentStatusIn(InputModel):
    status: ResidentStatus
    reason: str | None = Field(
        default=None, max_length=200, description="Required for paused and ended (e.g. 入院, 転居)"
    )


class ResidentOut(BaseModel):
    """A resident as the caller may see it: volunteers get only the fields they need to find and
    help the person (no birth year, no emergency contacts); absent fields are left out."""

    id: str
    district_id: str
    name: str
    kana: str
    birth_year: int | None = None
    address: str
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None
    household: Household
    risk_level: RiskLevel
    support_needs: str
    status: ResidentStatus
    status_reason: str | None = None
    last_contact_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    emergency_contacts: list[EmergencyContactOut] | None = None

    _only: frozenset[str] | None = PrivateAttr(default=None)

    def restrict(self, fields: frozenset[str] | None) -> ResidentOut:
        self._only = fields
        return self

    @model_serializer(mode="wrap")
    def _serialise(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        only = self._only  # once: each read of a private attribute goes through pydantic's __getattr__
        if only is not None:
            return {k: v for k, v in data.items() if k in only}
        return data


class ResidentPage(BaseModel):
    items: list[ResidentOut]
    total: int
    page: int
    page_size: int


class ConsentIn(InputModel):
    status: ConsentStatus
    purpose: str = Field(default="", max_length=300, description="What the data is shared for")
    given_on: date | None = Field(default=None, description="Date of consent; defaults to today when given")
    expires_on: date | None = Field(
        default=None, description="Last day the consent covers, in the organisation's calendar"
    )


class ConsentWithdrawIn(InputModel):
    """A withdrawal withdraws: nothing keeps it sharing. What the law allows without consent is a
    legal basis record of its own (`/residents/{id}/legal-bases`)."""


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resident_id: str
    recipient: ConsentRecipient
    status: ConsentStatus
    purpose: str
    given_on: date | None = None
    expires_on: date | None = None
    recorded_by: str | None = None
    updated_at: datetime
    covers: bool = Field(
        description="Whether sharing with this recipient is allowed today (organisation's calendar): "
        "this consent is given and not expired, or an active legal basis covers the recipient"
    )
    legal_bases: list[LegalBasis] = Field(
        default_factory=list, description="Active legal bases that cover this recipient"
    )


class LegalBasisIn(InputModel):
    basis: LegalBasis
    recipient: ConsentRecipient = Field(description="The kind of recipient the basis is recorded for")
    note: str = Field(default="", max_length=300, description="e.g. the council's or list's reference")


class LegalBasisEndIn(InputModel):
    reason: RequiredText = Field(min_length=1, max_length=200)


class LegalBasisOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resident_id: str
    basis: LegalBasis
    recipient: ConsentRecipient
    note: str
    recorded_by: str | None = None
    recorded_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    active: bool


class LegalBasisRuleOut(BaseModel):
    basis: LegalBasis
    label: str
    law: str
    covers: list[ConsentRecipient] = Field(description="The recipient kinds this basis can cover")


class AssignmentIn(InputModel):
    user_id: str = Field(min_length=1, max_length=64)
    role: AssignmentRole = AssignmentRole.PRIMARY


class AssignmentEndIn(InputModel):
    reason: RequiredText = Field(min_length=1, max_length=200)


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resident_id: str
    user_id: str
    role: AssignmentRole
    started_at: datetime
    ended_at: datetime | None = None
    created_by: str | None = None
    ended_by: str | None = None
    end_reason: str | None = None


class AssignmentCreatedOut(AssignmentOut):
    visible_to_assignee: bool = Field(
        description="false when the resident's consent does not cover the assignee's role: the "
        "assignee will not receive the resident until consent is recorded"
    )


class AssignmentsOut(BaseModel):
    current: list[AssignmentOut]
    history: list[AssignmentOut]


class HandOverIn(InputModel):
    from_user_id: str = Field(min_length=1, max_length=64)
    to_user_id: str = Field(min_length=1, max_length=64)
    reason: RequiredText = Field(min_length=1, max_length=200, description="e.g. 任期満了による交代")


class HandOverOut(BaseModel):
    residents: list[str] = Field(description="Ids of the residents handed over")
    assignments_ended: int
    assignments_created: int
    plans_moved: int
    visits_moved: int
    not_visible_to_assignee: list[str] = Field(
        description="Residents handed over whose consent does not cover the incoming person's role: "
        "they will not reach that person until consent is recorded"
    )
