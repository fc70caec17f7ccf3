"""What the server believes each phone holds (see sync/README.md, "What the server remembers").

Invariant: for every cursor a phone may present, the union of the versions covering that cursor
holds every id the phone may hold there (a superset: deleting an unknown id is a no-op on the
phone, but an id missing here could never be purged), and every id the phone may lack or hold in
another form is also in `recheck` (so that the superset never stops a record from being sent).
Versions are only ever added to or merged, never replaced; a version is dropped only when no
request the phone can still apply can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from domain.access import Principal
from domain.models import SyncDeviceState, SyncManifestVersion
from sync.schema import TABLE_NAMES

MAX_VERSIONS = 8  # beyond this, the oldest versions are merged into one (a superset, re-checked)
KEEP_STALE = 4  # versions no live request can use, kept so that a late duplicate is still placed


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

    @classmethod
    def of(cls, version: SyncManifestVersion) -> Manifest:
        return cls.load(version.held, version.recheck)

    def dump_held(self) -> dict[str, list[str]]:
        return _dump(self.held)

    def dump_recheck(self) -> dict[str, list[str]]:
        return _dump(self.recheck)

    @classmethod
    def combine(cls, manifests: Sequence[Manifest]) -> Manifest:
        """The phone holds one of these: everything any of them holds, and a recheck of every id
        on which they differ."""
        out = cls()
        if not manifests:
            return out
        for t in TABLE_NAMES:
            union: set[str] = set().union(*(m.held[t] for m in manifests))
            common: set[str] = set(manifests[0].held[t]).intersection(*(m.held[t] for m in manifests[1:]))
            out.held[t] = union
            out.recheck[t] = set().union(*(m.recheck[t] for m in manifests)) | (union - common)
        return out


async def load_state(session: AsyncSession, principal: Principal) -> SyncDeviceState:
    """The device's state row, locked for this transaction (PostgreSQL; SQLite serialises every
    transaction) and created on first use. Every pull and push of one phone takes it first, so
    they run one at a time, in one lock order."""
    assert principal.device_id is not None
    stmt = _STATE_LOCKED if session.get_bind().dialect.name == "postgresql" else _STATE
    params = {"device_id": principal.device_id}
    state = await session.scalar(stmt, params)
    if state is not None:
        return state
    state = SyncDeviceState(
        device_id=principal.device_id, org_id=principal.org_id, user_id=principal.user_id, cursor_floor=0
    )
    try:
        async with session.begin_nested():
            session.add(state)
            await session.flush()
    except IntegrityError:  # a concurrent first request of the same device created it
        state = await session.scalar(stmt.execution_options(populate_existing=True), params)
        assert state is not None
    return state


async def load_versions(
    session: AsyncSession, device_id: str, *, with_held: bool = False
) -> list[SyncManifestVersion]:
    """All versions of one device; `held` (big) is read only when asked for."""
    stmt = _VERSIONS if with_held else _VERSIONS_WITHOUT_HELD
    return list((await session.scalars(stmt, {"device_id": device_id})).all())


# Every pull and push runs these: built once, the device a bound parameter (a reused statement
# keeps its SQLAlchemy cache key instead of building and hashing it again).
_STATE = select(SyncDeviceState).where(
    SyncDeviceState.device_id == bindparam("device_id", type_=SyncDeviceState.device_id.type)
)
_STATE_LOCKED = _STATE.with_for_update()
_VERSIONS = (
    select(SyncManifestVersion)
    .where(SyncManifestVersion.device_id == bindparam("device_id", type_=SyncManifestVersion.device_id.type))
    .order_by(SyncManifestVersion.lo, SyncManifestVersion.created_at, SyncManifestVersion.id)
    .execution_options(populate_existing=True)
)
_VERSIONS_WITHOUT_HELD = _VERSIONS.options(defer(SyncManifestVersion.held))


def covering(versions: Sequence[SyncManifestVersion], cursor: int) -> list[SyncManifestVersion]:
    return [v for v in versions if v.lo <= cursor <= v.hi]


async def load_held(session: AsyncSession, versions: Sequence[SyncManifestVersion]) -> None:
    for version in versions:
        await session.refresh(version, attribute_names=["held"])


async def add_version(
    session: AsyncSession,
    state: SyncDeviceState,
    versions: Sequence[SyncManifestVersion],
    *,
    base: int,
    at: int,
    key: str,
    held: Manifest,
) -> None:
    """Remember an answer at position `at`. Another answer at exactly that position (a duplicated
    or concurrent request) is merged into one version — their union, differences re-checked — so
    that the next pull from `at` reads one version, and none at all when nothing changes."""
    same = next((v for v in versions if v.lo == v.hi == at and v.scope_key == key), None)
    if same is None:
        session.add(
            SyncManifestVersion(
                org_id=state.org_id,
                device_id=state.device_id,
                base=base,
                lo=at,
                hi=at,
                scope_key=key,
                held=held.dump_held(),
                recheck=held.dump_recheck(),
            )
        )
        return
    await load_held(session, [same])
    merged = Manifest.combine([Manifest.of(same), held])
    same.base = max(same.base, base)  # live while any request it answered can still be applied
    same.held, same.recheck = merged.dump_held(), merged.dump_recheck()


async def widen(session: AsyncSession, versions: Sequence[SyncManifestVersion], to: int) -> None:
    """Nothing changed for the phone between its cursor and `to`: what it holds at its cursor it
    also holds at `to`. Done in SQL so that the (possibly large) manifests are neither read nor
    rewritten."""
    ids = [v.id for v in versions if v.hi < to]
    if ids:
        await session.execute(
            update(SyncManifestVersion)
            .where(SyncManifestVersion.id.in_(ids))
            .values(hi=to)
            .execution_options(synchronize_session=False)
        )


async def remember_pushed(
    session: AsyncSession, state: SyncDeviceState, pushed: dict[str, set[str]], refused: dict[str, set[str]]
) -> None:
    """The phone may hold what it pushed, whichever answer it has applied: added to every
    version, and re-checked, because a push can be a late duplicate that arrives after the phone
    lost those records (their resident left its scope; it may be back by now). Re-checking costs
    nothing for records the push changed (their new feed position sends them on the next pull
    anyway) and resends a retried no-op once; trusting the push would stop a note that came back
    into scope from ever being sent again. Refused records are re-checked likewise."""
    if not any(pushed.values()) and not any(refused.values()):
        return
    for version in await load_versions(session, state.device_id, with_held=True):
        m = Manifest.of(version)
        for table in TABLE_NAMES:
            ids = pushed.get(table, set()) | refused.get(table, set())
            m.held[table] |= ids
            m.recheck[table] |= ids
        version.held, version.recheck = m.dump_held(), m.dump_recheck()


async def collect_garbage(session: AsyncSession, state: SyncDeviceState, since: int, *, added: bool) -> None:
    """The phone presented `since` (a cursor the server placed), so it holds an answer at `since`
    or later: an answer to a request made from below `since` can never be applied any more, and
    a version that neither covers `since` nor was made for a request from `since` or later is
    stale. A couple of stale versions are kept for late duplicates; beyond MAX_VERSIONS the
    oldest live ones are merged (a superset with its differences re-checked: still correct)."""
    if since <= state.cursor_floor and not added:
        return  # the same floor and no new version: nothing became stale (a no-op pull stays cheap)
    state.cursor_floor = max(state.cursor_floor, since)
    floor = state.cursor_floor
    versions = await load_versions(session, state.device_id)
    stale = [v for v in versions if v.base < floor and not (v.lo <= floor <= v.hi)]
    live = [v for v in versions if v not in stale]
    drop = stale[: max(0, len(stale) - KEEP_STALE)]
    if drop:
        await session.execute(
            delete(SyncManifestVersion).where(SyncManifestVersion.id.in_([v.id for v in drop]))
        )
    if len(live) > MAX_VERSIONS:
        oldest = live[: len(live) - MAX_VERSIONS + 1]
        await load_held(session, oldest)
        merged = Manifest.combine([Manifest.of(v) for v in oldest])
        keep = oldest[0]
        keep.base = max(v.base for v in oldest)  # live while any of them is
        keep.lo, keep.hi = min(v.lo for v in oldest), max(v.hi for v in oldest)
        keep.scope_key = keep.scope_key if all(v.scope_key == keep.scope_key for v in oldest) else ""
        keep.held, keep.recheck = merged.dump_held(), merged.dump_recheck()
        await session.execute(
            delete(SyncManifestVersion).where(SyncManifestVersion.id.in_([v.id for v in oldest[1:]]))
        )
