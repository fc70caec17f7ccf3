from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, FeedMixin, IdMixin, OrgMixin, TimestampMixin
from domain.enums import DeliveryStatus


class Notification(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """One message in a user's inbox. The inbox is the record; push is best effort."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_org_feed", "org_id", "feed_seq"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    urgent: Mapped[bool] = mapped_column(default=False)
    resident_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    alert_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    visit_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    # A newer push with the same key replaces an older one on the phone (e.g. reminders).
    collapse_key: Mapped[str | None] = mapped_column(String(120), default=None)


class Delivery(IdMixin, OrgMixin, TimestampMixin, Base):
    """The outbox: one push of one notification to one device, with its attempts."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_due", "status", "next_attempt_at"),)

    notification_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("notifications.id"), index=True
    )
    device_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("devices.id"))
    status: Mapped[DeliveryStatus] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # Machine-readable outcome of the last attempt (an FCM error code, "stale_token", ...).
    last_error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    # The provider's id for the sent message (FCM "projects/…/messages/…").
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)


class DeliveryAttempt(IdMixin, OrgMixin, Base):
    """One try at sending one delivery, and what came of it (sent, retry, deactivated, dead)."""

    __tablename__ = "delivery_attempts"

    delivery_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("deliveries.id"), index=True)
    at: Mapped[datetime]
    transport: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    # Error text without personal data (FCM messages name the problem, never the content).
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    retry_after_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
