from __future__ import annotations

from datetime import date, datetime
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, FeedMixin, IdMixin, OrgMixin, TimestampMixin
from domain.enums import ActivityKind, LiaisonCounterpart


class CommissionerActivity(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """A commissioner's activity that is not about one resident (a survey, a meeting, certificates,
    liaison with the office…): one line of the monthly activity record (民生委員・児童委員活動記録).
    Recorded on the commissioner's phone (sync schema v4) and held only by it."""

    __tablename__ = "commissioner_activities"
    __table_args__ = (
        Index("ix_commissioner_activities_org_feed", "org_id", "feed_seq"),
        Index("ix_commissioner_activities_commissioner_date", "commissioner_id", "activity_date"),
    )

    commissioner_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    district_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("districts.id"), default=None, index=True
    )
    device_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    kind: Mapped[ActivityKind] = mapped_column(String(30))
    activity_date: Mapped[date]  # the organisation's calendar day
    count: Mapped[int] = mapped_column(default=1)  # e.g. three certificates in one sitting
    memo: Mapped[str] = mapped_column(Text, default="")
    # With whom a liaison was made (sync schema v5); null — older phones, other kinds — counts as
    # その他 in the activity record.
    counterpart: Mapped[LiaisonCounterpart | None] = mapped_column(String(30), default=None)


class ActivityRecordReview(IdMixin, OrgMixin, Base):
    """A commissioner marked a month's activity record reviewed: when, and the figures it then
    showed (so that the report can tell whether anything changed after the review)."""

    __tablename__ = "activity_record_reviews"
    __table_args__ = (UniqueConstraint("commissioner_id", "month"),)

    commissioner_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, the organisation's calendar
    reviewed_at: Mapped[datetime]
    reviewed_by: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    figures: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
