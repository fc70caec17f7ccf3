"""Fault injection for sync: several simulated WatermelonDB phones per user, driven by a seeded
schedule of what real networks and phones do — answers lost, requests delivered again after newer
ones, two syncs of one phone at once, uploads cut mid-body, the app killed between requests — while
a coordinator changes consent, assignments and notes on the server.

After a clean final sync the checks are what a user would check: every note written on a phone is
on the server exactly once (or held in quarantine when its resident left the writer's scope first),
every phone shows exactly what a freshly installed phone of its user shows (so nothing out of scope
is left anywhere), and no request was answered 5xx. Used by tests/sync/test_faults.py and by the
sync benchmark (bench/sync_bench.py).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import to_millis, utcnow
from domain.enums import ConsentRecipient, ConsentStatus, Role
from domain.models import Assignment, Consent, ContactNote, QuarantinedRecord, Resident, User
from sync.pull import FIGURES
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.sync.device import ConcurrentSync, Device, LostResponse, SyncConflict


class Recorder(httpx.AsyncClient):
    """An HTTP client that remembers every status it saw (a 5xx anywhere fails the fault tests)."""

    statuses: list[int]

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await super().send(request, **kwargs)
        self.statuses.append(response.status_code)
        return response


@asynccontextmanager
async def live_client(app: Any) -> AsyncIterator[Recorder]:
    """Requests that really run concurrently: the app in the caller's event loop (the Litestar test
    client runs one request at a time on a thread of its own)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:  # the lifespan is entered and left in one task (anyio insists)
        async with app.lifespan():
            started.set()
            await stop.wait()

    server = asyncio.create_task(serve())
    await started.wait()
    try:
        async with Recorder(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
            c.statuses = []
            yield c
    finally:
        stop.set()
        await server


Db = Callable[[], AbstractAsyncContextManager[AsyncSession]]
RESIDENTS = 5
CUT_OK = 499  # the client closed the connection: never a 5xx


@dataclass
class Report:
    seed: int
    rounds: int = 0
    seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    full_resends: int = 0  # cursors the server could not place (target: zero)
    stale_full_resends: int = 0  # late duplicates from below the phone's floor (answer never applied)
    lock_retries: int = 0  # pushes retried after a deadlock or serialization failure (target: zero)
    statuses: Counter[int] = field(default_factory=Counter)

    def line(self) -> str:
        faults = sum(self.faults.values())
        return (
            f"seed {self.seed}: {self.rounds} rounds in {self.seconds:.1f} s, {faults} faults injected "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.faults.items()))}), full resends "
            f"{self.full_resends} (late duplicates below the floor: {self.stale_full_resends}), "
            f"push lock retries {self.lock_retries}, "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


@dataclass
class Phone:
    device: Device
    user: int  # index into World.users


@dataclass
class World:
    org_id: str
    users: list[User]  # coordinator, commissioner, volunteer 0, volunteer 1
    residents: list[str]
    phones: list[Phone]
    assigned: set[tuple[int, int]] = field(default_factory=set)  # (user index, resident index)
    consent: set[int] = field(default_factory=set)  # residents whose consent covers volunteers
    written: dict[str, int] = field(default_factory=dict)  # note id → user index of its author
    coordinator_notes: list[str] = field(default_factory=list)
    withdrawn: set[str] = field(default_factory=set)  # notes their author deleted on the phone
    lost_updates: list[str] = field(default_factory=list)


COORDINATOR, COMMISSIONER, VOLUNTEERS = 0, 1, (2, 3)


async def build_world(db: Db, client: Any, tag: str) -> World:
    async with db() as s:
        org = await make_org(s, f"町{tag}")
        district = await make_district(s, org)
        users = [
            await make_user(s, org, Role.COORDINATOR, f"fc{tag}"),
            await make_user(s, org, Role.COMMISSIONER, f"fm{tag}", districts=[district]),
            await make_user(s, org, Role.VOLUNTEER, f"fv0{tag}"),
            await make_user(s, org, Role.VOLUNTEER, f"fv1{tag}"),
        ]
        residents = [await make_resident(s, org, district, name=f"住民{i}") for i in range(RESIDENTS)]
        for resident in residents:
            await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
    world = World(org.id, users, [r.id for r in residents], [])
    # two phones for the commissioner and the first volunteer, one for the others
    for user, copies in ((COORDINATOR, 1), (COMMISSIONER, 2), (VOLUNTEERS[0], 2), (VOLUNTEERS[1], 1)):
        for copy in range(copies):
            headers = await login(client, users[user].login, device_id=f"f{tag}-{user}-{copy}")
            world.phones.append(Phone(Device(client, headers), user))
    return world


