from __future__ import annotations

from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, IdMixin, OrgMixin, TimestampMixin


class Organisation(IdMixin, TimestampMixin, Base):
    """A tenant: one municipality or social welfare council. Its own id is every row's org_id."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    # Quiet hours (local time, "HH:MM"), escalation deadlines, contact-gap limits and plan defaults
    # per risk level; see domain.org_settings for the defaults and their meaning.
    settings: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class District(IdMixin, OrgMixin, TimestampMixin, Base):
    """地区: a named area of an organisation."""

    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32), default=None)


class UserDistrict(OrgMixin, Base):
    """The districts a commissioner or coordinator holds."""

    __tablename__ = "user_districts"

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), primary_key=True)
    district_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("districts.id"), primary_key=True, index=True
    )
