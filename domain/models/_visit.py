from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, FeedMixin, IdMixin, OrgMixin, TimestampMixin
from domain.enums import HolidayRule, PlanStatus, VisitKind, VisitStatus


class VisitPlan(IdMixin, OrgMixin, TimestampMixin, Base):
    """How often a resident is contacted: an RFC 5545 RRULE in the organisation's timezone."""

    __tablename__ = "visit_plans"

    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"), index=True)
    assignee_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), default=None)
    rrule: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    # Contact window of one occurrence, in local time: from window_start on the occurrence day to
    # window_end on the last day of the window (window_days long).
    window_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    window_end: Mapped[time] = mapped_column(Time, default=time(18, 0))
    window_days: Mapped[int] = mapped_column(Integer, default=1)
    preferred_time: Mapped[time | None] = mapped_column(Time, default=None)
    holiday_rule: Mapped[HolidayRule] = mapped_column(String(10), default=HolidayRule.SHIFT)
    status: Mapped[PlanStatus] = mapped_column(String(10), default=PlanStatus.ACTIVE)
    paused_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    expanded_until: Mapped[date | None] = mapped_column(Date, default=None)
    # Bumped by every edit of the cadence or window: future untouched visits of older revisions are
    # cancelled and the plan re-expands under the new revision (occurrence keys carry it).
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)


class Visit(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """One occurrence of a plan (or a revisit / safety check) with its due window."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("plan_id", "occurrence_key"),
        Index("ix_visits_org_feed", "org_id", "feed_seq"),
        Index("ix_visits_due_end_status", "status", "due_end"),
        Index("ix_visits_assignee_due", "assignee_id", "due_start"),
        Index("ix_visits_resident_due", "resident_id", "due_start"),
        Index("ix_visits_next_check", "next_check_at"),
    )

    plan_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("visit_plans.id"), default=None)
    # The occurrence's local date for a plan (unique per plan: expanding twice creates nothing twice),
    # or the cause of a revisit / safety check.
    occurrence_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[VisitKind] = mapped_column(String(20), default=VisitKind.PLANNED)
    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"))
    assignee_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), default=None)
    due_start: Mapped[datetime]
    due_end: Mapped[datetime]
    status: Mapped[VisitStatus] = mapped_column(String(12), default=VisitStatus.PLANNED)
    fulfilled_by_note_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    campaign_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None, index=True)
    # Detection ladder: the next step (`reminder_evening`, `reminder_morning`, `window_closed`,
    # `grace_over`) and when it is due. The sweep reads only rows whose step is due (indexed), so
    # its cost follows the visits due, not the size of the table. NULL: nothing left to do.
    check_step: Mapped[str | None] = mapped_column(String(20), default=None)
    next_check_at: Mapped[datetime | None] = mapped_column(default=None)
    asked_at: Mapped[datetime | None] = mapped_column(default=None)  # assignee asked to record / sync


class SafetyCheckCampaign(IdMixin, OrgMixin, TimestampMixin, Base):
    """安否確認: contact every resident of the chosen districts now (e.g. after an earthquake).
    Each resident gets one `safety_check` visit; progress and alerts follow those visits."""

    __tablename__ = "safety_check_campaigns"

    title: Mapped[str] = mapped_column(String(200))
    district_ids: Mapped[list[str]] = mapped_column(JsonB, default=list)
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    closed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    # Counts as they stood at closing (`schedules.campaign_close.tally`); answered again unchanged.
    final_tally: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
