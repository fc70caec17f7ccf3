from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, IdMixin, OrgMixin, TimestampMixin
from domain.enums import Role


class User(IdMixin, OrgMixin, TimestampMixin, Base):
    __tablename__ = "users"

    login: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    # Activation: a coordinator hands over a short one-time code; only its hash is stored.
    activation_code_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    activation_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    is_demo: Mapped[bool] = mapped_column(default=False)


class Device(IdMixin, OrgMixin, TimestampMixin, Base):
    """A user's phone. `client_id` is the id the app sends at login."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(100), default=None)
    app_version: Mapped[str | None] = mapped_column(String(40), default=None)
    push_token: Mapped[str | None] = mapped_column(String(4096), default=None)
    push_token_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Access tokens issued before this moment no longer work (sign-out).
    signed_out_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)


class RefreshToken(IdMixin, OrgMixin, Base):
    """One refresh token of a device session. Rotation chains tokens in a family; reusing a used
    token revokes the whole family (the token was stolen or replayed)."""

    __tablename__ = "refresh_tokens"

    device_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("devices.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    family_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the chain began (the sign-in): refresh stops past an absolute lifetime however often it
    # rotates. None only on rows from before migration 0005 (their issued_at stands in).
    session_started_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginThrottle(Base):
    """Failed-login counters per account, per client address and per account-and-address (keys are
    hashed; no org: the account may not exist). Each further failure slows the next attempt."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_window", "window_start"),)

    key_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(default=None)
