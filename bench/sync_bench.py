"""Sync benchmark on a generated large town, on SQLite and PostgreSQL.

    python -m bench.sync_bench                 # 100,000 residents, 1,000,000 notes
    python -m bench.sync_bench --scale 0.1     # a tenth of that (the no-op comparison still runs)
    python -m bench.sync_bench --backends sqlite

The town: districts of 1,000 residents each, ten contact notes per resident spread over a year,
three visits per resident inside the phone horizon, consent for the district commissioner for
everyone and for volunteers for a third. A commissioner holds one district (about 10,000 records
on the phone); a volunteer has 20 assigned residents.

Figures (median of several runs, milliseconds): the server's work for a request — the pull / push
service plus JSON encoding with msgspec, as Litestar does — and the floor: the same rows fetched
by a bare query and JSON-encoded the same way. Each figure is printed with its ratio to the floor.
The no-op pull is measured at 10% of the town and again at the full town (it must stay flat).
The commissioner's first pull is also sized as it crosses the network (plain and gzip). Last, the
fault-injection run of tests/sync/faults.py (`--fault-rounds`) counts full resends: phones on a
bad network whose cursors the server could not place (target: zero).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain import feed
from domain.access import Principal
from domain.clock import clock
from domain.db import create_db_config
from domain.enums import Role
from domain.models import (
    Assignment,
    Base,
    Consent,
    ContactNote,
    Device,
    District,
    Organisation,
    Resident,
    User,
    UserDistrict,
    Visit,
)
from domain.settings import Settings
from sync import push as push_service
from sync.pull import PullParams, pull
from sync.validation import PushedRecord

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
DISTRICT_SIZE = 1000
NOTES_PER_RESIDENT = 10
VISITS_PER_RESIDENT = 3
BATCH = 5000
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def _timed(fn: Callable[[], Awaitable[Any]], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


class Town:
    def __init__(self, config: Any, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.org_id = ""
        self.districts: list[str] = []
        self.residents = 0
        self.commissioner: Principal | None = None
        self.volunteer: Principal | None = None
        self.volunteer_residents: list[str] = []

    async def create(self) -> None:
        async with self.config.get_session() as s:
            org = Organisation(name="ベンチ市")
            s.add(org)
            await s.flush()
            self.org_id = org.id
            await s.commit()

    async def grow(self, residents: int) -> None:
        """Add residents (whole districts), their consents, notes and visits."""
        org_id = self.org_id
        rng = self.rng
        while self.residents < residents:
            async with self.config.get_session() as s:
                district = District(org_id=org_id, name=f"地区{len(self.districts)}")
                s.add(district)
                await s.flush()
                self.districts.append(district.id)
                ids = [uuid.uuid4().hex for _ in range(DISTRICT_SIZE)]
                position = await feed.next_position(s, org_id)
                created = NOW - timedelta(days=400)
                await s.execute(
                    Resident.__table__.insert(),
                    [
                        {
                            "id": rid,
                            "org_id": org_id,
                            "district_id": district.id,
                            "name": f"住民 {i}",
                            "kana": "ジュウミン",
                            "birth_year": 1930 + i % 30,
                            "address": f"ベンチ市{i}番地",
                            "household": "alone",
                            "risk_level": ("high", "medium", "low")[i % 3],
                            "support_needs": "見守り",
                            "status": "active",
                            "feed_seq": position,
                            "created_at": created,
                            "updated_at": created,
                            "last_contact_at": None,
                        }
                        for i, rid in enumerate(ids)
                    ],
                )
                consents = [
                    {
                        "id": uuid.uuid4().hex,
                        "org_id": org_id,
                        "resident_id": rid,
                        "recipient": "district_commissioner",
                        "status": "given",
                        "purpose": "",
                        "feed_seq": position,
                        "created_at": created,
                        "updated_at": created,
                    }
                    for rid in ids
                ] + [
                    {
                        "id": uuid.uuid4().hex,
                        "org_id": org_id,
                        "resident_id": rid,
                        "recipient": "volunteers",
                        "status": "given",
                        "purpose": "",
                        "feed_seq": position,
                        "created_at": created,
                        "updated_at": created,
                    }
                    for rid in ids[::3]
                ]
                await s.execute(Consent.__table__.insert(), consents)
                visits = []
                for rid in ids:
                    for k in range(VISITS_PER_RESIDENT):
                        due = NOW + timedelta(days=rng.randint(-25, 55), hours=k)
                        visits.append(
                            {
                                "id": uuid.uuid4().hex,
                                "org_id": org_id,
                                "resident_id": rid,
                                "occurrence_key": f"{rid}-{k}",
                                "kind": "planned",
                                "due_start": due,
                                "due_end": due + timedelta(hours=8),
                                "status": "planned",
                                "feed_seq": position,
                                "created_at": created,
                                "updated_at": created,
                            }
                        )
                await s.execute(Visit.__table__.insert(), visits)
                notes = []
                for rid in ids:
                    for _ in range(NOTES_PER_RESIDENT):
                        at = NOW - timedelta(minutes=rng.randint(60, 365 * 24 * 60))
                        notes.append(
                            {
                                "id": uuid.uuid4().hex,
                                "org_id": org_id,
                                "resident_id": rid,
                                "author_id": None,
                                "method": "home_visit",
                                "outcome": "met_well",
                                "warning_signs": [],
                                "follow_up_needed": False,
                                "body": "お元気そうでした。次回は来週。",
                                "visibility": "team",
                                "occurred_at": at,
                                "received_at": at,
                                "feed_seq": position,
                                "created_at": at,
                                "updated_at": at,
                            }
                        )
                self._pending_notes = notes
                await s.commit()
            await self._insert_notes()
            self.residents += DISTRICT_SIZE
            print(f"    generated {self.residents:,} residents", end="\r", file=sys.stderr, flush=True)
        print(file=sys.stderr)

    async def _insert_notes(self) -> None:
        notes = self._pending_notes
        async with self.config.get_session() as s:
            author = await s.scalar(select(User.id).where(User.org_id == self.org_id).limit(1))
            for note in notes:
                note["author_id"] = author
            for i in range(0, len(notes), BATCH):
                await s.execute(ContactNote.__table__.insert(), notes[i : i + BATCH])
            await s.commit()

    async def people(self) -> None:
        async with self.config.get_session() as s:
            coordinator = User(
                org_id=self.org_id,
                login=f"bench-coord-{self.org_id}",
                display_name="c",
                role=Role.COORDINATOR,
            )
            commissioner = User(
                org_id=self.org_id,
                login=f"bench-comm-{self.org_id}",
                display_name="k",
                role=Role.COMMISSIONER,
            )
            volunteer = User(
                org_id=self.org_id, login=f"bench-vol-{self.org_id}", display_name="v", role=Role.VOLUNTEER
            )
            s.add_all([coordinator, commissioner, volunteer])
            await s.flush()
            devices = {}
            for user in (commissioner, volunteer):
                device = Device(org_id=self.org_id, user_id=user.id, client_id="bench", platform="android")
                s.add(device)
                await s.flush()
                devices[user.id] = device.id
            await s.commit()
        self.commissioner = Principal(
            commissioner.id, self.org_id, Role.COMMISSIONER, frozenset(), devices[commissioner.id]
        )
        self.volunteer = Principal(
            volunteer.id, self.org_id, Role.VOLUNTEER, frozenset(), devices[volunteer.id]
        )

    async def hand_out(self) -> None:
        """The commissioner holds the first district; the volunteer visits 20 consented residents."""
        assert self.commissioner and self.volunteer
        district = self.districts[0]
        async with self.config.get_session() as s:
            s.add(UserDistrict(org_id=self.org_id, user_id=self.commissioner.user_id, district_id=district))
            consented = (
                await s.scalars(
                    select(Consent.resident_id)
                    .join(Resident, Resident.id == Consent.resident_id)
                    .where(Resident.district_id == district, Consent.recipient == "volunteers")
                    .limit(20)
                )
            ).all()
            for rid in consented:
                s.add(
                    Assignment(
                        org_id=self.org_id, resident_id=rid, user_id=self.volunteer.user_id, started_at=NOW
                    )
                )
            await s.commit()
        self.volunteer_residents = list(consented)
        self.commissioner = Principal(
            self.commissioner.user_id,
            self.org_id,
            Role.COMMISSIONER,
            frozenset({district}),
            self.commissioner.device_id,
        )


def _encode_rows(rows: list[Any], names: list[str]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        record = {}
        for name, value in zip(names, row, strict=True):
            record[name] = _ms(value) if isinstance(value, datetime) else value
        out.append(record)
    return out


async def floor_first_sync(
    config: Any, district_ids: list[str] | None, resident_ids: list[str] | None
) -> int:
    """The same rows as a first sync, by bare queries, JSON-encoded: what no server can beat."""
    from sync.records import SYNC_TABLES

    horizon_notes = NOW.replace(hour=0) - timedelta(days=180)
    lo, hi = NOW.replace(hour=0) - timedelta(days=30), NOW.replace(hour=0) + timedelta(days=60)
    async with config.get_session() as s:
        payload: dict[str, Any] = {}
        for name in ("residents", "visits", "contact_notes"):
            table = SYNC_TABLES[name]
            cols = [c.name for c in __import__("sync.schema", fromlist=["x"]).columns(name)]
            if resident_ids is not None and name == "residents":
                from domain.access import VOLUNTEER_RESIDENT_FIELDS

                cols = [c for c in cols if c in VOLUNTEER_RESIDENT_FIELDS]
            model = table.model
            stmt = select(model.id, *(getattr(model, c) for c in cols))
            if name == "residents":
                stmt = stmt.where(
                    Resident.district_id.in_(district_ids) if district_ids else Resident.id.in_(resident_ids)
                )
            else:
                stmt = stmt.join(Resident, Resident.id == model.resident_id)
                stmt = stmt.where(
                    Resident.district_id.in_(district_ids) if district_ids else Resident.id.in_(resident_ids)
                )
            if name == "visits":
                stmt = stmt.where(Visit.due_start >= lo, Visit.due_start <= hi)
            if name == "contact_notes":
                stmt = stmt.where(ContactNote.occurred_at >= horizon_notes)
            rows = (await s.execute(stmt)).all()
            payload[name] = {"created": _encode_rows(rows, ["id", *cols]), "updated": [], "deleted": []}
        body = msgspec.json.encode({"changes": payload, "timestamp": 1})
        return len(body)


async def server_pull(config: Any, principal: Principal, cursor: int) -> tuple[int, int, int]:
    async with config.get_session() as s:
        result = await pull(s, principal, PullParams(last_pulled_at=cursor))
    body = msgspec.json.encode(result)
    count = sum(len(ops["updated"]) for ops in result["changes"].values())
    return len(body), count, result["timestamp"]


async def compressed_size(config: Any, principal: Principal) -> int:
    """A first pull as it crosses the network to a phone that accepts gzip (the server's level)."""
    from api.app import compression_config

    async with config.get_session() as s:
        result = await pull(s, principal, PullParams(last_pulled_at=0))
    return len(gzip.compress(msgspec.json.encode(result), compression_config().gzip_compress_level))


async def run_faults(settings: Settings, rounds: int) -> None:
    """The fault-injection run of tests/sync/faults.py (phones on a bad network, a coordinator
    editing meanwhile) on this backend: how often the server had to resend a phone's whole scope."""
    from tests.sync import faults

    started = time.perf_counter()
    report = faults.Report(seed=0)
    for seed in range(max(1, rounds // 300)):
        part = await faults.run_on(settings, seed=100 + seed, rounds=min(rounds, 300))
        report.rounds += part.rounds
        report.faults.update(part.faults)
        report.full_resends += part.full_resends
        report.stale_full_resends += part.stale_full_resends
        report.lock_retries += part.lock_retries
        report.statuses.update(part.statuses)
    report.seconds = time.perf_counter() - started
    print(
        f"  faults: {report.rounds} rounds in {report.seconds:.0f} s, {sum(report.faults.values())} faults "
        f"injected, full resends {report.full_resends} (target 0; late duplicates from below a phone's "
        f"floor: {report.stale_full_resends}), push lock retries {report.lock_retries} (target 0), "
        f"5xx {sum(n for s, n in report.statuses.items() if s >= 500)}"
    )


async def server_push(config: Any, principal: Principal, resident_ids: list[str], cursor: int) -> None:
    now = _ms(NOW)
    records = [
        PushedRecord(
            "contact_notes",
            "created",
            uuid.uuid4().hex[:16],
            {
                "id": "",
                "resident_id": resident_ids[i % len(resident_ids)],
                "method": "home_visit",
                "outcome": "met_well",
                "body": "訪問しました",
                "occurred_at": now - i * 60_000,
                "follow_up_needed": False,
                "visibility": "team",
                "_status": "created",
                "_changed": "",
            },
        )
        for i in range(50)
    ]
    async with config.get_session() as s:
        result = await push_service.push(s, principal, push_service.PushParams(cursor), records)
        await s.commit()
    msgspec.json.encode(result)
    assert result["applied"] == 50, result


async def floor_push(config: Any, principal: Principal, resident_ids: list[str]) -> None:
    """50 notes inserted by one bare executemany."""
    async with config.get_session() as s:
        position = await feed.next_position(s, principal.org_id)
        at = NOW
        await s.execute(
            ContactNote.__table__.insert(),
            [
                {
                    "id": uuid.uuid4().hex,
                    "org_id": principal.org_id,
                    "resident_id": resident_ids[i % len(resident_ids)],
                    "author_id": principal.user_id,
                    "method": "home_visit",
                    "outcome": "met_well",
                    "warning_signs": [],
                    "follow_up_needed": False,
                    "body": "訪問しました",
                    "visibility": "team",
                    "occurred_at": at,
                    "received_at": at,
                    "feed_seq": position,
                    "created_at": at,
                    "updated_at": at,
                }
                for i in range(50)
            ],
        )
        await s.commit()


async def run_backend(backend: str, scale: float, runs: int, fault_rounds: int = 0) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="mimamori-bench-"))
    pg_name = f"mimamori_bench_{os.getpid()}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    else:
        admin = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        await admin.dispose()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=workdir,
        run_scheduler=False,
        secret_key="bench-secret-key-that-is-long-enough-for-hs256",
        log_level="WARNING",
    )
    config = create_db_config(settings)
    try:
        async with config.get_engine().begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        clock.set(NOW)
        rng = random.Random(7)
        town = Town(config, rng)
        await town.create()
        await town.people()
        full = max(DISTRICT_SIZE, int(100_000 * scale))
        small = max(DISTRICT_SIZE, full // 10)
        started = time.perf_counter()
        await town.grow(small)
        await town.hand_out()
        await _analyze(config, backend)
        comm, vol = town.commissioner, town.volunteer
        assert comm and vol
        _, _, cursor = await server_pull(config, comm, 0)
        noop_small = await _timed(lambda: server_pull(config, comm, cursor), runs * 3)
        await town.grow(full)
        await _analyze(config, backend)
        print(
            f"  town: {town.residents:,} residents, {town.residents * NOTES_PER_RESIDENT:,} notes, "
            f"{town.residents * VISITS_PER_RESIDENT:,} visits (generated in {time.perf_counter() - started:.0f} s)"
        )

        size, count, _ = await server_pull(config, comm, 0)
        packed = await compressed_size(config, comm)
        first_comm = await _timed(lambda: server_pull(config, comm, 0), runs)
        floor_comm = await _timed(lambda: floor_first_sync(config, [town.districts[0]], None), runs)
        _, _, cursor = await server_pull(config, comm, 0)
        _, _, cursor = await server_pull(config, comm, cursor)
        noop_full = await _timed(lambda: server_pull(config, comm, cursor), runs * 3)
        _, vcount, _ = await server_pull(config, vol, 0)
        first_vol = await _timed(lambda: server_pull(config, vol, 0), runs)
        floor_vol = await _timed(lambda: floor_first_sync(config, None, town.volunteer_residents), runs)
        _, _, vcursor = await server_pull(config, vol, 0)
        push = await _timed(lambda: server_push(config, vol, town.volunteer_residents, vcursor), runs)
        push_floor = await _timed(lambda: floor_push(config, vol, town.volunteer_residents), runs)

        def line(label: str, value: float, floor: float | None = None) -> None:
            ratio = f"  ({value / floor:.2f}× floor {floor:.1f} ms)" if floor else ""
            print(f"  {label:<44} {value:9.1f} ms{ratio}")

        line(f"commissioner first sync ({count:,} records, {size / 1e6:.1f} MB)", first_comm, floor_comm)
        line(f"volunteer first sync ({vcount:,} records)", first_vol, floor_vol)
        line(f"no-op pull at {small:,} residents", noop_small)
        line(f"no-op pull at {town.residents:,} residents", noop_full)
        print(f"  {'no-op pull growth (large / small town)':<44} {noop_full / noop_small:9.2f}×")
        line("push of 50 notes", push, push_floor)
        print(
            f"  {'commissioner first pull on the wire':<44} {size / 1e3:9.0f} KB plain, "
            f"{packed / 1e3:.0f} KB gzip ({size / packed:.1f}×)"
        )
        if fault_rounds:
            await run_faults(settings, fault_rounds)
    finally:
        clock.reset()
        await config.get_engine().dispose()
        if backend == "postgresql":
            admin = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            await admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


async def _analyze(config: Any, backend: str) -> None:
    async with config.get_engine().connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 residents (default 1)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--fault-rounds", type=int, default=600, help="rounds of the fault run (0: none)")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    for backend in args.backends.split(","):
        print(f"{backend} (scale {args.scale}):", flush=True)
        asyncio.run(run_backend(backend, args.scale, args.runs, args.fault_rounds))


if __name__ == "__main__":
    main()
