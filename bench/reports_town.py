"""The generated town the reports benchmark reads, built once per size and kept.

On PostgreSQL the town lives in a database of its own, `mimamori_bench_reports_<residents>`, filled
with COPY (100,000 residents and 1,000,000 notes: 200 s on a loaded shared machine) and marked with a row in
`bench_town` naming the generator's version: a rerun finds the marker and reuses the town (only the
indexes the models have gained since are created). `--fresh` builds it again. On SQLite the town is
built in a temporary file each run (multi-row INSERTs; small scales only).

The town: DISTRICTS districts, each with a commissioner; one volunteer per VOLUNTEER_LOAD
residents, each with a phone that synced in the last 20 days; 95 % of the residents have a primary
watcher; 90 % have consented to the district commissioner; 3 % are paused; 2 % were never reached.
Every resident has NOTES_PER_RESIDENT notes over the last 120 days; the newest reached one is the
resident's `last_contact_at` (3, 10, 45 or 90 days ago), as the contact-note path keeps it.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from domain.base import Base
from domain.models import (
    Assignment,
    Consent,
    ContactNote,
    Device,
    District,
    Organisation,
    Resident,
    User,
    UserDistrict,
)

VERSION = "reports-town-2"  # change when the town's contents change: the kept town is rebuilt
NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # Wednesday 12:00 JST
NOTES_PER_RESIDENT = 10
DISTRICTS = 20
VOLUNTEER_LOAD = 10
CHUNK = 20_000
METHODS = ("home_visit", "phone", "meeting_place", "meal_delivery", "message", "sensor")
OUTCOMES = ("met_well", "met_well", "met_concern", "phone_only", "no_answer")
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Town:
    url: str
    residents: int
    org_id: str
    coordinator_id: str
    commissioner_id: str
    district_id: str  # the commissioner's district
    built_s: float | None  # None: reused


def _id() -> str:
    return uuid.uuid4().hex


class _Rows:
    """Rows of one table as tuples in a fixed column order: what COPY takes."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = list(columns)
        self.rows: list[tuple[Any, ...]] = []

    def add(self, **values: Any) -> None:
        self.rows.append(tuple(values[c] for c in self.columns))


def _stamp(rows_at: datetime) -> dict[str, Any]:
    return {"created_at": rows_at, "updated_at": rows_at, "feed_seq": 1, "deleted_at": None}


async def _write(conn: AsyncConnection, rows: _Rows) -> None:
    if not rows.rows:
        return
    if conn.dialect.name == "postgresql":
        raw = (await conn.get_raw_connection()).driver_connection
        json_columns = {i for i, v in enumerate(rows.rows[0]) if isinstance(v, list | dict)}
        records: Any = rows.rows
        if json_columns:
            records = (
                tuple(json.dumps(v) if i in json_columns else v for i, v in enumerate(r)) for r in rows.rows
            )
        await raw.copy_records_to_table(rows.table.name, records=records, columns=rows.columns)
    else:
        for start in range(0, len(rows.rows), 500):
            part = rows.rows[start : start + 500]
            await conn.execute(insert(rows.table), [dict(zip(rows.columns, r, strict=True)) for r in part])
    rows.rows.clear()