# --- the coordinator, on the server -------------------------------------------------------------
async def toggle_consent(db: Db, world: World, r: int) -> None:
    async with db() as s:
        row = await s.scalar(
            select(Consent).where(
                Consent.resident_id == world.residents[r], Consent.recipient == ConsentRecipient.VOLUNTEERS
            )
        )
        resident = await s.get_one(Resident, world.residents[r])
        if row is None:
            await give_consent(s, resident, ConsentRecipient.VOLUNTEERS)
        else:
            row.status = ConsentStatus.WITHDRAWN if r in world.consent else ConsentStatus.GIVEN
    world.consent.symmetric_difference_update({r})


async def toggle_assignment(db: Db, world: World, v: int, r: int) -> None:
    async with db() as s:
        if (v, r) in world.assigned:
            row = await s.scalar(
                select(Assignment).where(
                    Assignment.user_id == world.users[v].id,
                    Assignment.resident_id == world.residents[r],
                    Assignment.ended_at.is_(None),
                )
            )
            assert row is not None
            row.ended_at = utcnow()
            world.assigned.discard((v, r))
        else:
            await assign(s, await s.get_one(Resident, world.residents[r]), world.users[v])
            world.assigned.add((v, r))


async def coordinator_note(db: Db, world: World, rng: random.Random) -> None:
    async with db() as s:
        if world.coordinator_notes and rng.random() < 0.5:
            note = await s.get_one(ContactNote, rng.choice(world.coordinator_notes))
            if rng.random() < 0.5:
                note.deleted_at = utcnow()
            else:
                note.body = f"{note.body} 追記"
            return
        now = utcnow()
        note = ContactNote(
            org_id=world.org_id,
            resident_id=rng.choice(world.residents),
            author_id=world.users[COORDINATOR].id,
            method="phone",
            outcome="met_well",
            body=f"coordinator {len(world.coordinator_notes)}",
            occurred_at=now,
            received_at=now,
        )
        s.add(note)
        await s.flush()
        world.coordinator_notes.append(note.id)


# --- phones ---------------------------------------------------------------------------------------
async def attempt_sync(phone: Phone, *, lose_pull: bool = False, lose_push: bool = False) -> None:
    """One `synchronize()` that may fail as it does on a phone: the caller just tries later."""
    try:
        await phone.device.pull(lose_response=lose_pull)
        await phone.device.push(lose_response=lose_push)
    except (SyncConflict, ConcurrentSync, LostResponse):
        pass


def occurred_at(world: World) -> int:
    """When the next note happened, by the phones' clocks: a second after the previous one (the
    server's clock stands still in tests). Each note is then its resident's latest contact, so a
    push updates every resident it names, as on real phones (pushes lock those rows)."""
    return (to_millis(utcnow()) or 0) - 86_400_000 + len(world.written) * 1000


def write_note(world: World, phone: Phone, rng: random.Random) -> None:
    held = sorted(phone.device.ids("residents"))
    if held:
        n = len(world.written)
        note = phone.device.create_note(rng.choice(held), occurred_at(world), body=f"note {n}")
        world.written[note] = phone.user


def own_notes(world: World, phone: Phone) -> list[str]:
    return sorted(i for i in phone.device.ids("contact_notes") if world.written.get(i) == phone.user)


async def cut_push(app: Any, phone: Phone) -> int | None:
    from tests.sync.test_transport import cut_upload

    changes = phone.device.local_changes()
    if not any(any(ops.values()) for ops in changes.values()):
        return None
    url = f"/api/v1/sync/push?last_pulled_at={phone.device.last_pulled_at or 0}&schema_version={phone.device.version}"
    return await cut_upload(app, url, phone.device.headers, json.dumps(changes).encode())


