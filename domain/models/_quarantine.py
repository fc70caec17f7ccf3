from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, IdMixin, OrgMixin, TimestampMixin


class QuarantinedRecord(IdMixin, OrgMixin, TimestampMixin, Base):
    """A record a phone pushed that the server refused (validation or permission), kept whole with
    the reason so that nothing written on a phone is lost and the push that carried it still applies.
    Coordinators list and resolve these (apply or discard)."""

    __tablename__ = "sync_quarantine"
    __table_args__ = (
        Index("ix_sync_quarantine_org_status", "org_id", "status"),
        # A retried push must not quarantine the same record twice.
        Index("ix_sync_quarantine_dedupe", "device_id", "table_name", "record_id", "payload_hash"),
    )

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    device_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(10))  # created | updated | deleted
    record: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    payload_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(60))  # an i18n code, e.g. "sync.quarantine.field"
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)  # field names and codes only
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | applied | discarded
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    resolution_note: Mapped[str | None] = mapped_column(String(500), default=None)
