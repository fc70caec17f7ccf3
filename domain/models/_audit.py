from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, IdMixin, OrgMixin


class AuditEvent(IdMixin, OrgMixin, Base):
    """Who read or changed which personal data, when, from which device. `detail` names fields,
    never their values."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org_at", "org_id", "at"),)

    at: Mapped[datetime]
    actor_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    device_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