async def _build(conn: AsyncConnection, residents: int, rng: random.Random) -> Town:
    org_id = _id()
    old = NOW - timedelta(days=400)
    # Small tables through Core INSERTs, which apply the models' Python defaults.
    await conn.execute(insert(Organisation), [{"id": org_id, "name": "ベンチ市", "created_at": old}])
    district_ids = [_id() for _ in range(DISTRICTS)]
    await conn.execute(
        insert(District),
        [{"id": d, "org_id": org_id, "name": f"地区{n:02d}"} for n, d in enumerate(district_ids)],
    )
    coordinator_id = _id()
    commissioners = [_id() for _ in range(DISTRICTS)]
    volunteers = [_id() for _ in range(max(1, residents // VOLUNTEER_LOAD))]
    people = [(coordinator_id, "coordinator", "coord")]
    people += [(uid, "commissioner", f"民生委員{n:02d}") for n, uid in enumerate(commissioners)]
    people += [(uid, "volunteer", f"協力員{n}") for n, uid in enumerate(volunteers)]
    await conn.execute(
        insert(User),
        [
            {"id": uid, "org_id": org_id, "login": f"{role}-{uid}", "display_name": label, "role": role}
            for uid, role, label in people
        ],
    )
    await conn.execute(
        insert(UserDistrict),
        [
            {"user_id": uid, "district_id": d, "org_id": org_id}
            for uid, d in zip(commissioners, district_ids, strict=True)
        ],
    )
    await conn.execute(
        insert(Device),
        [
            {
                "org_id": org_id,
                "user_id": uid,
                "client_id": _id()[:16],
                "platform": "android",
                "last_sync_at": NOW - timedelta(minutes=rng.randrange(20 * 1440)),
            }
            for uid in volunteers
        ],
    )

    resident_rows = _Rows(
        Resident.__table__,  # type: ignore[arg-type]
        [
            "id",
            "org_id",
            "district_id",
            "name",
            "kana",
            "address",
            "household",
            "risk_level",
            "support_needs",
            "status",
            "last_contact_at",
            *_stamp(old),
        ],
    )
    note_rows = _Rows(
        ContactNote.__table__,  # type: ignore[arg-type]
        [
            "id",
            "org_id",
            "resident_id",
            "author_id",
            "method",
            "outcome",
            "warning_signs",
            "body",
            "visibility",
            "follow_up_needed",
            "occurred_at",
            "received_at",
            *_stamp(old),
        ],
    )
    assignment_rows = _Rows(
        Assignment.__table__,  # type: ignore[arg-type]
        ["id", "org_id", "resident_id", "user_id", "role", "started_at", *_stamp(old)],
    )
    consent_rows = _Rows(
        Consent.__table__,  # type: ignore[arg-type]
        ["id", "org_id", "resident_id", "recipient", "status", "purpose", "given_on", *_stamp(old)],
    )
    for i in range(residents):
        rid = _id()
        never = rng.random() < 0.02
        last = (
            None if never else NOW - timedelta(days=rng.choice((3, 10, 45, 90)), minutes=rng.randrange(1440))
        )
        resident_rows.add(
            id=rid,
            org_id=org_id,
            district_id=district_ids[i % DISTRICTS],
            name=f"住民{i}",
            kana=f"ジュウミン{rng.randrange(10**6):06d}",
            address=f"ベンチ市{i}",
            household="alone",
            risk_level=("high", "medium", "low")[i % 3],
            support_needs="",
            status="paused" if rng.random() < 0.03 else "active",
            last_contact_at=last,
            **_stamp(old),
        )
        for k in range(NOTES_PER_RESIDENT):
            if last is not None and k == 0:
                at, outcome = last, "met_well"
            else:  # before the last contact, or an attempt (not a contact) at any time
                anchor = last or NOW
                at = anchor - timedelta(days=rng.randrange(120), minutes=1 + rng.randrange(1440))
                outcome = "no_answer" if last is None else rng.choice(OUTCOMES)
            note_rows.add(
                id=_id(),
                org_id=org_id,
                resident_id=rid,
                author_id=coordinator_id,
                method=rng.choice(METHODS),
                outcome=outcome,
                warning_signs=[],
                body="",
                visibility="team",
                follow_up_needed=False,
                occurred_at=at,
                received_at=at,
                **_stamp(NOW),
            )
        if rng.random() < 0.95:
            assignment_rows.add(
                id=_id(),
                org_id=org_id,
                resident_id=rid,
                user_id=volunteers[i % len(volunteers)],
                role="primary",
                started_at=old,
                **_stamp(old),
            )
        if rng.random() < 0.9:
            consent_rows.add(
                id=_id(),
                org_id=org_id,
                resident_id=rid,
                recipient="district_commissioner",
                status="given",
                purpose="見守り",
                given_on=date(2025, 4, 1),
                **_stamp(old),
            )
        if len(note_rows.rows) >= CHUNK or i == residents - 1:
            for rows in (resident_rows, note_rows, assignment_rows, consent_rows):
                await _write(conn, rows)
    return Town("", residents, org_id, coordinator_id, commissioners[0], district_ids[0], None)


def _database_name(residents: int) -> str:
    return f"mimamori_bench_reports_{residents}"


async def _marker(engine: AsyncEngine) -> Town | None:
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT to_regclass('bench_town') IS NOT NULL")):
            return None
        row = (
            await conn.execute(
                text(
                    "SELECT version, residents, org_id, coordinator_id, commissioner_id, district_id "
                    "FROM bench_town"
                )
            )
        ).first()
    if row is None or row.version != VERSION:
        return None
    return Town("", row.residents, row.org_id, row.coordinator_id, row.commissioner_id, row.district_id, None)


def _create_missing_indexes(sync_conn: Any) -> None:
    """Bring a kept town up to the models without rebuilding it: tables added since it was built
    (with their indexes), nullable columns added since (`ADD COLUMN`, no rewrite), new indexes."""
    Base.metadata.create_all(sync_conn, checkfirst=True)
    inspector = inspect(sync_conn)
    for table in Base.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=sync_conn.dialect)
                sync_conn.execute(
                    text(f'ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS "{column.name}" {kind}')
                )
        for index in table.indexes:
            index.create(sync_conn, checkfirst=True)


async def postgres_town(residents: int, rng: random.Random, fresh: bool) -> Town:
    name = _database_name(residents)
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    admin = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        found = None if fresh or not exists else await _marker(engine)
        if found is not None:
            async with engine.begin() as conn:
                await conn.run_sync(_create_missing_indexes)
            return Town(url, *_fields(found)[1:-1], None)
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            town = await _build(conn, residents, rng)
            await conn.execute(
                text(
                    "CREATE TABLE bench_town (version text, residents int, org_id text, "
                    "coordinator_id text, commissioner_id text, district_id text)"
                )
            )
            await conn.execute(
                text("INSERT INTO bench_town VALUES (:v, :r, :o, :c, :m, :d)"),
                {
                    "v": VERSION,
                    "r": residents,
                    "o": town.org_id,
                    "c": town.coordinator_id,
                    "m": town.commissioner_id,
                    "d": town.district_id,
                },
            )
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
        return Town(url, *_fields(town)[1:-1], time.perf_counter() - started)
    finally:
        await engine.dispose()
        await admin.dispose()


def _fields(town: Town) -> tuple[Any, ...]:
    return (
        town.url,
        town.residents,
        town.org_id,
        town.coordinator_id,
        town.commissioner_id,
        town.district_id,
        town.built_s,
    )


async def sqlite_town(residents: int, rng: random.Random) -> tuple[Town, Path]:
    path = Path(tempfile.mkdtemp(prefix="reports_bench_")) / "town.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_async_engine(url, poolclass=NullPool)
    started = time.perf_counter()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            town = await _build(conn, residents, rng)
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return Town(url, *_fields(town)[1:-1], time.perf_counter() - started), path
