from __future__ import annotations

from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, IdMixin, OrgMixin, TimestampMixin


class SyncDeviceState(OrgMixin, TimestampMixin, Base):
    """One row per phone: the lock that serialises its pulls and pushes (PostgreSQL), and the
    highest cursor it has presented (`cursor_floor`). A phone's cursor only moves forward (an
    unmodified WatermelonDB applies a pull's answer only while its cursor is still the one it sent),
    so manifest versions made for requests from below the floor can never be applied again."""

    __tablename__ = "sync_device_state"

    device_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("devices.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    cursor_floor: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncManifestVersion(IdMixin, OrgMixin, TimestampMixin, Base):
    """What a phone may hold at a cursor in [lo, hi], written when a pull answered a request made
    from cursor `base` (lo = hi = the answer's timestamp; a later no-op pull widens hi).

    Several versions may cover one cursor (duplicated or concurrent requests answered at the same
    position): the phone holds one of them, so the server takes their union (every deletion still
    reaches it) and re-checks the ids on which they differ. `held` is {table: [ids]}, a superset of
    what the phone holds; `recheck` ({table: [ids]}, small) lists held ids the phone may lack or
    hold in another form: the next pull re-sends them if in scope and purges them otherwise."""

    __tablename__ = "sync_manifest_versions"

    device_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("devices.id"), index=True)
    base: Mapped[int] = mapped_column(BigInteger)
    lo: Mapped[int] = mapped_column(BigInteger)
    hi: Mapped[int] = mapped_column(BigInteger)
    scope_key: Mapped[str] = mapped_column(String(200), default="")
    held: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    recheck: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
