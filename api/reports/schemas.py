"""What the reports answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.enums import ContactMethod, RiskLevel


class AssigneeOut(BaseModel):
    id: str
    display_name: str


class WorkingListRow(BaseModel):
    resident_id: str
    name: str
    kana: str
    address: str
    district_id: str
    district_name: str
    risk_level: RiskLevel
    limit_days: int = Field(description="days without contact after which the resident is listed")
    last_contact_at: datetime | None = Field(description="null: never reached since registration")
    last_contact_method: ContactMethod | None = Field(
        description="null when never reached, or when the caller may not read that note"
    )
    days_without_contact: int = Field(
        description="local calendar days since the last contact (or since registration)"
    )
    assignee: AssigneeOut | None = Field(description="the primary watcher; null: nobody")
    assignee_last_sync_at: datetime | None = Field(description="the primary watcher's phone's last sync")
    synced_since_last_contact: bool
    state: str = Field(description="not_contacted | not_synced | unassigned")


class WorkingListPage(BaseModel):
    items: list[WorkingListRow]
    total: int
    page: int
    page_size: int
    as_of: date = Field(description="the organisation's local date the day counts end on")
    days: int | None = Field(description="the days asked for; null: each risk level's own limit")
    limits: dict[RiskLevel, int] = Field(description="days without contact before a resident is listed")


class ResidentCounts(BaseModel):
    active: int
    paused: int
    by_risk: dict[str, int] = Field(description="active residents per risk level")
    by_household: dict[str, int] = Field(description="active residents per household type")


class Share(BaseModel):
    residents: int
    share: float | None = Field(description="of the active residents; null when there are none")


class ContactCoverage(Share):
    by_method: dict[str, Share] = Field(description="residents reached at least once by each method")


class VisitCounts(BaseModel):
    due: int = Field(
        description="visits due in the period, not cancelled (= done + done_late + missed + open)"
    )
    done: int = Field(description="done within their window")
    done_late: int = Field(description="done after their window closed")
    missed: int
    open: int = Field(description="still planned")
    cancelled: int


class AlertCounts(BaseModel):
    raised: int = Field(description="alerts opened in the period")
    acknowledged: int = Field(description="of those, acknowledged")
    resolved: int = Field(description="of those, resolved")
    median_minutes_to_acknowledge: float | None
    median_minutes_to_resolve: float | None


class CaseloadRow(BaseModel):
    user_id: str
    display_name: str
    role: str
    primary: int
    backup: int


class DistrictRef(BaseModel):
    id: str
    name: str


class SafetyCheckTally(BaseModel):
    confirmed_safe: int
    needs_help: int = Field(description="a note said emergency or concern, or asked for follow-up")
    unreachable: int = Field(description="contact was tried, nobody confirmed them safe")
    not_checked: int = Field(description="nothing recorded")


class CampaignCoverage(SafetyCheckTally):
    campaign_id: str
    title: str
    started_at: datetime
    closed_at: datetime | None = Field(description="null: still running (counted up to now)")
    residents: int = Field(description="the campaign's residents in this district")


class SafetyCheckCoverage(SafetyCheckTally):
    campaigns: int = Field(description="safety-check campaigns started in the period covering the district")
    residents: int = Field(
        description="residents to check, summed over those campaigns (a resident in two campaigns counts twice)"
    )
    completed_share: float | None = Field(
        description="confirmed safe or needing help (someone answered) over residents; null when none"
    )
    by_campaign: list[CampaignCoverage] = Field(description="oldest first")


class DistrictCoverage(BaseModel):
    district_id: str
    name: str
    residents: ResidentCounts
    contacted: ContactCoverage
    visits: VisitCounts
    alerts: AlertCounts
    safety_checks: SafetyCheckCoverage = Field(
        description="安否確認: the campaigns started in the period, tallied as closing tallies them "
        "(a closed campaign's stored final tally; a running one up to now)"
    )
    residents_without_plan: int = Field(description="active residents with no active visit plan")
    residents_without_visiting_consent: int = Field(
        description="active residents that neither commissioners nor volunteers may see (no consent "
        "or legal basis covers them): nobody can visit"
    )
    commissioners: list[AssigneeOut] = Field(description="active commissioners holding the district")
    caseload: list[CaseloadRow] = Field(
        description="active assignments of the district's residents, per watcher"
    )


class CoverageReport(BaseModel):
    from_date: date = Field(description="first local day of the period")
    to_date: date = Field(description="last local day of the period (inclusive)")
    timezone: str
    districts: list[DistrictCoverage]
    districts_without_commissioner: list[DistrictRef]


class WeekTrend(BaseModel):
    week_start: date = Field(description="Monday, local")
    week_end: date = Field(description="Sunday, local (the current week ends today)")
    contacted: int = Field(description="active residents reached at least once that week")
    contacted_share: float | None = Field(description="of the residents active now (null: nobody active)")
    visits_due: int
    visits_done: int = Field(description="done, on time or late")
    visits_missed: int
    alerts_raised: int


class TrendReport(BaseModel):
    district_ids: list[str] = Field(description="the districts summed")
    active_residents: int
    timezone: str
    weeks: list[WeekTrend] = Field(description="oldest first")


class MonthTrend(BaseModel):
    month: str = Field(description="YYYY-MM, the organisation's calendar")
    month_start: date = Field(description="the 1st, local")
    month_end: date = Field(description="the month's last day, local (a month that has ended)")
    contacted: int | None = Field(
        description="active residents reached at least once that month (null: hidden)"
    )
    visits_due: int | None
    visits_done: int | None = Field(description="done, on time or late")
    visits_missed: int | None
    alerts_raised: int | None
    suppressed_k: int = Field(description="the k this month was published with (its figures never change)")


class MonthlyTrendReport(BaseModel):
    """The suppressed trends (suppress=true): per calendar month that has ended, each figure as the
    coverage file of that month publishes it (its totals row, or the one district's row)."""

    period: Literal["month"] = Field(
        default="month", description="always month: suppressed trends are monthly"
    )
    district_ids: list[str] = Field(description="the districts summed (all of the caller's, or one)")
    active_residents: int | None = Field(
        description="residents active as the last month was published (null: hidden)"
    )
    suppressed_k: int = Field(
        description="counts from 1 to this minus one are null, with those that would give them away "
        "(the smallest k of the months, each published once with the k then in force)"
    )
    timezone: str
    months: list[MonthTrend] = Field(
        description="oldest first; the months published or publishable (ended at least "
        "MIMAMORI_STATISTICS_SETTLE_DAYS days ago); the running month is never one"
    )
