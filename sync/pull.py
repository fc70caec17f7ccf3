"""`pullChanges`: what changed for this phone since its cursor, within its scope.

Steps: take the organisation's feed watermark W in its own short transaction (it waits for writers
still in flight, see `domain.feed`), then compare what the phone may hold at its cursor (the union
of the manifest versions covering it, `sync.manifest`; sync/README.md states the invariant) with
its scope now:

* in scope and (changed after the cursor, or not held, or to recheck) → sent whole;
* held (or to recheck) and no longer in scope, or gone from the server → `deleted`.

Only rows that changed after the cursor and rows of residents whose scope changed are examined,
unless the scope itself moved (another day: horizons; other districts or role; another schema
version; an unknown cursor): then the whole scope is compared with the manifest. A no-op pull is
answered by `_unchanged`: after the watermark, one SELECT (index probes on `(org_id, feed_seq)`,
the device's state row and covering version, never the manifest's ids) decides it, and it writes
only what the full comparison's no-op branch writes, `last_sync_at` at most every few seconds.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit, autocommit, feed
from domain.access import Principal
from domain.autocommit import end_autocommit, in_autocommit
from domain.clock import local_midnight, utcnow
from domain.enums import Role
from domain.errors import Unauthorized
from domain.metrics import SYNC_FULL_RESENDS, SYNC_PULLS, SYNC_RECORDS_SENT
from domain.models import (
    Assignment,
    Consent,
    Device,
    LegalBasisRecord,
    Resident,
    SyncDeviceState,
    SyncManifestVersion,
)
from sync import records, schema
from sync.manifest import (
    KEEP_STALE,
    MAX_VERSIONS,
    Manifest,
    add_version,
    collect_garbage,
    covering,
    load_held,
    load_state,
    load_versions,
    widen,
)
from sync.records import SYNC_TABLES, Encoder

log = structlog.get_logger("mimamori.sync")
# Process-local figures read by the fault-injection tests and the benchmark.
FIGURES: Counter[str] = Counter()
MAX_TARGETED_RESIDENTS = 2000  # beyond this many residents changing scope, compare the whole scope
# A no-op pull refreshes the device's `last_sync_at` only when the stored value is at least this
# old: a phone retrying in a loop costs a write every few seconds, not one per pull. Kept short:
# missed-contact alerts say whether the phone synced after the visit window closed, and a pull
# just after the close must count (a minute here hid exactly those).
LAST_SYNC_REFRESH_SECONDS = 5


@dataclass(frozen=True)
class MigrationSpec:
    from_version: int
    tables: frozenset[str] = frozenset()
    columns: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PullParams:
    last_pulled_at: int
    schema_version: int = schema.LATEST_VERSION
    migration: MigrationSpec | None = None


def scope_key(principal: Principal, version: int, now: datetime) -> str:
    """What the scope depends on besides feed rows: role, districts, the organisation's calendar
    day (horizons, consent expiry), schema."""
    return _scope_key(
        principal.role,
        principal.user_id,
        principal.district_ids,
        principal.timezone,
        principal.today(now),
        version,
    )


@functools.lru_cache(maxsize=4096)
def _scope_key(
    role: Role, user_id: str, district_ids: frozenset[str], timezone: str, day: date, version: int
) -> str:
    # A pure function of its arguments (every request reads them afresh): memoised, since a
    # phone pulling every few seconds asks the same all day.
    districts = hashlib.sha256(",".join(sorted(district_ids)).encode()).hexdigest()[:16]
    return f"{role}|{user_id}|{districts}|{timezone}|{day.isoformat()}|v{version}"


def scope_moment(principal: Principal, now: datetime) -> datetime:
    """Horizons move once a day, at the organisation's local midnight, so that the scope is stable
    within its day (and consent expiring yesterday, locally, is out of it)."""
    return local_midnight(principal.zone, now)


async def pull(session: AsyncSession, principal: Principal, params: PullParams) -> dict[str, Any]:
    if principal.device_id is None:
        raise Unauthorized("error.sync.no_device")
    # Taken holding nothing afterwards (see `feed.watermark`): the reads below see every position
    # up to it; authentication's transaction, if any, goes on (READ COMMITTED).
    watermark = await feed.watermark(session, principal.org_id)
    outcome = _NoOp.NEEDS_WRITES
    if await in_autocommit(session):
        # The route starts in autocommit (`AUTOCOMMIT_START`, PostgreSQL): the usual no-op pull,
        # which writes nothing, is decided and answered by one statement without BEGIN/COMMIT.
        # Anything else ends the autocommit unit and goes on as before, in a transaction.
        outcome = await _unchanged(session, principal, params, watermark, may_write=False)
        if outcome is not _NoOp.ANSWERED:
            await end_autocommit(session)
        # else nothing follows: the request's own commit, as the response starts, ends the unit
        # (one commit, not two; the connection is held for the response's encoding, no longer).
    if outcome is _NoOp.NEEDS_WRITES:
        outcome = await _unchanged(session, principal, params, watermark)
    if outcome is _NoOp.ANSWERED:
        return _response({}, watermark, params.schema_version)
    result = await _compute(session, principal, params, watermark)
    if result is None:
        # Something must be sent but the feed has not moved past the phone's cursor (or is empty):
        # a new position, so that the phone's next cursor names this response and no other.
        await feed.next_position(session, principal.org_id)
        await session.commit()
        watermark = await feed.watermark(session, principal.org_id)
        result = await _compute(session, principal, params, watermark)
        assert result is not None
    return result


class _NoOp(enum.Enum):
    ANSWERED = "answered"  # the empty answer at the watermark, its writes (if any) committed
    NEEDS_WRITES = "needs_writes"  # the empty answer, but only after writes (`may_write=False`)
    NO = "no"  # the full comparison decides


async def _unchanged(
    session: AsyncSession, principal: Principal, params: PullParams, watermark: int, *, may_write: bool = True
) -> _NoOp:
    """The no-op pull's fast path: one SELECT decides, from the very inputs by which `_compute`
    finds that nothing changed, and then writes only what that branch writes (the covering
    version widened to the watermark, a raised floor) and `last_sync_at` when it is old. ANSWERED
    when the phone's answer is the empty one at `watermark`; anything else (a first sync, a
    migration, a cursor no version or several versions cover, another scope, a re-check pending,
    any feed row of the organisation that can reach the phone after the cursor, garbage to drop
    or merge) is NO and takes `_compute` untouched. A false ANSWERED would be a change the
    phone never receives: every condition errs towards NO.

    With `may_write=False` (outside a transaction: the row lock is released as the SELECT ends)
    nothing is written: a pull that would write is NEEDS_WRITES, and is decided again, afresh,
    in a transaction holding the lock. One that writes nothing needs no lock held: the same
    SELECT at the same moment gives the same answer, and nothing of it is kept."""
    since = params.last_pulled_at
    if since <= 0 or params.migration is not None or watermark <= 0 or since > watermark:
        return _NoOp.NO
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = _unchanged_statement(params.schema_version, postgres)
    binds = {"device_id": principal.device_id, "org_id": principal.org_id, "since": since}
    asyncpg = autocommit.driver(session)
    if asyncpg is not None:  # the route's autocommit unit: straight to the driver (domain/autocommit.py)
        rows = await autocommit.fetch(asyncpg, stmt, session.get_bind().dialect, binds)
    else:  # on the session's connection: plain rows, without the ORM's result setup per pull
        rows = list((await (await session.connection()).execute(stmt, binds)).all())
    if len(rows) != 1:  # no state yet, locked by another request, or several covering versions
        return _NoOp.NO
    row = rows[0]
    now = utcnow()
    if (
        row.version_id is None
        or row.changed
        or any((row.recheck or {}).values())
        or row.scope_key != scope_key(principal, params.schema_version, now)
    ):
        return _NoOp.NO
    raise_floor = since > row.cursor_floor
    if raise_floor and (row.stale > KEEP_STALE or row.versions - row.stale > MAX_VERSIONS):
        return _NoOp.NO  # `collect_garbage` would drop or merge versions: the slow path does it
    widen = row.hi < watermark
    touch = row.last_sync_at is None or (now - row.last_sync_at).total_seconds() >= LAST_SYNC_REFRESH_SECONDS
    if not may_write:
        return _NoOp.NEEDS_WRITES if widen or raise_floor or touch else _answered()
    if widen:  # `widen`
        await session.execute(
            update(SyncManifestVersion)
            .where(SyncManifestVersion.id == row.version_id)
            .values(hi=watermark)
            .execution_options(synchronize_session=False)
        )
    if raise_floor:  # `collect_garbage` with nothing stale to drop and nothing to merge
        await session.execute(
            update(SyncDeviceState)
            .where(SyncDeviceState.device_id == principal.device_id)
            .values(cursor_floor=since)
            .execution_options(synchronize_session=False)
        )
    if touch:
        await touch_device(session, principal, now)
    await session.commit()
    return _answered()


def _answered() -> _NoOp:
    FIGURES["unchanged_pulls"] += 1
    return _NoOp.ANSWERED


@functools.cache
def _unchanged_statement(version: int, postgres: bool) -> Select[Any]:
    """The device's state row (locked, as `load_state` locks it), joined to the versions covering
    the cursor (one row each), with: whether any feed row the phone's scope depends on (its schema's
    tables, consents, legal bases, assignments — `_feed_heads`) moved past the cursor, the
    version counts `collect_garbage` would judge, and the device's `last_sync_at`. Built once per
    schema version and dialect (a reused statement keeps its SQLAlchemy cache key)."""
    device_id = bindparam("device_id", type_=String)
    org_id = bindparam("org_id", type_=String)
    since = bindparam("since", type_=SyncManifestVersion.lo.type)
    names, _ = _feed_heads_statement(version)
    models = {name: t.model for name, t in SYNC_TABLES.items() if name in schema.tables(version)} | {
        "consents": Consent,
        "legal_bases": LegalBasisRecord,
        "assignments": Assignment,
    }
    assert tuple(models) == names  # the same tables as the slow path's heads
    changed = or_(false(), *(exists().where(m.org_id == org_id, m.feed_seq > since) for m in models.values()))
    v = SyncManifestVersion
    mine = v.device_id == device_id
    covers = and_(v.lo <= since, v.hi >= since)
    stale = select(func.count()).where(mine, v.base < since, ~covers).scalar_subquery()
    total = select(func.count()).where(mine).scalar_subquery()
    last_sync = select(Device.last_sync_at).where(Device.id == device_id).scalar_subquery()
    stmt = (
        select(
            SyncDeviceState.cursor_floor,
            v.id.label("version_id"),
            v.hi,
            v.scope_key,
            v.recheck,
            stale.label("stale"),
            total.label("versions"),
            last_sync.label("last_sync_at"),
            changed.label("changed"),
        )
        .select_from(SyncDeviceState)
        .outerjoin(v, and_(v.device_id == SyncDeviceState.device_id, covers))
        .where(SyncDeviceState.device_id == device_id)
    )
    # SKIP LOCKED: while a push or pull of the same phone holds the row, its changes (a re-check
    # added by a push) may commit after this statement's snapshot: no row, and the full
    # comparison waits for the lock and reads afresh.
    return stmt.with_for_update(of=SyncDeviceState, skip_locked=True) if postgres else stmt


@dataclass
class _Diff:
    updated: list[dict[str, Any]] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    new_held: set[str] = field(default_factory=set)


async def _compute(
    session: AsyncSession, principal: Principal, params: PullParams, watermark: int
) -> dict[str, Any] | None:
    now = utcnow()
    moment = scope_moment(principal, now)
    since = params.last_pulled_at
    custom_plans = _CustomPlans(session)  # one transaction: `_compute` ends it
    key = scope_key(principal, params.schema_version, now)
    state = await load_state(session, principal)
    versions = await load_versions(session, state.device_id)

    # Which versions describe the phone at its cursor: none on a first sync; those covering the
    # cursor; for a cursor the server cannot place, everything it may still hold (all resent).
    using = [] if since == 0 else covering(versions, since)
    if since == 0:
        mode, base_key = "first", key
    elif using:
        keys = {v.scope_key for v in using}
        mode, base_key = "known", (keys.pop() if len(keys) == 1 else "")
    else:
        mode, base_key, using = "unknown", "", versions
    full = mode in ("first", "unknown") or base_key != key
    forced = _forced_tables(params)
    # The roles the phone's rows were sent under (a role change moves the scope key, so `full`).
    held_roles = {v.scope_key.partition("|")[0] for v in using} if mode == "known" else set()

    resident_scope_changes: set[str] = set()
    base: Manifest | None = None
    if not full:
        if len(using) > 1:  # their differences are rechecked: read them now
            base = await _combined(session, using)
        base_recheck = base.recheck if base is not None else Manifest.load(None, using[0].recheck).recheck
        heads = await _feed_heads(session, principal, params.schema_version)
        candidates = set(base_recheck["residents"])
        if max(heads["residents"], heads["consents"], heads["legal_bases"], heads["assignments"]) > since:
            await custom_plans()
            candidates |= await _changed_resident_ids(session, principal, since)
        nothing_changed = (
            not candidates
            and not forced
            and not any(base_recheck.values())
            and all(head <= since for head in heads.values())
        )
        if nothing_changed:
            if watermark <= 0:
                return None
            await widen(session, using, watermark)
            await collect_garbage(session, state, since, added=False)
            await touch_device(session, principal, now)
            await session.commit()
            return _response({}, watermark, params.schema_version)
        if base is None:
            base = await _combined(session, using)
        await custom_plans()
        resident_scope_changes = await _residents_changing_scope(
            session, principal, moment, candidates, base.held["residents"]
        )
        if len(resident_scope_changes) > MAX_TARGETED_RESIDENTS:
            full = True
    else:
        base = await _combined(session, using)

    await custom_plans()
    diffs: dict[str, _Diff] = {}
    phone_tables = schema.tables(params.schema_version)
    for name, table in SYNC_TABLES.items():
        if name not in phone_tables:
            # The phone's schema has no such table: nothing is sent, and what the versions say it
            # may hold is kept (a superset stays correct).
            diffs[name] = _Diff(new_held=set(base.held[name]))
            continue
        columns = table.wire_columns(principal, params.schema_version)
        encoder = Encoder(table, columns)
        held = base.held[name]
        recheck = base.recheck[name]
        # Rows held under another role were sent with that role's columns: every one in scope is
        # sent again (not only the changed ones), and a column this role may not see goes as null
        # (WatermelonDB keeps a local column the server leaves out). A cursor the server cannot
        # place may hide any role: the same.
        rerole = mode == "unknown" or _columns_moved(table, principal, params.schema_version, held_roles)
        if mode == "first":
            diff = await _first(session, principal, moment, table, encoder)
        elif full:
            diff = await _full(session, principal, moment, table, encoder, since, held, recheck, rerole)
        else:
            diff = await _incremental(
                session, principal, moment, table, encoder, since, held, recheck, resident_scope_changes
            )
        if name in forced:
            await _add_forced(session, principal, moment, table, encoder, forced[name], diff)
        if rerole and diff.updated:
            blank = dict.fromkeys(_hidden_columns(table, columns, params.schema_version))
            for record in diff.updated:
                record.update(blank)
        diffs[name] = diff

    changed = any(d.updated or d.deleted for d in diffs.values())
    cleared_recheck = any(base.recheck.values())
    # The same rows under another scope key (a new local day, another time zone or schema): kept
    # as a version under the new key, else every later pull of the phone would compare in full
    # again until something changed for it (and never take the no-op fast path).
    rescoped = mode == "known" and base_key != key
    # An answer that changes something must name a position of its own (a cursor from beyond the
    # watermark was never handed out: it is answered at the watermark, like any unknown cursor).
    if (changed or cleared_recheck or rescoped or mode in ("first", "unknown")) and watermark == since:
        await session.rollback()
        return None
    if watermark <= 0:
        await session.rollback()
        return None

    if not changed and not cleared_recheck and not rescoped and mode == "known":
        await widen(session, using, watermark)  # the versions at the cursor also describe the answer
    else:
        # A new version for the answer's timestamp, merged with (never replacing) any other.
        await add_version(
            session,
            state,
            versions,
            base=since,
            at=watermark,
            key=key,
            held=Manifest({n: d.new_held for n, d in diffs.items()}),
        )
    if mode == "first":
        state.cursor_floor = 0  # a new install (or a stale first request): nothing is stale yet
    # Only a placed cursor raises the floor; in every mode the number of versions stays bounded.
    await collect_garbage(session, state, since if mode == "known" else 0, added=True)
    sent = {n: len(d.updated) for n, d in diffs.items() if d.updated}
    if sent:  # who received which personal data: table names and counts, never values
        audit.record(session, principal, "sync.pull", "sync", fields=sorted(sent), records=sent)
    if mode == "unknown":
        # Below the floor: a late duplicate of a request the phone has moved past (its answer
        # cannot be applied any more). Otherwise a cursor the server truly cannot place.
        reason = "stale_cursor" if since < state.cursor_floor else "unknown_cursor"
        FIGURES["stale_full_resends" if reason == "stale_cursor" else "full_resends"] += 1
        log.info("sync_full_resend", reason=reason, records=sum(sent.values()))
    await touch_device(session, principal, now)
    await session.commit()
    _count(mode, sent, reason if mode == "unknown" else None)
    return _response(diffs, watermark, params.schema_version)


class _CustomPlans:
    """Before the first `feed_seq > :since` read of a transaction (PostgreSQL): prepared
    statements turn generic after a few runs, and a generic plan cannot see that `feed_seq >
    :since` matches a handful of rows and may scan the town instead. A no-op pull reads nothing
    of the kind (index `max()`es, the device's rows) and never pays this round trip."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.done = session.get_bind().dialect.name != "postgresql"

    async def __call__(self) -> None:
        if not self.done:
            await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            self.done = True


def _count(mode: str, sent: dict[str, int], resend_reason: str | None) -> None:
    """Metrics of one answered pull (counted once committed): mode, records per table, resends."""
    SYNC_PULLS.labels(mode).inc()
    for table, count in sent.items():
        SYNC_RECORDS_SENT.labels(table).inc(count)
    if resend_reason is not None:
        SYNC_FULL_RESENDS.labels(resend_reason).inc()


async def _combined(session: AsyncSession, versions: list[SyncManifestVersion]) -> Manifest:
    await load_held(session, versions)
    return Manifest.combine([Manifest.of(v) for v in versions])


async def touch_device(session: AsyncSession, principal: Principal, now: datetime) -> None:
    """Schedules reads `last_sync_at` to tell "not contacted" from "not reported yet"."""
    await session.execute(update(Device).where(Device.id == principal.device_id).values(last_sync_at=now))


def _response(diffs: dict[str, _Diff], watermark: int, version: int) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in schema.tables(version):  # an older app never hears of a newer table
        d = diffs.get(name) or _Diff()
        changes[name] = {"created": [], "updated": d.updated, "deleted": sorted(d.deleted)}
    return {"changes": changes, "timestamp": watermark}


async def _feed_heads(session: AsyncSession, principal: Principal, version: int) -> dict[str, int]:
    """The highest feed position of each table that can change this phone's data (its schema's
    tables), in one round trip. `max()` on the `(org_id, feed_seq)` indexes reads one index entry
    per table, whatever the plan and however big the town."""
    names, stmt = _feed_heads_statement(version)
    row = (await session.execute(stmt, {"org_id": principal.org_id})).one()
    return {name: int(value) for name, value in zip(names, row, strict=True)}


@functools.cache
def _feed_heads_statement(version: int) -> tuple[tuple[str, ...], Select[Any]]:
    """Built once per schema version, the organisation a bound parameter: every no-op pull runs
    it, and building it (a scalar subquery per table) and its cache key cost more than running
    it. One statement object reused keeps its cache key (SQLAlchemy memoises it on the object)."""
    phone_tables = schema.tables(version)
    models = {name: t.model for name, t in SYNC_TABLES.items() if name in phone_tables} | {
        "consents": Consent,
        "legal_bases": LegalBasisRecord,
        "assignments": Assignment,
    }
    org_id = bindparam("org_id", type_=String)
    heads = [
        select(func.coalesce(func.max(m.feed_seq), 0)).where(m.org_id == org_id).scalar_subquery().label(n)
        for n, m in models.items()
    ]
    return tuple(models), select(*heads)


async def _changed_resident_ids(session: AsyncSession, principal: Principal, since: int) -> set[str]:
    """Residents whose scope may have changed: their row, a consent, a legal basis, or this user's
    assignment."""
    org = principal.org_id
    parts = [
        select(Resident.id.label("rid")).where(Resident.org_id == org, Resident.feed_seq > since),
        select(Consent.resident_id.label("rid")).where(Consent.org_id == org, Consent.feed_seq > since),
        select(LegalBasisRecord.resident_id.label("rid")).where(
            LegalBasisRecord.org_id == org, LegalBasisRecord.feed_seq > since
        ),
    ]
    if principal.role != Role.COORDINATOR:
        parts.append(
            select(Assignment.resident_id.label("rid")).where(
                Assignment.org_id == org, Assignment.feed_seq > since, Assignment.user_id == principal.user_id
            )
        )
    return set((await session.scalars(union_all(*parts))).all())


async def _residents_changing_scope(
    session: AsyncSession, principal: Principal, moment: datetime, candidates: set[str], held: set[str]
) -> set[str]:
    """Of the candidate residents, those whose related rows must be re-examined: those entering or
    leaving scope, and for commissioners every changed one they hold (a district change decides
    which restricted notes they may hold)."""
    if not candidates:
        return set()
    in_scope: set[str] = set()
    table = SYNC_TABLES["residents"]
    for batch in records.chunks(sorted(candidates)):
        stmt = records.scoped_select(table, principal, moment, [Resident.id]).where(Resident.id.in_(batch))
        in_scope |= set((await session.scalars(stmt)).all())
    if principal.role == Role.COMMISSIONER:
        return candidates & (in_scope | held)
    return {r for r in candidates if (r in in_scope) != (r in held)}


async def _first(
    session: AsyncSession, principal: Principal, moment: datetime, table: records.SyncTable, encoder: Encoder
) -> _Diff:
    rows = await records.fetch_records(session, table, principal, moment, encoder)
    # Under `updated`, first syncs too: with `sendCreatedAsUpdated: true` WatermelonDB reports
    # every record sent under `created` as a protocol error.
    diff = _Diff(updated=[r for r, _ in rows])
    diff.new_held = {r["id"] for r in diff.updated}
    return diff


async def _full(
    session: AsyncSession,
    principal: Principal,
    moment: datetime,
    table: records.SyncTable,
    encoder: Encoder,
    since: int,
    held: set[str],
    recheck: set[str],
    resend_all: bool,
) -> _Diff:
    in_scope = await records.scope_ids(session, table, principal, moment)
    send = {i for i, seq in in_scope.items() if resend_all or seq > since or i not in held or i in recheck}
    rows = await records.fetch_records_by_id(session, table, principal, moment, encoder, sorted(send))
    diff = _Diff(updated=[r for r, _ in rows])
    diff.deleted = (held | recheck) - in_scope.keys()
    diff.new_held = (held - diff.deleted) | {r["id"] for r in diff.updated}
    return diff


def _columns_moved(
    table: records.SyncTable, principal: Principal, version: int, held_roles: set[str]
) -> bool:
    """Whether a role the phone's rows were sent under saw other columns of `table` than the
    principal's role does (a key the server cannot read: assume so)."""
    now = table.wire_columns(principal, version)
    for held_role in held_roles - {str(principal.role)}:
        try:
            role = Role(held_role)
        except ValueError:
            return True
        if table.wire_columns(replace(principal, role=role), version) != now:
            return True
    return False


def _hidden_columns(table: records.SyncTable, shown: list[schema.Column], version: int) -> list[str]:
    """Columns of the phone's schema for `table` that the principal's role is not sent."""
    names = {c.name for c in shown}
    return [c.name for c in schema.columns(table.name, version) if c.name not in names]


async def _incremental(
    session: AsyncSession,
    principal: Principal,
    moment: datetime,
    table: records.SyncTable,
    encoder: Encoder,
    since: int,
    held: set[str],
    recheck: set[str],
    residents: set[str],
) -> _Diff:
    clause = records.candidate_clause(table, principal, since, sorted(residents), sorted(recheck))
    rows = await records.fetch_records(session, table, principal, moment, encoder, clause)
    in_scope = {r["id"] for r, _ in rows}
    diff = _Diff(updated=[r for r, seq in rows if seq > since or r["id"] not in held or r["id"] in recheck])
    candidates = await records.candidate_ids(session, table, principal, clause)
    diff.deleted = ((candidates & held) | recheck) - in_scope
    diff.new_held = (held - diff.deleted) | {r["id"] for r in diff.updated}
    return diff


def _forced_tables(params: PullParams) -> dict[str, frozenset[str] | None]:
    """Migration sync: tables sent whole (None) or columns whose non-default values must be sent."""
    if params.migration is None:
        return {}
    out: dict[str, frozenset[str] | None] = {t: None for t in params.migration.tables}
    for table, cols in params.migration.columns.items():
        if table not in out:
            out[table] = cols
    return out


async def _add_forced(
    session: AsyncSession,
    principal: Principal,
    moment: datetime,
    table: records.SyncTable,
    encoder: Encoder,
    columns: frozenset[str] | None,
    diff: _Diff,
) -> None:
    already = {r["id"] for r in diff.updated}
    rows = await records.fetch_records(session, table, principal, moment, encoder)
    for record, _seq in rows:
        if record["id"] in already or record["id"] in diff.deleted:
            continue
        if columns is None or any(not records.is_default(record.get(c)) for c in columns):
            diff.updated.append(record)
            diff.new_held.add(record["id"])
