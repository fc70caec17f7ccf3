"""Per-device knowledge of what the phone holds (see `SyncDeviceState`).

A manifest may hold ids the phone no longer has (harmless: deleting an unknown id is a no-op on the
phone) but must never miss one it has — a missing id could never be purged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from domain.access import Principal
from domain.models import SyncDeviceState
from sync.schema import TABLE_NAMES


def _empty() -> dict[str, set[str]]:
    return {t: set() for t in TABLE_NAMES}


def _load(data: dict[str, Any] | None) -> dict[str, set[str]]:
    out = _empty()
    for table, ids in (data or {}).items():
        if table in out:
            out[table] = set(ids)
    return out


def _dump(sets: dict[str, set[str]]) -> dict[str, list[str]]:
    return {t: sorted(ids) for t, ids in sets.items() if ids}


@dataclass
class Manifest:
    held: dict[str, set[str]] = field(default_factory=_empty)
    recheck: dict[str, set[str]] = field(default_factory=_empty)

    @classmethod
    def load(cls, held: dict[str, Any] | None, recheck: dict[str, Any] | None) -> Manifest:
        return cls(_load(held), _load(recheck))

    def dump_held(self) -> dict[str, list[str]]:
        return _dump(self.held)

    def dump_recheck(self) -> dict[str, list[str]]:
        return _dump(self.recheck)

    def union(self, other: Manifest) -> Manifest:
        return Manifest(
            {t: self.held[t] | other.held[t] for t in TABLE_NAMES},
            {t: self.recheck[t] | other.recheck[t] for t in TABLE_NAMES},
        )


async def load_state(session: AsyncSession, principal: Principal, *, light: bool = False) -> SyncDeviceState:
    """The device's state row, locked for this transaction (PostgreSQL) and created on first use.
    `light` leaves the big manifests unread until `load_manifests` (a no-op pull never reads them)."""
    assert principal.device_id is not None
    stmt = select(SyncDeviceState).where(SyncDeviceState.device_id == principal.device_id)
    if light:
        stmt = stmt.options(defer(SyncDeviceState.manifest), defer(SyncDeviceState.pending))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    state = await session.scalar(stmt)
    if state is not None:
        return state
    state = SyncDeviceState(device_id=principal.device_id, org_id=principal.org_id, user_id=principal.user_id,
                            manifest={}, manifest_recheck={}, manifest_from=-1, manifest_at=-1,
                            pending_recheck={})  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(state)
            await session.flush()
    except IntegrityError:  # a concurrent first request of the same device created it
        state = await session.scalar(stmt.execution_options(populate_existing=True))
        assert state is not None
    return state


def remember_pushed(state: SyncDeviceState, table: str, ids: set[str], *, recheck: bool) -> None:
    """The phone holds what it pushed, whichever pull response it has seen; `recheck` makes the
    next pull re-send the server's version (or purge it) — used for refused records."""
    if not ids:
        return
    versions = [("manifest", "manifest_recheck")]
    if state.pending is not None:
        versions.append(("pending", "pending_recheck"))
    for held_attr, recheck_attr in versions:
        m = Manifest.load(getattr(state, held_attr), getattr(state, recheck_attr))
        m.held[table] |= ids
        if recheck:
            m.recheck[table] |= ids
        setattr(state, held_attr, m.dump_held())
        setattr(state, recheck_attr, m.dump_recheck())


async def load_manifests(session: AsyncSession, state: SyncDeviceState) -> None:
    await session.refresh(state, attribute_names=["manifest", "pending"])
