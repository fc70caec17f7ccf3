"""Requests that really run at the same time on PostgreSQL: a retried office note whose first
attempt is still running, and office notes racing a phone's push for the same residents."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from domain.models import ContactNote
from tests.factories import login
from tests.sync.conftest import Recorder, Town, live, ms
from tests.sync.device import Device, SyncConflict

pytestmark = pytest.mark.postgres_only
__all__ = ["live"]


async def test_the_same_client_id_sent_concurrently_is_one_note(live: Recorder, db, town: Town, now) -> None:
    comm = await login(live, "comm")  # type: ignore[arg-type]
    url = f"/api/v1/residents/{town.shared.id}/contact-notes"
    for round_ in range(10):
        body = {"id": f"office-{round_}", "method": "phone", "outcome": "met_well"}
        answers = await asyncio.gather(*(live.post(url, json=body, headers=comm) for _ in range(3)))
        assert sorted(a.status_code for a in answers) == [200, 200, 201], [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
    async with db() as s:
        assert await s.scalar(select(func.count(ContactNote.id))) == 10


async def test_office_notes_racing_a_phone_push_never_fail(live: Recorder, db, town: Town, now) -> None:
    device = Device(live, await login(live, "comm", device_id="phone-comm"))  # type: ignore[arg-type]
    await device.pull()
    coord = await login(live, "coord", device_id="office-pc")  # type: ignore[arg-type]
    pair = [town.shared, town.private]
    rounds = 15

    async def push() -> int:
        try:
            await device.push()
        except SyncConflict:
            return 409
        return 200

    for round_ in range(rounds):
        for resident in pair:
            device.create_note(resident.id, ms(now), body=f"phone-{round_}-{resident.id}")
        office = [
            live.post(
                f"/api/v1/residents/{resident.id}/contact-notes",
                json={"method": "phone", "outcome": "met_well", "body": f"office-{round_}-{resident.id}"},
                headers=coord,
            )
            for resident in reversed(pair)  # the other order from the phone's
        ]
        outcomes = await asyncio.gather(push(), *office)
        if outcomes[0] == 409:
            await device.sync()
        assert all(getattr(o, "status_code", 201) in (201, 409) for o in outcomes[1:])
    assert not [s for s in live.statuses if s >= 500]
    async with db() as s:
        bodies = (await s.scalars(select(ContactNote.body))).all()
    assert len([b for b in bodies if b.startswith("phone-")]) == rounds * 2
    assert len(bodies) == len(set(bodies))
