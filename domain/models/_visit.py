from __future__ import annotations

from datetime import date, datetime, time

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
    fulfilled_by_note_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    campaign_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
