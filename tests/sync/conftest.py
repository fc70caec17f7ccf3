"""A small town for sync tests: two districts, a coordinator, two commissioners, a volunteer,
residents with and without consent, visits and notes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar

from domain.clock import clock, to_millis
from domain.enums import ConsentRecipient, Role
from domain.models import ContactNote, District, Organisation, Resident, User, Visit
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.sync.device import Device
from tests.sync.faults import Recorder, live_client

__all__ = ["Recorder"]

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


@dataclass
class Town:
    org: Organisation
    district_a: District
    district_b: District
    coordinator: User
    commissioner: User  # holds district A
    commissioner_b: User  # holds district B
    volunteer: User
    shared: Resident  # district A, consent for commissioner and volunteers, assigned to the volunteer
    private: Resident  # district A, consent for the commissioner only
    other: Resident  # district B
    visit: Visit  # of `shared`, assigned to the volunteer, due tomorrow


def ms(moment: datetime) -> int:
    value = to_millis(moment)
    assert value is not None
    return value


@pytest.fixture
def now() -> datetime:
    clock.set(NOW)
    return NOW


@pytest.fixture
async def town(db: Any, now: datetime) -> Town:
    async with db() as s:
        org = await make_org(s)
        a = await make_district(s, org, "中央地区")
        b = await make_district(s, org, "北地区")
        coordinator = await make_user(s, org, Role.COORDINATOR, "coord")
        commissioner = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[a])
        commissioner_b = await make_user(s, org, Role.COMMISSIONER, "comm-b", districts=[b])
        volunteer = await make_user(s, org, Role.VOLUNTEER, "vol")
        shared = await make_resident(s, org, a, name="佐藤 一郎", birth_year=1940)
        await give_consent(s, shared, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(s, shared, ConsentRecipient.VOLUNTEERS)
        await assign(s, shared, volunteer)
        private = await make_resident(s, org, a, name="鈴木 花子")
        await give_consent(s, private, ConsentRecipient.DISTRICT_COMMISSIONER)
        other = await make_resident(s, org, b, name="田中 次郎")
        await give_consent(s, other, ConsentRecipient.DISTRICT_COMMISSIONER)
        visit = Visit(
            org_id=org.id,
            occurrence_key="2026-06-02",
            resident_id=shared.id,
            assignee_id=volunteer.id,
            due_start=now + timedelta(days=1),
            due_end=now + timedelta(days=1, hours=8),
        )
        s.add(visit)
        await s.flush()
    return Town(
        org, a, b, coordinator, commissioner, commissioner_b, volunteer, shared, private, other, visit
    )


async def phone(client: Any, login_name: str, device_id: str = "phone-1", **kw: Any) -> Device:
    return Device(client, await login(client, login_name, device_id=device_id), **kw)


async def add_note(
    db: Any, town: Town, resident: Resident, author: User, occurred_at: datetime, **fields: Any
) -> ContactNote:
    async with db() as s:
        note = ContactNote(
            org_id=town.org.id,
            resident_id=resident.id,
            author_id=author.id,
            method=fields.pop("method", "home_visit"),
            outcome=fields.pop("outcome", "met_well"),
            occurred_at=occurred_at,
            received_at=occurred_at,
            **fields,
        )
        s.add(note)
    return note


@pytest.fixture
async def live(app: Litestar) -> AsyncIterator[Recorder]:
    """Requests that really run concurrently: the app in this test's event loop (the Litestar test
    client runs one request at a time on a thread of its own)."""
    async with live_client(app) as c:
        yield c
