"""`pushChanges`: apply what a phone recorded, in one transaction, idempotently.

* Every pushed record is first judged (validation and permission, `domain.access`) without writing.
  A refused record goes to quarantine; the rest applies.
* A record that changed on the server after the phone's `last_pulled_at` and that the phone pushes
  with different values is a conflict: 409 for the whole push, nothing applied — the phone pulls,
  merges per column and pushes again. Pushing values the server already has is a no-op, never a
  conflict, so a retried push (lost response, killed app) changes nothing.
* `created` with an existing id updates it (same author only); `updated` with an unknown id
  creates it unless the server tombstoned it (409: the next pull carries the deletion); deleting an
  unknown id is a no-op.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts as alert_lifecycle
from domain import audit
from domain.access import (
    Principal,
    may_edit_note,
    may_handle_alerts,
    may_record_activities,
    visible_residents,
    visit_fields_phone_may_change,
    visit_status_phone_may_set,
)
from domain.clock import to_millis, utcnow
from domain.db import is_transient, sqlstate_of
from domain.enums import AlertStatus, VisitStatus
from domain.errors import Conflict, InvalidInput, RateLimited, Unauthorized
from domain.metrics import SYNC_PUSHES, SYNC_RECORDS_RECEIVED
from domain.models import CommissionerActivity, ContactNote, Organisation, QuarantinedRecord, Resident
from domain.org_settings import rules_for
from domain.settings import Settings
from schedules import ladder
from schedules.assignees import UNKNOWN_ASSIGNEE, assignee_problem
from sync import quarantine, schema
from sync.activities import read_activity
from sync.manifest import load_state, remember_pushed
from sync.notes import (
    NOTE_FIELDS,
    RECHECKED_FIELDS,
    check_visit,
    note_recorded,
    note_withdrawn,
    read_note,
    same,
)
from sync.pull import FIGURES, touch_device
from sync.records import SYNC_TABLES, chunks, scoped_select
from sync.validation import (
    PushedRecord,
    Refused,
    forbidden,
    invalid,
    read_time,
)

log = structlog.get_logger("mimamori.sync")
# Columns the server keeps itself: whatever a phone sends for them is ignored.
SERVER_MANAGED: dict[str, frozenset[str]] = {
    "residents": frozenset({"created_at", "updated_at", "last_contact_at"}),
    "visits": frozenset({"created_at", "updated_at", "fulfilled_by_note_id"}),
    "contact_notes": frozenset({"created_at", "updated_at", "author_id", "received_at"}),
    "alerts": frozenset({"created_at", "updated_at", "acknowledged_at", "acknowledged_by"}),
    "notifications": frozenset({"created_at", "updated_at"}),
}


@dataclass(frozen=True)
class PushParams:
    last_pulled_at: int
    schema_version: int = schema.LATEST_VERSION


class _Conflict(Exception):
    pass


Apply = Callable[[], Awaitable[None]]


@dataclass
class _Context:
    session: AsyncSession
    principal: Principal
    params: PushParams
    now: datetime
    rows: dict[tuple[str, str], Any] = field(default_factory=dict)
    visible: dict[str, bool] = field(default_factory=dict)
    notes_written: list[ContactNote] = field(default_factory=list)
    notes_withdrawn: list[ContactNote] = field(default_factory=list)  # deleted, or edited in time/outcome
    residents: dict[str, Resident] = field(default_factory=dict)  # held: the identity map is weak
    held: dict[str, set[str]] = field(default_factory=dict)  # per table: pushed ids the phone holds

    async def resident_visible(self, resident_id: str) -> bool:
        if resident_id not in self.visible:
            found = await self.session.scalar(
                select(Resident.id).where(Resident.id == resident_id, visible_residents(self.principal))
            )
            self.visible[resident_id] = found is not None
        return self.visible[resident_id]


RETRIES = 4  # attempts when PostgreSQL reports a deadlock or serialization failure


async def push(
    session: AsyncSession,
    principal: Principal,
    params: PushParams,
    pushed: list[PushedRecord],
    *,
    quarantine_per_hour: int = Settings.model_fields["sync_quarantine_per_device_hour"].default,
) -> dict[str, Any]:
    """Apply one push and commit it. Locks are taken in one order (the device's sync state, the
    residents concerned, then the pushed rows table by table, each in id order), so two pushes
    cannot deadlock each other; a deadlock or serialization failure that still happens (with
    other writers) is retried, and after the last attempt answered 409, never 500."""
    if principal.device_id is None:
        raise Unauthorized("error.sync.no_device")
    for attempt in range(1, RETRIES + 1):
        try:
            result = await _push_once(session, principal, params, pushed, quarantine_per_hour)
            await session.commit()
            SYNC_PUSHES.inc()
            for table, count in Counter(record.table for record in pushed).items():
                SYNC_RECORDS_RECEIVED.labels(table).inc(count)
            return result
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            await session.rollback()
            FIGURES["push_lock_retries"] += 1  # pushes alone never deadlock: the fault suite expects 0
            log.info("sync_push_retry", attempt=attempt, sqlstate=sqlstate_of(exc))
            if attempt == RETRIES:
                raise Conflict("error.sync.busy") from None
            await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


async def _push_once(
    session: AsyncSession,
    principal: Principal,
    params: PushParams,
    pushed: list[PushedRecord],
    quarantine_per_hour: int,
) -> dict[str, Any]:
    ctx = _Context(session, principal, params, utcnow())
    state = await load_state(session, principal)  # first: serialises this phone's pulls and pushes
    await _load_rows(ctx, pushed)
    await _prefetch_residents(ctx, pushed)
    await _lock_rows(ctx)

    plans: list[Apply] = []
    refused: list[tuple[PushedRecord, Refused]] = []
    conflicts: list[dict[str, str]] = []
    for record in pushed:
        if record.cut_fields:  # nested past what any app sends: held naming the field
            refused.append((record, invalid(record.cut_fields[0], "field.type")))
            continue
        try:
            plan = await _judge(ctx, record)
        except _Conflict:
            conflicts.append({"table": record.table, "id": record.id})
            continue
        except Refused as refusal:
            refused.append((record, refusal))
            continue
        if plan is not None:
            plans.append(plan)
    if conflicts:
        await session.rollback()  # nothing of this push is applied
        raise Conflict("error.sync.conflict", extra={"conflicts": conflicts})
    # Refusals already held (a retried push) are not held, counted or told twice; past the
    # device's hourly quarantine allowance the whole push waits (429, nothing applied).
    fresh = await quarantine.new_refusals(
        session,
        principal,
        [quarantine.Refusal(r.table, r.operation, r.id, r.data, f.reason, f.detail) for r, f in refused],
    )
    try:
        await quarantine.check_rate(session, principal, len(fresh), quarantine_per_hour)
    except RateLimited:
        await session.rollback()
        raise

    for plan in plans:
        await plan()
    await session.flush()
    # Resident by resident, in id order: the visits and alerts they lock follow the same order. A
    # deleted or edited note is withdrawn first, then an edited one is recorded again.
    withdrawn = {id(n) for n in ctx.notes_withdrawn}
    written = {id(n) for n in ctx.notes_written}
    touched = {id(n): n for n in [*ctx.notes_withdrawn, *ctx.notes_written]}.values()
    for note in sorted(touched, key=lambda n: (n.resident_id, n.id)):
        if id(note) in withdrawn:
            await note_withdrawn(ctx.session, note, ctx.residents.get(note.resident_id))
        if id(note) in written:
            await _note_recorded(ctx, note)

    held = await quarantine.hold_all(session, principal, fresh)
    await session.flush()
    await quarantine.notify(session, principal, held)

    refused_ids = {(r.table, r.id) for r, _ in refused}
    kept: dict[str, set[str]] = {t: set() for t in schema.TABLE_NAMES}
    held_back: dict[str, set[str]] = {t: set() for t in schema.TABLE_NAMES}
    for r in pushed:
        if (r.table, r.id) in refused_ids:
            held_back[r.table].add(r.id)
        elif r.operation != "deleted":
            kept[r.table].add(r.id)
    await remember_pushed(session, state, kept, held_back)
    await touch_device(session, principal, ctx.now)
    if plans:
        audit.record(
            session,
            principal,
            "sync.push",
            "sync",
            fields=sorted({r.table for r in pushed}),
            applied=len(plans),
        )
    return {
        "applied": len(plans),
        "quarantined": [{"table": r.table, "id": r.id, "reason": f.reason} for r, f in refused],
    }


async def _load_rows(ctx: _Context, pushed: list[PushedRecord]) -> None:
    by_table: dict[str, set[str]] = {}
    for record in pushed:
        if SYNC_TABLES[record.table].read_only:
            continue  # refused unread (`_judge`)
        by_table.setdefault(record.table, set()).add(record.id)
    for table, ids in by_table.items():
        model = SYNC_TABLES[table].model
        for batch in chunks(sorted(ids)):
            rows = await ctx.session.scalars(
                select(model).where(model.id.in_(batch), model.org_id == ctx.principal.org_id)
            )
            for row in rows:
                ctx.rows[(table, row.id)] = row
        # An id taken in another organisation is not ours to touch or reveal.
        for batch in chunks(sorted(ids - {i for t, i in ctx.rows if t == table})):
            foreign = await ctx.session.scalars(select(model.id).where(model.id.in_(batch)))
            for record_id in foreign:
                ctx.rows[(table, record_id)] = _FOREIGN


async def _lock_rows(ctx: _Context) -> None:
    """PostgreSQL: lock the pushed rows that exist (after their residents), table by table in a
    fixed order and by id, and re-read them, so that the conflict check below compares with the
    version this transaction will overwrite: of two phones editing one record from the same
    cursor, the second waits for the first and then sees its change (409)."""
    if not _is_postgres(ctx.session):
        return  # SQLite runs one writing transaction at a time (BEGIN IMMEDIATE)
    for table in SYNC_TABLES:
        ids = sorted(i for (t, i), row in ctx.rows.items() if t == table and row is not _FOREIGN)
        model = SYNC_TABLES[table].model
        for batch in chunks(ids):
            rows = await ctx.session.scalars(
                select(model)
                .where(model.id.in_(batch))
                .order_by(model.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            for row in rows:
                ctx.rows[(table, row.id)] = row


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_FOREIGN = object()


async def _prefetch_residents(ctx: _Context, pushed: list[PushedRecord]) -> None:
    """One query for the visibility of every resident the push touches, one to load them (their
    last contact is kept current), instead of one of each per record."""
    ids = {r.data.get("resident_id") for r in pushed if not SYNC_TABLES[r.table].read_only} | {
        getattr(row, "resident_id", None) for row in ctx.rows.values() if row is not _FOREIGN
    }
    wanted = sorted(i for i in ids if isinstance(i, str))
    for batch in chunks(wanted):
        visible = set(
            (
                await ctx.session.scalars(
                    select(Resident.id).where(Resident.id.in_(batch), visible_residents(ctx.principal))
                )
            ).all()
        )
        ctx.visible.update({i: i in visible for i in batch})
        stmt = select(Resident).where(Resident.id.in_(batch), Resident.org_id == ctx.principal.org_id)
        if _is_postgres(ctx.session):
            # Residents are locked first, in id order: every push (and every contact it records)
            # touching a resident queues here instead of locking that resident's rows crosswise.
            stmt = stmt.order_by(Resident.id).with_for_update().execution_options(populate_existing=True)
        rows = await ctx.session.scalars(stmt)
        ctx.residents.update({r.id: r for r in rows})


async def _judge(ctx: _Context, record: PushedRecord) -> Apply | None:
    if SYNC_TABLES[record.table].read_only:
        # Whatever the operation and values, before reading anything: the same answer for every
        # record of the table. Held, so that the next pull puts the office's version back.
        raise forbidden("read_only")
    row = ctx.rows.get((record.table, record.id))
    if row is _FOREIGN:
        raise forbidden("foreign_id")
    if record.operation == "deleted":
        if row is None or row.deleted_at is not None:
            return None  # deleting what the server does not have (any more) is a no-op
        return await _judge_delete(ctx, record, row)
    if row is not None and row.deleted_at is not None:
        raise _Conflict()  # the phone must pull the deletion
    if record.table == "contact_notes":
        return await _judge_note(ctx, record, row)
    if record.table == "commissioner_activities":
        return _judge_activity(ctx, record, row)
    if row is None:
        raise forbidden("create")
    return await _judge_update(ctx, record, row)


async def _judge_delete(ctx: _Context, record: PushedRecord, row: Any) -> Apply | None:
    if record.table == "commissioner_activities":
        _check_activity_owner(ctx, row)
    elif record.table != "contact_notes" or not may_edit_note(ctx.principal, row):
        raise forbidden("delete")
    if row.feed_seq > ctx.params.last_pulled_at:
        raise _Conflict()

    async def apply() -> None:
        row.deleted_at = ctx.now
        if record.table == "contact_notes":
            ctx.notes_withdrawn.append(row)

    return apply


async def _check_visit(ctx: _Context, visit_id: str | None, resident_id: str) -> None:
    await check_visit(ctx.session, ctx.principal.org_id, visit_id, resident_id)


async def _judge_note(ctx: _Context, record: PushedRecord, row: ContactNote | None) -> Apply | None:
    principal = ctx.principal
    if row is not None and not may_edit_note(principal, row):
        raise forbidden("other_author")
    fields = read_note(record.data, ctx.params.schema_version, creating=row is None)
    resident_id = fields.get("resident_id") or (row.resident_id if row is not None else None)
    if row is not None and resident_id != row.resident_id:
        raise forbidden("move_resident")
    assert resident_id is not None
    if not await ctx.resident_visible(resident_id):
        raise forbidden("resident")
    await _check_visit(ctx, fields.get("visit_id"), resident_id)

    if row is None:

        async def create() -> None:
            note = ContactNote(
                id=record.id,
                org_id=principal.org_id,
                author_id=principal.user_id,
                device_id=principal.device_id,
                received_at=ctx.now,
                **fields,
            )
            ctx.session.add(note)
            ctx.notes_written.append(note)

        return create

    changes = {k: v for k, v in fields.items() if not same(getattr(row, k), v)}
    if not changes:
        return None  # already applied (a retry) or nothing edited
    if row.feed_seq > ctx.params.last_pulled_at:
        raise _Conflict()

    async def edit() -> None:
        for name, value in changes.items():
            setattr(row, name, value)
        if changes.keys() & RECHECKED_FIELDS:
            ctx.notes_withdrawn.append(row)  # what it did before the edit is looked at again
            ctx.notes_written.append(row)

    return edit


def _check_activity_owner(ctx: _Context, row: CommissionerActivity | None) -> None:
    if not may_record_activities(ctx.principal):
        raise forbidden("commissioners_only")
    if row is not None and row.commissioner_id != ctx.principal.user_id:
        raise forbidden("other_commissioner")


def _judge_activity(ctx: _Context, record: PushedRecord, row: CommissionerActivity | None) -> Apply | None:
    """A commissioner's own activity (schema v4): created, edited or (above) deleted by its
    commissioner only; a stale edit is a conflict, an edit the server already has a no-op."""
    _check_activity_owner(ctx, row)
    principal = ctx.principal
    fields = read_activity(record.data, principal, ctx.params.schema_version, creating=row is None)
    if row is None:

        async def create() -> None:
            ctx.session.add(
                CommissionerActivity(
                    id=record.id,
                    org_id=principal.org_id,
                    commissioner_id=principal.user_id,
                    device_id=principal.device_id,
                    **fields,
                )
            )

        return create

    changes = {k: v for k, v in fields.items() if not same(getattr(row, k), v)}
    if not changes:
        return None
    if row.feed_seq > ctx.params.last_pulled_at:
        raise _Conflict()

    async def edit() -> None:
        for name, value in changes.items():
            setattr(row, name, value)

    return edit


def _decode_column(column: schema.Column, value: Any) -> Any:
    """A wire value of any other table's column, for comparison and application."""
    if value is None:
        return None
    if column.codec == "time":
        return read_time({column.name: value}, column.name, optional=True, future_ok=True)
    if column.codec == "bool":
        if not isinstance(value, bool):
            raise invalid(column.name, "field.type")
        return value
    if column.codec == "num":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(column.name, "field.type")
        return value
    if not isinstance(value, str):
        raise invalid(column.name, "field.type")
    return value


