"""A no-op pull is decided by one read (issue #13): `sync.pull._unchanged`. It answers exactly what
the full comparison answers, costs at most two statements in the pull (the feed watermark and that
read), and never hides a change: every kind of change the full comparison delivers takes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine

import sync.pull as pull_module
from domain import autocommit, feed
from domain.clock import clock
from domain.enums import ConsentRecipient, ConsentStatus
from domain.models import (
    Assignment,
    Consent,
    Notification,
    Organisation,
    Resident,
    SyncDeviceState,
    SyncManifestVersion,
    Visit,
)
from domain.models import (
    Device as DeviceRow,
)
from sync.pull import FIGURES
from tests.factories import give_consent, login, make_resident
from tests.sync.conftest import Town, add_note, ms, phone
from tests.sync.device import Device


class _Counted:
    def __init__(self) -> None:
        self.statements: list[tuple[int, str]] = []  # (connection, SQL) while `pull()` runs
        self.request: list[tuple[int, str]] = []  # the whole request, BEGIN and COMMIT included
        self.in_pull = False
        self.watermarks = 0  # `feed.watermark` statements sent straight to asyncpg (no engine event)
        self.driver = 0  # statements sent straight to asyncpg by `domain.autocommit.fetch` (ditto)


def _connection_id(dbapi_connection: Any) -> int:
    """The driver's connection (asyncpg's, under SQLAlchemy's adapter): the same identity whether a
    statement went through the engine or straight to the driver."""
    return id(getattr(dbapi_connection, "_connection", dbapi_connection))


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counted]:
    counted = _Counted()
    original = pull_module.pull

    async def pull(*args: Any, **kwargs: Any) -> Any:
        counted.in_pull = True
        try:
            return await original(*args, **kwargs)
        finally:
            counted.in_pull = False

    def execute(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted.request.append((_connection_id(conn.connection.dbapi_connection), statement))
        # SQLite's BEGIN (IMMEDIATE) is issued as a statement (domain/db.py): counted as a round
        # trip of the request, not as one of the pull's statements.
        if counted.in_pull and not statement.startswith("BEGIN"):
            counted.statements.append((_connection_id(conn.connection.dbapi_connection), statement))

    def sent(conn: Any) -> bool:  # no BEGIN / COMMIT goes to the server in autocommit
        return conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"

    def begin(conn: Any) -> None:
        if conn.dialect.name == "postgresql" and sent(conn):
            counted.request.append((_connection_id(conn.connection.dbapi_connection), "BEGIN"))

    def end(conn: Any) -> None:
        if sent(conn):
            counted.request.append((_connection_id(conn.connection.dbapi_connection), "COMMIT"))

    original_watermark_on = feed._watermark_on_driver
    original_fetch = autocommit.fetch

    async def watermark_on(driver: Any, org_id: str) -> int:
        counted.watermarks += 1
        return await original_watermark_on(driver, org_id)

    async def fetch(driver: Any, stmt: Any, dialect: Any, binds: dict[str, Any]) -> list[Any]:
        counted.driver += 1
        sql = str(stmt.compile(dialect=dialect))
        counted.request.append((id(driver), sql))
        if counted.in_pull:
            counted.statements.append((id(driver), sql))
        return await original_fetch(driver, stmt, dialect, binds)

    monkeypatch.setattr(pull_module, "pull", pull)
    monkeypatch.setattr(feed, "_watermark_on_driver", watermark_on)
    monkeypatch.setattr(autocommit, "fetch", fetch)
    listeners = [("before_cursor_execute", execute), ("begin", begin), ("commit", end), ("rollback", end)]
    for name, fn in listeners:
        event.listen(Engine, name, fn)
    try:
        yield counted
    finally:
        for name, fn in listeners:
            event.remove(Engine, name, fn)


@contextmanager
def slow_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    async def never(*_: Any, **__: Any) -> pull_module._NoOp:
        return pull_module._NoOp.NO

    with monkeypatch.context() as m:
        m.setattr(pull_module, "_unchanged", never)
        yield


async def _settled(client: Any, login_name: str, device_id: str = "phone-1") -> Device:
    """A phone after its first sync and one no-op pull (its floor at its cursor)."""
    device = await phone(client, login_name, device_id)
    await device.pull()
    await device.pull()
    return device


def _empty(body: dict[str, Any]) -> bool:
    return not any(ops["updated"] or ops["deleted"] or ops["created"] for ops in body["changes"].values())


async def test_a_no_op_pull_is_two_statements(client, db, town: Town, monkeypatch, backend) -> None:
    device = await _settled(client, "vol")
    fast = FIGURES["unchanged_pulls"]
    with counting(monkeypatch) as counted:
        body = await device.pull()
    assert _empty(body)
    assert FIGURES["unchanged_pulls"] == fast + 1
    # The feed watermark and the one read that decides; no write (last_sync_at is fresh).
    assert len(counted.statements) <= 2, counted.statements
    assert not any(
        s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for _, s in counted.statements
    )
    # PostgreSQL: three round trips on the request's one connection, in autocommit (the route's
    # AUTOCOMMIT_START): authentication, the watermark (sent to the driver directly, so counted
    # here by `watermarks`), the read; no BEGIN, no COMMIT, no second connection. (SQLite's
    # watermark ends a transaction and begins another, on whichever pooled connection: no network.)
    # Authentication and the read go to asyncpg straight (domain/autocommit.py `fetch`), on that
    # same connection.
    if backend == "postgresql":
        assert [s for _, s in counted.request if s in ("BEGIN", "COMMIT")] == [], counted.request
        assert len({conn for conn, _ in counted.request}) == 1, counted.request
        assert len(counted.request) + counted.watermarks <= 3, counted.request
        assert counted.driver == 2 and counted.watermarks == 1, counted.request

    with slow_path(monkeypatch), counting(monkeypatch) as slow:
        assert _empty(await device.pull())
    assert len(slow.statements) > len(counted.statements)  # what the fast path saves


async def _device_id(db: Any, client_id: str) -> str:
    async with db() as s:
        return str(await s.scalar(select(DeviceRow.id).where(DeviceRow.client_id == client_id)))


async def _state(db: Any, client_id: str) -> tuple[int, list[tuple[int, int, int]]]:
    device_id = await _device_id(db, client_id)
    async with db() as s:
        floor = await s.scalar(
            select(SyncDeviceState.cursor_floor).where(SyncDeviceState.device_id == device_id)
        )
        rows = await s.execute(
            select(SyncManifestVersion.base, SyncManifestVersion.lo, SyncManifestVersion.hi)
            .where(SyncManifestVersion.device_id == device_id)
            .order_by(SyncManifestVersion.lo, SyncManifestVersion.base)
        )
        return int(floor or 0), [(b, lo, hi) for b, lo, hi in rows.tuples()]


async def _get(client: Any, device: Device) -> bytes:
    url = f"/api/v1/sync/pull?last_pulled_at={device.last_pulled_at}&schema_version={device.version}&migration=null"
    response = await client.get(url, headers=device.headers)
    assert response.status_code == 200
    device.last_pulled_at = response.json()["timestamp"]
    return response.content


async def test_the_fast_answer_is_the_slow_answer(client, db, town: Town, now, monkeypatch) -> None:
    """Two phones of one commissioner in the same state, one answered by the fast path, the other
    by the full comparison: the same bytes, the same manifest afterwards — when the feed moved
    without touching anything (another phone's answer took a position: the version is widened),
    from the new cursor (the floor is raised), and from the same cursor again."""
    p = await _settled(client, "comm", "phone-p")
    q = await _settled(client, "comm", "phone-q")
    assert p.last_pulled_at == q.last_pulled_at
    async with db() as s:
        await feed.next_position(s, town.org.id)
    for moved in ("widened", "floor raised", "same cursor"):
        fast = FIGURES["unchanged_pulls"]
        fast_bytes = await _get(client, p)
        assert FIGURES["unchanged_pulls"] == fast + 1, moved
        with slow_path(monkeypatch):
            slow_bytes = await _get(client, q)
        assert fast_bytes == slow_bytes, moved
        assert _empty(json.loads(fast_bytes))
        assert await _state(db, "phone-p") == await _state(db, "phone-q"), moved


# --- every change the full comparison delivers takes it ------------------------------------------


async def _new_note(db: Any, town: Town, now: datetime) -> Callable[[dict[str, Any]], bool]:
    note = await add_note(db, town, town.shared, town.coordinator, now - timedelta(minutes=5))
    return lambda body: note.id in {r["id"] for r in body["changes"]["contact_notes"]["updated"]}


async def _new_visit(db: Any, town: Town, now: datetime) -> Callable[[dict[str, Any]], bool]:
    async with db() as s:
        visit = Visit(
            org_id=town.org.id,
            occurrence_key="2026-06-03",
            resident_id=town.shared.id,
            assignee_id=town.volunteer.id,
            due_start=now + timedelta(days=2),
            due_end=now + timedelta(days=2, hours=8),
        )
        s.add(visit)
    return lambda body: visit.id in {r["id"] for r in body["changes"]["visits"]["updated"]}


async def _new_resident(db: Any, town: Town, now: datetime) -> Callable[[dict[str, Any]], bool]:
    async with db() as s:
        resident = await make_resident(s, town.org, town.district_a, name="高橋 三郎")
        await give_consent(s, resident, ConsentRecipient.VOLUNTEERS)
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        s.add(
            Assignment(
                org_id=town.org.id,
                resident_id=resident.id,
                user_id=town.volunteer.id,
                role="primary",
                started_at=now,
            )
        )
    return lambda body: resident.id in {r["id"] for r in body["changes"]["residents"]["updated"]}


async def _consent_withdrawn(db: Any, town: Town, now: datetime) -> Callable[[dict[str, Any]], bool]:
    async with db() as s:
        consent = await s.scalar(
            select(Consent).where(
                Consent.resident_id == town.shared.id, Consent.recipient == ConsentRecipient.VOLUNTEERS
            )
        )
        consent.status = ConsentStatus.WITHDRAWN
    return lambda body: town.shared.id in body["changes"]["residents"]["deleted"]


async def _assignment_removed(db: Any, town: Town, now: datetime) -> Callable[[dict[str, Any]], bool]:
    async with db() as s:
        assignment = await s.scalar(
            select(Assignment).where(Assignment.resident_id == town.shared.id, Assignment.ended_at.is_(None))
        )
        assignment.ended_at = now
    return lambda body: town.shared.id in body["changes"]["residents"]["deleted"]


async def _notification(db: Any, town: Town, now: datetime) -> Callable[[dict[str, Any]], bool]:
    async with db() as s:
        note = Notification(
            org_id=town.org.id, user_id=town.volunteer.id, kind="reminder", title="明日の訪問", body=""
        )
        s.add(note)
    return lambda body: note.id in {r["id"] for r in body["changes"]["notifications"]["updated"]}


async def _resident_ended(db: Any, town: Town, now: datetime) -> Callable[[dict[str, Any]], bool]:
    async with db() as s:
        resident = await s.get(Resident, town.shared.id)
        resident.status = "ended"
    return lambda body: town.shared.id in body["changes"]["residents"]["deleted"]


CHANGES: dict[str, Callable[[Any, Town, datetime], Awaitable[Callable[[dict[str, Any]], bool]]]] = {
    "note_by_someone_else": _new_note,
    "visit": _new_visit,
    "resident": _new_resident,
    "consent_withdrawn": _consent_withdrawn,
    "assignment_removed": _assignment_removed,
    "notification": _notification,
    "resident_ended": _resident_ended,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_change_takes_the_full_comparison(client, db, town: Town, now, change: str) -> None:
    device = await _settled(client, "vol")
    delivered = await CHANGES[change](db, town, now)
    fast = FIGURES["unchanged_pulls"]
    body = await device.pull()
    assert FIGURES["unchanged_pulls"] == fast
    assert delivered(body), body["changes"]


async def test_a_quarantined_push_is_rechecked_by_the_next_pull(client, db, town: Town, now) -> None:
    """The push changes no feed row the phone may see (the note is held), only the manifest: the
    next pull must still delete the phone's copy."""
    device = await _settled(client, "vol")
    note = device.create_note(town.private.id, ms(now))  # a resident the volunteer may not see
    result = await device.push()
    assert result is not None and [q["id"] for q in result["quarantined"]] == [note]
    fast = FIGURES["unchanged_pulls"]
    body = await device.pull()
    assert FIGURES["unchanged_pulls"] == fast
    assert note in body["changes"]["contact_notes"]["deleted"]


async def test_an_unknown_cursor_is_resent_whole(client, db, town: Town) -> None:
    device = await _settled(client, "vol")
    held = device.ids("residents")
    device.last_pulled_at = 1  # a restored backup: a cursor the server never placed for it
    fast = FIGURES["unchanged_pulls"]
    body = await device.pull()
    assert FIGURES["unchanged_pulls"] == fast
    assert {r["id"] for r in body["changes"]["residents"]["updated"]} == held == {town.shared.id}


async def test_another_scope_takes_the_full_comparison(client, db, town: Town, now) -> None:
    """The scope key: the organisation's time zone (its calendar day), the day itself, the schema
    version, a migration."""
    device = await _settled(client, "vol")
    fast = FIGURES["unchanged_pulls"]
    async with db() as s:
        await s.execute(
            update(Organisation).where(Organisation.id == town.org.id).values(timezone="America/Los_Angeles")
        )
    await device.pull()  # 20:00 the previous day in Los Angeles: another scope day
    assert FIGURES["unchanged_pulls"] == fast
    clock.set(now + timedelta(days=1))
    device.headers = await login(client, "vol")  # the access token expired overnight
    await device.pull()
    assert FIGURES["unchanged_pulls"] == fast
    device.version -= 1
    await device.pull()
    assert FIGURES["unchanged_pulls"] == fast
    device.version += 1
    await device.pull()
    assert FIGURES["unchanged_pulls"] == fast
    await device.pull(migration={"from": device.version - 1, "tables": [], "columns": []})
    assert FIGURES["unchanged_pulls"] == fast


async def test_after_a_new_day_one_full_comparison_then_the_fast_path_again(
    client, db, town: Town, now
) -> None:
    """The day is part of the scope: the first pull after local midnight compares in full and,
    finding the same rows, keeps them under the new day's key, so the pulls after it are no-ops
    again (not a full comparison on every pull until something changes for the phone)."""
    device = await _settled(client, "vol")
    held = device.ids("residents")
    clock.set(now + timedelta(days=1))
    device.headers = await login(client, "vol")  # the access token expired overnight
    fast = FIGURES["unchanged_pulls"]
    assert _empty(await device.pull())
    assert FIGURES["unchanged_pulls"] == fast  # the new day: compared in full
    for _ in range(2):
        assert _empty(await device.pull())
    assert FIGURES["unchanged_pulls"] == fast + 2
    assert device.ids("residents") == held
    # A change that day is still delivered, by the full comparison.
    await add_note(db, town, town.shared, town.coordinator, now + timedelta(days=1))
    body = await device.pull()
    assert body["changes"]["contact_notes"]["updated"] or body["changes"]["contact_notes"]["created"]
    assert FIGURES["unchanged_pulls"] == fast + 2


async def _last_sync(db: Any, client_id: str = "phone-1") -> datetime | None:
    async with db() as s:
        return await s.scalar(select(DeviceRow.last_sync_at).where(DeviceRow.client_id == client_id))


async def test_last_sync_at_is_refreshed_unless_seconds_old(client, db, town: Town, now) -> None:
    """A retry loop writes last_sync_at every few seconds, not per pull; a pull 10 s after the last
    one is recorded (a missed-contact alert asks whether the phone synced after a window closed)."""
    device = await _settled(client, "vol")
    assert await _last_sync(db) == now
    clock.set(now + timedelta(seconds=4))
    assert _empty(await device.pull())
    assert await _last_sync(db) == now  # seconds old: not written
    clock.set(now + timedelta(seconds=10))
    await device.pull()
    assert await _last_sync(db) == now + timedelta(seconds=10)
    # A pull that delivers something always records the sync.
    clock.set(now + timedelta(seconds=12))
    await add_note(db, town, town.shared, town.coordinator, now)
    await device.pull()
    assert await _last_sync(db) == now + timedelta(seconds=12)


async def test_a_no_op_pull_that_writes_does_so_in_a_transaction(
    client, db, town: Town, now, monkeypatch, backend
) -> None:
    """PostgreSQL: the autocommit read only answers a pull that writes nothing; one that must
    write (here `last_sync_at`, 10 s old) is decided again and written between BEGIN and COMMIT
    on one connection, holding the state row's lock."""
    if backend != "postgresql":
        pytest.skip("SQLite's pull runs in its usual transactions")
    device = await _settled(client, "vol")
    clock.set(now + timedelta(seconds=10))
    with counting(monkeypatch) as counted:
        assert _empty(await device.pull())
    assert await _last_sync(db) == now + timedelta(seconds=10)
    written = [i for i, (_, s) in enumerate(counted.request) if s.lstrip().upper().startswith("UPDATE")]
    assert written, counted.request
    conn = counted.request[written[0]][0]
    mine = [s.lstrip().split()[0].upper() for c, s in counted.request if c == conn]
    begin, commit = mine.index("BEGIN"), len(mine) - 1 - mine[::-1].index("COMMIT")
    assert begin < mine.index("UPDATE") < commit, mine
    assert "FOR UPDATE" in " ".join(s for c, s in counted.request if c == conn), mine


async def test_a_phone_busy_elsewhere_waits_for_the_full_comparison(live, db, town: Town, backend) -> None:
    """PostgreSQL: while another request of the phone holds its state row, the fast path does not
    read (its snapshot could predate that request's commit): the pull waits and compares."""
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    device = Device(live, await login(live, "vol"))  # type: ignore[arg-type]
    await device.pull()
    await device.pull()
    device_id = await _device_id(db, "phone-1")
    fast = FIGURES["unchanged_pulls"]
    async with db() as s:
        await s.execute(
            select(SyncDeviceState).where(SyncDeviceState.device_id == device_id).with_for_update()
        )
        pending = asyncio.create_task(device.pull())
        await asyncio.sleep(0.5)
        assert not pending.done()  # waiting for the row, not answered from a snapshot
    assert _empty(await pending)
    assert FIGURES["unchanged_pulls"] == fast
