from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, IdMixin, OrgMixin


class ConsoleSession(IdMixin, OrgMixin, Base):
    """A browser session of the coordinators' console (a cookie), apart from the phones' tokens.
    Only the hash of the cookie's secret is stored. It ends at sign-out, after being idle, at an
    absolute limit, and whenever all of the person's sessions end (password reset, deactivation)."""

    __tablename__ = "console_sessions"

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # absolute end, however active the session is
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