async def _judge_update(ctx: _Context, record: PushedRecord, row: Any) -> Apply | None:
    """Visits, alerts, notifications, residents: compare the pushed columns with the server's."""
    table = record.table
    # Refuse before comparing anything, whatever the values: a row the phone does not hold, or a
    # column it is not shown, would otherwise be an oracle (equal: silent no-op; different: 409 or
    # quarantine) for what the server keeps hidden, e.g. a resident's birth year or the status of a
    # visit assigned to someone else.
    if not await _visible(ctx, table, row) or not await _held_by_phone(ctx, table, row):
        raise forbidden("not_held")
    shown = {c.name for c in SYNC_TABLES[table].wire_columns(ctx.principal, ctx.params.schema_version)}
    managed = SERVER_MANAGED[table]
    hidden = sorted(
        name
        for name in record.data
        if name not in shown
        and name not in managed
        and name in schema.column_names(table, ctx.params.schema_version)
    )
    if hidden:
        raise forbidden("fields", fields=hidden)
    differing: dict[str, Any] = {}
    for column in schema.columns(table, ctx.params.schema_version):
        if column.name in managed or column.name not in record.data:
            continue
        value = _decode_column(column, record.data[column.name])
        if column.codec == "json":
            continue
        if not same(getattr(row, column.name), value):
            differing[column.name] = value
    if not differing:
        return None
    if row.feed_seq > ctx.params.last_pulled_at:
        raise _Conflict()  # the phone's copy is stale: pull, merge, push again
    writable = await _writable(ctx, table, row)
    refused_columns = sorted(differing.keys() - writable)
    if refused_columns:
        raise forbidden("fields", fields=refused_columns)
    await _validate_update(ctx, table, row, differing)

    async def apply() -> None:
        if table == "alerts":
            await alert_lifecycle.acknowledge(ctx.session, row, ctx.principal.user_id)
            return
        reopened = table == "visits" and differing.get("status") == VisitStatus.PLANNED
        for name, value in differing.items():
            setattr(row, name, value)
        if reopened:
            # Undone on the phone, or reset by a coordinator: chased again from where its window is.
            org = await ctx.session.get_one(Organisation, row.org_id)
            ladder.reopen(row, org, rules_for(org), ctx.now)

    return apply


