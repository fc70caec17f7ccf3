"""An organisation's operating rules, stored as JSON on `Organisation.settings`, with defaults.

Read them through `rules_for(org)`; write through the API (coordinators). Times are local to the
organisation's timezone.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.clock import zone_named
from domain.enums import RiskLevel
from domain.models import Organisation


class PlanDefault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rrule: str
    window_days: int = Field(default=1, ge=1, le=31)


class OrgRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    # Reminders: the evening before and the morning of a visit (local time).
    reminder_evening: time = time(18, 0)
    reminder_morning: time = time(8, 30)
    # After a window closes with no contact: ask the assignee at once; alert after the grace period.
    grace_hours: int = Field(default=24, ge=0, le=24 * 14)
    # Unacknowledged alerts climb visitor → commissioner → coordinator on these deadlines (hours).
    escalation_hours: list[int] = Field(default_factory=lambda: [4, 8, 24])
    revisit_hours: int = Field(default=48, ge=1, le=24 * 14)
    # People call in a little before the agreed time: a note that names no visit still fulfils a
    # visit whose window opens within this many minutes after the note.
    early_allowance_minutes: int = Field(default=120, ge=0, le=24 * 60)
    # No contact at all for longer than this (days) raises an alert, plan or no plan.
    contact_gap_days: dict[RiskLevel, int] = Field(
        default_factory=lambda: {RiskLevel.HIGH: 14, RiskLevel.MEDIUM: 30, RiskLevel.LOW: 60}
    )
    plan_defaults: dict[RiskLevel, PlanDefault] = Field(
        default_factory=lambda: {
            RiskLevel.HIGH: PlanDefault(rrule="FREQ=WEEKLY;INTERVAL=1"),
            RiskLevel.MEDIUM: PlanDefault(rrule="FREQ=WEEKLY;INTERVAL=2"),
            RiskLevel.LOW: PlanDefault(rrule="FREQ=MONTHLY;INTERVAL=1"),
        }
    )
    expansion_weeks: int = Field(default=8, ge=1, le=52)
    # Office closures, counted as holidays by a plan's skip/shift rule: 年末年始 (29 Dec – 3 Jan)
    # unless switched off, and the days the organisation adds (e.g. its founding day).
    year_end_closure: bool = True
    closure_days: list[date] = Field(default_factory=list, max_length=366)
    # 安否確認: how long a safety-check campaign gives visitors before its misses alert.
    safety_check_hours: int = Field(default=24, ge=1, le=24 * 7)
    # A contact note may be corrected (REST, by its author or a coordinator) for this many hours
    # after the server received it; later it stands as recorded.
    note_correction_hours: int = Field(default=72, ge=0, le=24 * 90)
    # Statistics that leave the organisation hide counts from 1 to k-1 (api/reports/suppression.py).
    small_cell_k: int = Field(default=5, ge=2, le=100)

    @field_validator("escalation_hours")
    @classmethod
    def _increasing(cls, hours: list[int]) -> list[int]:
        # Deadlines count from the alert's opening: each rung later than the one before.
        if len(hours) > 3 or any(h < 1 for h in hours) or hours != sorted(set(hours)):
            raise ValueError("escalation_hours: up to three increasing hour counts, each at least 1")
        return hours

    def in_quiet_hours(self, local: time) -> bool:
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end


def rules_for(org: Organisation) -> OrgRules:
    return OrgRules.model_validate(org.settings or {})


def timezone_of(org: Organisation) -> ZoneInfo:
    return zone_named(org.timezone)


def merged(org: Organisation, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate changes against the rules and return the JSON to store."""
    current = rules_for(org).model_dump(mode="json")
    current.update(changes)
    return OrgRules.model_validate(current).model_dump(mode="json")
