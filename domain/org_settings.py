"""An organisation's operating rules, stored as JSON on `Organisation.settings`, with defaults.

Read them through `rules_for(org)`; write through the API (coordinators). Times are local to the
organisation's timezone.
"""

from __future__ import annotations

import logging
from datetime import date, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.clock import zone_named
from domain.enums import RiskLevel
from domain.models import Organisation

log = logging.getLogger("mimamori.org_settings")

# Bounds of the alert rules (README, "operating rules"). Beyond them a deadline or a cut-off date
# leaves the calendar (a timedelta of 10^8 hours overflows) and no alert would ever come anyway.
ESCALATION_HOURS = (1, 24 * 30)  # each rung: one hour to thirty days after the alert opened
CONTACT_GAP_DAYS = (1, 3650)  # one day to ten years without contact, per risk level
DEFAULT_CONTACT_GAP_DAYS = {RiskLevel.HIGH: 14, RiskLevel.MEDIUM: 30, RiskLevel.LOW: 60}
RANGES = {"escalation_hours": ESCALATION_HOURS, "contact_gap_days": CONTACT_GAP_DAYS}

EscalationHour = Annotated[int, Field(ge=ESCALATION_HOURS[0], le=ESCALATION_HOURS[1])]
GapDays = Annotated[int, Field(ge=CONTACT_GAP_DAYS[0], le=CONTACT_GAP_DAYS[1])]


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
    escalation_hours: list[EscalationHour] = Field(default_factory=lambda: [4, 8, 24])
    revisit_hours: int = Field(default=48, ge=1, le=24 * 14)
    # People call in a little before the agreed time: a note that names no visit still fulfils a
    # visit whose window opens within this many minutes after the note.
    early_allowance_minutes: int = Field(default=120, ge=0, le=24 * 60)
    # No contact at all for longer than this (days) raises an alert, plan or no plan. Every risk
    # level has one (nobody falls through the cracks); a change names only the levels it changes.
    contact_gap_days: dict[RiskLevel, GapDays] = Field(default_factory=lambda: dict(DEFAULT_CONTACT_GAP_DAYS))
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

    @field_validator("contact_gap_days")
    @classmethod
    def _every_level(cls, days: dict[RiskLevel, int]) -> dict[RiskLevel, int]:
        # Stored before partial changes merged (`{"high": 7}` replaced the map): the levels left
        # out keep their defaults.
        return {**DEFAULT_CONTACT_GAP_DAYS, **days}

    def in_quiet_hours(self, local: time) -> bool:
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end


def rules_for(org: Organisation) -> OrgRules:
    """The rules in force. Values stored before today's bounds are brought within them, and a rule
    that no longer validates falls back to its default, so that no stored rule stops the jobs."""
    stored = _within_bounds(dict(org.settings or {}))
    try:
        return OrgRules.model_validate(stored)
    except ValidationError as exc:
        broken = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
        log.warning("stored rules not valid, defaults used: org=%s rules=%s", org.id, ",".join(broken))
        try:
            return OrgRules.model_validate({k: v for k, v in stored.items() if k not in broken})
        except ValidationError:
            return OrgRules()


def _clamp(value: Any, bounds: tuple[int, int]) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, bounds[0]), bounds[1])
    return value


def _within_bounds(settings: dict[str, Any]) -> dict[str, Any]:
    hours = settings.get("escalation_hours")
    if isinstance(hours, list) and all(isinstance(h, int) and not isinstance(h, bool) for h in hours):
        settings["escalation_hours"] = sorted({_clamp(h, ESCALATION_HOURS) for h in hours})[:3]
    gaps = settings.get("contact_gap_days")
    if isinstance(gaps, dict):
        settings["contact_gap_days"] = {k: _clamp(v, CONTACT_GAP_DAYS) for k, v in gaps.items()}
    return settings


def range_of(field: str) -> tuple[int, int] | None:
    """The bounds of a rule (`grace_hours`) or of one of its items (`contact_gap_days.high`), for
    error messages."""
    name = field.split(".")[0]
    if "." in field:
        return RANGES.get(name)
    info = OrgRules.model_fields.get(name)
    if info is None:
        return None
    low = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    return (low, high) if low is not None and high is not None else RANGES.get(name)


def timezone_of(org: Organisation) -> ZoneInfo:
    return zone_named(org.timezone)


def merged(org: Organisation, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate changes against the rules and return the JSON to store. `contact_gap_days` merges
    per risk level: `{"high": 7}` changes the high-risk limit only."""
    current = rules_for(org).model_dump(mode="json")
    gaps = changes.get("contact_gap_days")
    if isinstance(gaps, dict):
        changes = {**changes, "contact_gap_days": {**current["contact_gap_days"], **gaps}}
    current.update(changes)
    return OrgRules.model_validate(current).model_dump(mode="json")