async def _visible(ctx: _Context, table: str, row: Any) -> bool:
    if table == "notifications":
        return bool(row.user_id == ctx.principal.user_id)
    return bool(await ctx.resident_visible(row.id if table == "residents" else row.resident_id))


async def _held_by_phone(ctx: _Context, table: str, row: Any) -> bool:
    """Whether the row is within what this phone receives by pull (`domain.access.phone_*`): one
    query per table for every row of it in this push."""
    if table == "notifications":
        return True  # the caller's own inbox (checked by `_visible`); an old message may be marked read
    if table not in ctx.held:
        ids = sorted(i for t, i in ctx.rows if t == table and ctx.rows[(t, i)] is not _FOREIGN)
        sync_table = SYNC_TABLES[table]
        found: set[str] = set()
        for batch in chunks(ids):
            found.update(
                await ctx.session.scalars(
                    scoped_select(sync_table, ctx.principal, ctx.now, [sync_table.model.id]).where(
                        sync_table.model.id.in_(batch)
                    )
                )
            )
        ctx.held[table] = found
    return row.id in ctx.held[table]


async def _writable(ctx: _Context, table: str, row: Any) -> frozenset[str]:
    principal = ctx.principal
    if table == "notifications":
        return frozenset({"read_at"}) if row.user_id == principal.user_id else frozenset()
    if table == "visits":
        if not await ctx.resident_visible(row.resident_id):
            return frozenset()
        return visit_fields_phone_may_change(principal, row)
    if table == "alerts":
        if not may_handle_alerts(principal) or not await ctx.resident_visible(row.resident_id):
            return frozenset()
        return frozenset({"status"})
    return frozenset()  # residents are managed by coordinators through the API, never from a phone


