from __future__ import annotations

from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, OrgMixin, TimestampMixin


class SyncDeviceState(OrgMixin, TimestampMixin, Base):
    """What one phone holds, so that a pull can purge what left its scope and send whole what
    entered it without scanning the town.

    Two versions are kept because a pull's response can be lost: `manifest` is what the phone holds
    after a pull that returned a timestamp in [manifest_from, manifest_at]; `pending` is what it
    holds if it received the last response (timestamp `pending_at`). A pull with cursor
    `pending_at` confirms the pending version. A manifest is {table: [ids]}; its `*_recheck`
    companion ({table: [ids]}, small) lists records the next pull must re-send or purge (e.g. a
    refused edit the phone still shows). The big columns are read only when something changed.
    """

    __tablename__ = "sync_device_state"

    device_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("devices.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    scope_key: Mapped[str] = mapped_column(String(200), default="")
    manifest: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    manifest_recheck: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    manifest_from: Mapped[int] = mapped_column(BigInteger, default=0)
    manifest_at: Mapped[int] = mapped_column(BigInteger, default=0)
    pending: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    pending_recheck: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    pending_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pending_scope_key: Mapped[str | None] = mapped_column(String(200), default=None)
