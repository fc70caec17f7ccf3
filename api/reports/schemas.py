"""What the reports answer."""

from __future__ import annotations

from datetime import date, datetime

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