async def _validate_update(ctx: _Context, table: str, row: Any, changes: dict[str, Any]) -> None:
    skewed = ctx.now.timestamp() * 1000 + 5 * 60 * 1000
    for name, value in changes.items():
        if isinstance(value, datetime) and to_millis(value) > skewed:  # type: ignore[operator]
            raise invalid(name, "sync.future_time")
    if table == "visits":
        if "status" in changes and (
            changes["status"] is None or not visit_status_phone_may_set(ctx.principal, changes["status"])
        ):
            raise invalid("status", "field.not_allowed")
        if changes.get("assignee_id") is not None:
            # The rule of a plan's assignee over REST (`check_assignee`), with its words: never a
            # visit, and so a resident's name, for somebody who may not see the resident.
            resident = await ctx.session.get(Resident, row.resident_id)
            problem = (
                UNKNOWN_ASSIGNEE
                if resident is None
                else await assignee_problem(
                    ctx.session, ctx.principal.org_id, changes["assignee_id"], resident
                )
            )
            if problem is not None:
                raise invalid("assignee_id", problem)
    if table == "alerts" and (
        changes.get("status") != AlertStatus.ACKNOWLEDGED or row.status != AlertStatus.OPEN
    ):
        raise forbidden("acknowledge_only")


async def _note_recorded(ctx: _Context, note: ContactNote) -> None:
    await note_recorded(ctx.session, note, ctx.residents.get(note.resident_id))


