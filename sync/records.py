"""The synced tables: which rows a phone holds (scope, decided in `domain.access`) and how a
row becomes a wire record (flat snake_case columns of the phone's schema version, integer ms)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import access
from domain.access import Principal
from domain.models import (
    Alert,
    CommissionerActivity,
    ContactNote,
    EmergencyContact,
    Notification,
    Resident,
    Visit,
)
from sync import schema

CHUNK = 500  # ids per IN list: well below every database's parameter limit


@dataclass(frozen=True)
class SyncTable:
    name: str
    model: Any
    scope: Callable[[Principal, datetime], ColumnElement[bool]]
    resident_key: Any  # the column that ties a row to its resident (None: not resident-bound)
    owner_key: Any = None  # rows only ever held by this user (notifications)
    read_only: bool = False  # phones receive it; every push of it is refused (quarantined)

    def wire_columns(self, principal: Principal, version: int) -> list[schema.Column]:
        cols = list(schema.columns(self.name, version))
        if self.name == "residents":
            allowed = access.resident_fields_for(principal)
            if allowed is not None:
                cols = [c for c in cols if c.name in allowed]
        return cols


SYNC_TABLES: dict[str, SyncTable] = {
    "residents": SyncTable("residents", Resident, access.phone_residents, Resident.id),
    "visits": SyncTable("visits", Visit, access.phone_visits, Visit.resident_id),
    "contact_notes": SyncTable("contact_notes", ContactNote, access.phone_notes, ContactNote.resident_id),
    "alerts": SyncTable("alerts", Alert, access.phone_alerts, Alert.resident_id),
    "notifications": SyncTable(
        # Tied to the resident it names: a resident leaving scope takes its messages along.
        "notifications",
        Notification,
        access.phone_notifications,
        Notification.resident_id,
        Notification.user_id,
    ),
    "emergency_contacts": SyncTable(
        # Kept by the office (resident details, CSV import); the phone only reads them.
        "emergency_contacts",
        EmergencyContact,
        access.phone_emergency_contacts,
        EmergencyContact.resident_id,
        read_only=True,
    ),
    "commissioner_activities": SyncTable(
        # Not about a resident: a commissioner's own rows, held by their phone only.
        "commissioner_activities",
        CommissionerActivity,
        access.phone_activities,
        None,
        CommissionerActivity.commissioner_id,
    ),
}
assert tuple(SYNC_TABLES) == schema.TABLE_NAMES


def _encoder(codec: str) -> Callable[[Any], Any]:
    if codec == "time":
        return lambda v: None if v is None else int(v.timestamp() * 1000)
    if codec == "json":
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    if codec == "str":
        return lambda v: None if v is None else str(v)
    if codec == "bool":
        return lambda v: None if v is None else bool(v)
    return lambda v: v


class Encoder:
    """Turns selected rows into wire records; built once per pull and table."""

    def __init__(self, table: SyncTable, cols: Sequence[schema.Column]) -> None:
        self.table = table
        self.names = ["id", *(c.name for c in cols)]
        self.select_columns = [table.model.id, *(getattr(table.model, c.name) for c in cols)]
        self.encoders: list[Callable[[Any], Any] | None] = [None] + [
            None if c.codec in ("num",) else _encoder(c.codec) for c in cols
        ]

    def encode(self, row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, enc, value in zip(self.names, self.encoders, row, strict=True):
            out[name] = value if enc is None or value is None else enc(value)
        return out


def scoped_select(table: SyncTable, principal: Principal, now: datetime, columns: list[Any]) -> Select[Any]:
    stmt = select(*columns).where(table.scope(principal, now))
    if table.name != "residents" and table.resident_key is not None:
        stmt = stmt.select_from(table.model)
    return stmt


def chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    batch: list[str] = []
    for item in ids:
        batch.append(item)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def scope_ids(
    session: AsyncSession, table: SyncTable, principal: Principal, now: datetime
) -> dict[str, int]:
    """id → feed position of every row in scope."""
    stmt = scoped_select(table, principal, now, [table.model.id, table.model.feed_seq])
    return {row[0]: row[1] for row in (await session.execute(stmt)).all()}


async def fetch_records(
    session: AsyncSession,
    table: SyncTable,
    principal: Principal,
    now: datetime,
    encoder: Encoder,
    where: ColumnElement[bool] | None = None,
) -> list[tuple[dict[str, Any], int]]:
    """In-scope rows (optionally narrowed by `where`), encoded, with their feed positions."""
    stmt = scoped_select(table, principal, now, [*encoder.select_columns, table.model.feed_seq])
    if where is not None:
        stmt = stmt.where(where)
    rows = (await session.execute(stmt)).all()
    return [(encoder.encode(row[:-1]), row[-1]) for row in rows]


async def fetch_records_by_id(
    session: AsyncSession,
    table: SyncTable,
    principal: Principal,
    now: datetime,
    encoder: Encoder,
    ids: Iterable[str],
) -> list[tuple[dict[str, Any], int]]:
    out: list[tuple[dict[str, Any], int]] = []
    for batch in chunks(ids):
        out += await fetch_records(session, table, principal, now, encoder, table.model.id.in_(batch))
    return out


def candidate_clause(
    table: SyncTable, principal: Principal, since: int, resident_ids: Sequence[str], ids: Sequence[str]
) -> ColumnElement[bool]:
    """Rows whose scope or content may have changed since `since`: changed rows, rows of residents
    whose scope changed, rows to recheck."""
    model = table.model
    parts: list[ColumnElement[bool]] = [model.feed_seq > since]
    if resident_ids and table.resident_key is not None:
        parts.append(table.resident_key.in_(list(resident_ids)))
    if ids:
        parts.append(model.id.in_(list(ids)))
    clause = and_(model.org_id == principal.org_id, or_(*parts))
    if table.owner_key is not None:
        clause = and_(clause, table.owner_key == principal.user_id)
    return clause


async def candidate_ids(
    session: AsyncSession, table: SyncTable, principal: Principal, clause: ColumnElement[bool]
) -> set[str]:
    return set((await session.scalars(select(table.model.id).where(clause))).all())


def is_default(value: Any) -> bool:
    return value in (None, "", 0, False, "[]", "{}", "null")


__all__ = ["SYNC_TABLES", "Encoder", "SyncTable"]