async def race_edit(world: World, pair: list[Phone], rng: random.Random) -> bool:
    """Both phones of one user edit the same note from the same state and push at once: exactly
    one edit may be applied (the other is a 409: pull, merge, push again)."""
    for phone in pair:
        await attempt_sync(phone)
    if any(p.device.has_local_changes() for p in pair):
        return False
    notes = sorted(set(own_notes(world, pair[0])) & set(own_notes(world, pair[1])))
    if not notes:
        return False
    note = rng.choice(notes)
    for index, phone in enumerate(pair):
        phone.device.update("contact_notes", note, body=f"{note} edited on {index} at {rng.random()}")
    results = await asyncio.gather(*(_push_outcome(p) for p in pair))
    if results.count("applied") > 1:
        world.lost_updates.append(note)
    return True


async def _push_outcome(phone: Phone) -> str:
    try:
        body = await phone.device.push()
    except SyncConflict:
        return "conflict"
    return "applied" if body and body["applied"] else "nothing"


async def cross_push(world: World, rng: random.Random) -> bool:
    """Two users' phones push notes about the same residents in opposite orders at once."""
    a = next(p for p in world.phones if p.user == COORDINATOR)
    b = next(p for p in world.phones if p.user == COMMISSIONER)
    common = sorted(a.device.ids("residents") & b.device.ids("residents"))
    if len(common) < 2:
        return False
    pair = rng.sample(common, 2)
    for phone, order in ((a, pair), (b, pair[::-1])):
        for resident in order:
            n = len(world.written)
            note = phone.device.create_note(resident, occurred_at(world), body=f"note {n}")
            world.written[note] = phone.user
    await asyncio.gather(*(_push_outcome(p) for p in (a, b)), return_exceptions=False)
    return True


OPERATIONS = {  # name: weight
    "note": 10,
    "edit": 5,
    "delete": 2,
    "sync": 10,
    "lost_pull": 5,
    "lost_push": 5,
    "killed_midway": 4,
    "duplicate": 10,
    "concurrent_syncs": 5,
    "pull_during_push": 4,
    "cut_upload": 3,
    "race_edit": 3,
    "cross_push": 3,
    "consent": 4,
    "assign": 5,
    "coordinator_note": 4,
}
FAULTS = {
    "lost_pull",
    "lost_push",
    "killed_midway",
    "duplicate",
    "concurrent_syncs",
    "pull_during_push",
    "cut_upload",
    "race_edit",
    "cross_push",
}


async def run(db: Db, client: Any, app: Any, *, seed: int, rounds: int, tag: str = "") -> Report:
    rng = random.Random(seed)
    report = Report(seed)
    resends = (FIGURES["full_resends"], FIGURES["stale_full_resends"], FIGURES["push_lock_retries"])
    started = time.perf_counter()
    world = await build_world(db, client, tag or str(seed))
    for phone in world.phones:
        await attempt_sync(phone)
    names, weights = list(OPERATIONS), list(OPERATIONS.values())
    for _ in range(rounds):
        op = rng.choices(names, weights)[0]
        phone = rng.choice(world.phones)
        done = await _step(op, db, client, app, world, phone, rng)
        if done and op in FAULTS:
            report.faults[op] += 1
        report.rounds += 1

    # A clean final sync: every phone, twice over, so that each sees what the others pushed.
    for _ in range(2):
        for phone in world.phones:
            await phone.device.sync()
    report.seconds = time.perf_counter() - started
    report.full_resends = FIGURES["full_resends"] - resends[0]
    report.stale_full_resends = FIGURES["stale_full_resends"] - resends[1]
    report.lock_retries = FIGURES["push_lock_retries"] - resends[2]
    try:
        await check(db, client, world)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from exc
    return report