async def apply_held_note(
    session: AsyncSession, coordinator: Principal, entry: QuarantinedRecord, corrections: dict[str, Any]
) -> None:
    """A coordinator accepts a held contact note (optionally corrected): written as its author's."""
    if entry.table_name != "contact_notes" or entry.operation == "deleted":
        raise InvalidInput("error.sync.only_notes_apply")
    data = {**entry.record, **{k: v for k, v in corrections.items() if k in NOTE_FIELDS}}
    try:
        fields = read_note(data, schema.LATEST_VERSION, creating=True)
    except Refused as refusal:
        raise InvalidInput.field(
            str(refusal.detail.get("field", "record")), str(refusal.detail.get("rule", "field.invalid"))
        ) from None
    existing = await session.get(ContactNote, entry.record_id)
    if existing is not None and (
        existing.org_id != coordinator.org_id or existing.author_id != entry.user_id
    ):
        raise Conflict("error.sync.apply_id_taken")
    # The held record is what the phone sent then: never over a deletion (the author's, or the
    # office's) nor over whatever was written since — it would bring back what they removed or
    # replace the newer text with the older.
    if existing is not None and existing.deleted_at is not None:
        raise Conflict("error.sync.apply_note_deleted")
    if existing is not None and existing.updated_at > entry.received_at:
        raise Conflict("error.sync.apply_note_changed")
    resident = await session.get(Resident, fields["resident_id"])
    if resident is None or resident.org_id != coordinator.org_id or resident.deleted_at is not None:
        raise InvalidInput.field("resident_id", "field.not_found")
    ctx = _Context(session, coordinator, PushParams(0), utcnow())
    await _check_visit(ctx, fields.get("visit_id"), resident.id)
    if existing is None:
        note = ContactNote(
            id=entry.record_id,
            org_id=coordinator.org_id,
            author_id=entry.user_id,
            device_id=entry.device_id,
            received_at=entry.received_at,
            **fields,
        )
        session.add(note)
    else:
        note = existing
        for name, value in fields.items():
            setattr(note, name, value)
    await session.flush()
    if existing is not None:
        await note_withdrawn(session, note, resident)
    await _note_recorded(ctx, note)
