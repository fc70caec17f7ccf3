"""Concurrent pushes on PostgreSQL (issue #9, defects 2 and 3), with requests that really run at
the same time: locks in one order (no deadlock answered 500) and conflict checks on locked rows
(of two edits of one note from the same cursor, exactly one wins)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from domain.models import ContactNote
from tests.factories import login
from tests.sync.conftest import Recorder, Town, ms
from tests.sync.device import Device, SyncConflict

pytestmark = pytest.mark.postgres_only


async def _phone(live: Recorder, login_name: str, device_id: str) -> Device:
    return Device(live, await login(live, login_name, device_id=device_id))  # type: ignore[arg-type]


async def _push(device: Device) -> int:
    try:
        await device.push()
    except SyncConflict:
        return 409
    return 200


async def test_pushes_about_the_same_residents_in_opposite_orders_never_fail(
    live, db, town: Town, now
) -> None:
    phones = [
        await _phone(live, name, f"phone-{name}-{i}") for i, name in enumerate(("comm", "coord", "comm"))
    ]
    await asyncio.gather(*(p.pull() for p in phones))
    pair = [town.shared.id, town.private.id]
    rounds = 40
    for round_ in range(rounds):
        for index, phone in enumerate(phones):  # one phone: shared, private — the others: private, shared
            for resident in pair if index == 0 else pair[::-1]:
                phone.create_note(resident, ms(now), body=f"{index}-{round_}-{resident}")
        outcomes = await asyncio.gather(*(_push(p) for p in phones))
        assert set(outcomes) <= {200, 409}
        for phone, outcome in zip(phones, outcomes, strict=True):
            if outcome == 409:  # after the server's retries: the phone syncs again
                await phone.sync()
    assert not [s for s in live.statuses if s >= 500]
    async with db() as s:
        bodies = (await s.scalars(select(ContactNote.body).where(ContactNote.org_id == town.org.id))).all()
    assert len(bodies) == len(set(bodies)) == rounds * 6  # every note once


async def test_two_phones_editing_one_note_from_the_same_cursor_one_wins(live, db, town: Town, now) -> None:
    a, b = await _phone(live, "comm", "phone-a"), await _phone(live, "comm", "phone-b")
    for round_ in range(8):
        note = a.create_note(town.shared.id, ms(now), body="original")
        await a.sync()
        await asyncio.gather(a.pull(), b.pull())
        assert a.last_pulled_at == b.last_pulled_at  # the same cursor, the note current at it
        a.update("contact_notes", note, body=f"edited on a {round_}")
        b.update("contact_notes", note, body=f"edited on b {round_}")
        outcomes = await asyncio.gather(_push(a), _push(b))
        assert sorted(outcomes) == [200, 409], outcomes
        winner = "a" if outcomes[0] == 200 else "b"
        async with db() as s:
            stored = await s.scalar(select(ContactNote.body).where(ContactNote.id == note))
        assert stored == f"edited on {winner} {round_}"
        loser = b if winner == "a" else a
        await loser.pull()  # the loser merges (its own edit wins locally) and pushes again
        await loser.push()
    assert not [s for s in live.statuses if s >= 500]