async def _step(
    op: str, db: Db, client: Any, app: Any, world: World, phone: Phone, rng: random.Random
) -> bool:
    device = phone.device
    if op == "note":
        write_note(world, phone, rng)
    elif op == "edit" and (mine := own_notes(world, phone)):
        device.update("contact_notes", rng.choice(mine), body=f"edited {rng.random()}")
    elif op == "delete" and (mine := own_notes(world, phone)):
        note = rng.choice(mine)
        device.delete("contact_notes", note)
        world.withdrawn.add(note)
    elif op == "sync":
        await attempt_sync(phone)
    elif op == "lost_pull":
        await attempt_sync(phone, lose_pull=True)
    elif op == "lost_push":
        await attempt_sync(phone, lose_push=True)
    elif op == "killed_midway":  # the app is killed after the pull, before the push
        try:
            await device.pull()
        except ConcurrentSync:
            pass
    elif op == "duplicate":  # one of its recent requests arrives again, after newer ones
        if not device.sent:
            return False
        await device.replay(rng.randrange(max(0, len(device.sent) - 8), len(device.sent)))
    elif op == "concurrent_syncs":
        await asyncio.gather(attempt_sync(phone), attempt_sync(phone))
    elif op == "pull_during_push":
        await asyncio.gather(attempt_sync(phone), _pull_quietly(device))
    elif op == "cut_upload":
        status = await cut_push(app, phone)
        if status is None:
            return False
        assert status == CUT_OK, status
    elif op == "race_edit":
        pair = [p for p in world.phones if p.user == phone.user]
        return len(pair) == 2 and await race_edit(world, pair, rng)
    elif op == "cross_push":
        return await cross_push(world, rng)
    elif op == "consent":
        await toggle_consent(db, world, rng.randrange(RESIDENTS))
    elif op == "assign":
        await toggle_assignment(db, world, rng.choice(VOLUNTEERS), rng.randrange(RESIDENTS))
    elif op == "coordinator_note":
        await coordinator_note(db, world, rng)
    else:
        return False
    return True


async def _pull_quietly(device: Device) -> None:
    try:
        await device.pull()
    except (ConcurrentSync, LostResponse):
        pass


async def check(db: Db, client: Any, world: World) -> None:
    assert world.lost_updates == [], (
        f"two edits of one note from the same cursor both applied: {world.lost_updates}"
    )
    async with db() as s:
        notes = (
            await s.execute(
                select(ContactNote.id, ContactNote.body, ContactNote.author_id).where(
                    ContactNote.org_id == world.org_id
                )
            )
        ).all()
        held = set(
            (
                await s.scalars(
                    select(QuarantinedRecord.record_id).where(QuarantinedRecord.org_id == world.org_id)
                )
            ).all()
        )
    on_server = {n.id for n in notes}
    for note_id in set(world.written) - world.withdrawn:  # nothing lost
        assert note_id in on_server or note_id in held, note_id
    bodies = [n.body for n in notes if n.id in world.written]
    assert len(bodies) == len(set(bodies)), "a note was stored twice"
    volunteer_scope = {
        v: {world.residents[r] for r in range(RESIDENTS) if (v, r) in world.assigned and r in world.consent}
        for v in VOLUNTEERS
    }
    for index, phone in enumerate(world.phones):
        device = phone.device
        assert not device.has_local_changes(), index
        if phone.user in volunteer_scope:
            assert device.ids("residents") == volunteer_scope[phone.user], index
        fresh = Device(
            client,
            await login(client, world.users[phone.user].login, device_id=f"fresh-{world.org_id[:8]}-{index}"),
        )
        await fresh.pull()
        mine, theirs = device.records(), fresh.records()
        for table in mine:
            assert mine[table] == theirs[table], (
                index,
                table,
                {"only on the phone": set(mine[table]) - set(theirs[table])},
                {"missing": set(theirs[table]) - set(mine[table])},
                {
                    "different": {
                        i for i in set(mine[table]) & set(theirs[table]) if mine[table][i] != theirs[table][i]
                    }
                },
            )


async def run_on(settings: Any, *, seed: int, rounds: int) -> Report:
    """A whole run against a database described by `settings` (the sync benchmark's entry)."""
    from api.app import create_app
    from domain.db import create_db_config, session_scope

    app = create_app(settings)
    config = create_db_config(settings)
    async with live_client(app) as client:
        report = await run(db=lambda: session_scope(config), client=client, app=app, seed=seed, rounds=rounds)
        report.statuses.update(client.statuses)
    await config.get_engine().dispose()
    return report
