from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, FeedMixin, IdMixin, OrgMixin, TimestampMixin
from domain.enums import AlertResolution, AlertSeverity, AlertStatus


class Alert(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """Something a coordinator must act on. `cause_key` makes a second alert for the same cause
    impossible, whichever process raises it."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("org_id", "cause_key"),
        Index("ix_alerts_org_feed", "org_id", "feed_seq"),
        Index("ix_alerts_status_next", "status", "next_escalation_at"),
    )

    kind: Mapped[str] = mapped_column(String(40))
    cause_key: Mapped[str] = mapped_column(String(200))
    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"), index=True)
    visit_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    severity: Mapped[AlertSeverity] = mapped_column(String(10), default=AlertSeverity.NORMAL)
    status: Mapped[AlertStatus] = mapped_column(String(14), default=AlertStatus.OPEN)
    resolution: Mapped[AlertResolution | None] = mapped_column(String(30), default=None)
    resolution_note: Mapped[str | None] = mapped_column(Text, default=None)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(default=None)
    # Whether the visitor's phone synced since the window closed: "not contacted" vs "not reported".
    assignee_last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)


class AlertEvent(IdMixin, OrgMixin, Base):
    """The alert's history: created, sent, escalated, acknowledged, resolved."""

    __tablename__ = "alert_events"

    alert_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
