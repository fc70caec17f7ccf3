"""Request and response bodies of the schedules API. Times on the wire are ISO 8601 with offset
(UTC); local dates and clock times are the organisation's."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.enums import HolidayRule, PlanStatus, VisitKind, VisitStatus


class CadenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rrule: str | None = Field(
        default=None,
        max_length=500,
        description="RFC 5545 RRULE without DTSTART/UNTIL, e.g. FREQ=WEEKLY;BYDAY=TU. "
        "Omitted: the organisation's default for the resident's risk level.",
    )
    starts_on: date | None = Field(default=None, description="Local date; default today")
    ends_on: date | None = None
    window_start: time = Field(default=time(9, 0), description="Local time the window opens")
    window_end: time = Field(default=time(18, 0), description="Local time the window closes (last day)")
    window_days: int | None = Field(
        default=None, ge=1, le=31, description="Default: the risk level's default"
    )
    preferred_time: time | None = None
    holiday_rule: HolidayRule = HolidayRule.SHIFT


class PlanIn(CadenceIn):
    resident_id: str = Field(min_length=1, max_length=64)
    assignee_id: str | None = Field(default=None, max_length=64)


class PreviewIn(CadenceIn):
    resident_id: str | None = Field(default=None, max_length=64, description="For the risk-level default")
    count: int = Field(default=10, ge=1, le=100)


class PlanPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rrule: str | None = Field(default=None, max_length=500)
    starts_on: date | None = None
    ends_on: date | None = None
    window_start: time | None = None
    window_end: time | None = None
    window_days: int | None = Field(default=None, ge=1, le=31)
    preferred_time: time | None = None
    holiday_rule: HolidayRule | None = None
    assignee_id: str | None = Field(default=None, max_length=64)


class PauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200, description="e.g. hospital, away, refused")


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resident_id: str
    assignee_id: str | None
    rrule: str
    starts_on: date
    ends_on: date | None
    window_start: time
    window_end: time
    window_days: int
    preferred_time: time | None
    holiday_rule: HolidayRule
    status: PlanStatus
    paused_reason: str | None
    expanded_until: date | None
    revision: int
    created_at: datetime
    updated_at: datetime


class OccurrenceOut(BaseModel):
    local_date: date
    rule_date: date
    shifted: bool
    due_start: datetime
    due_end: datetime
    due_start_local: str
    due_end_local: str


class PreviewOut(BaseModel):
    timezone: str
    rrule: str
    occurrences: list[OccurrenceOut]


class VisitOut(BaseModel):
    id: str
    plan_id: str | None
    kind: VisitKind
    status: VisitStatus
    due_start: datetime
    due_end: datetime
    assignee_id: str | None
    contact_recorded: bool
    completed_at: datetime | None
    late: bool = Field(description="done after its window closed (status stays `done`)")
    campaign_id: str | None
    resident: dict[str, Any]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    district_ids: list[str] = Field(min_length=1, max_length=500)
    hours: int | None = Field(default=None, ge=1, le=24 * 7)


class CampaignOut(BaseModel):
    id: str
    title: str
    district_ids: list[str]
    started_at: datetime
    due_at: datetime
    closed_at: datetime | None
    closed_by: str | None = None
    final_tally: dict[str, Any] | None = Field(
        default=None,
        description="Once closed, for coordinators: residents, needs_help, confirmed_safe, "
        "unreachable, not_checked, by_district, follow_up_resident_ids, taken_at",
    )
    progress: dict[str, Any]
