"""Fixtures for the notifications tests: a small organisation with people and phones, the FCM
transport over the real firebase-admin code path (answered by an in-process stand-in), and a
fresh dispatcher configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import clock, utcnow
from domain.db import create_db_config
from domain.enums import ConsentRecipient, Role
from domain.models import Device, District, Organisation, Resident, User
from domain.settings import PushSettings, Settings
from notifications import transports
from notifications.fcm import FcmTransport
from notifications.testing import PROJECT_ID, FcmStandIn, TestCredential
from tests.factories import assign, give_consent, make_district, make_org, make_resident, make_user

# 10:00 in Tokyo: outside the default quiet hours (21:00–08:00).
DAYTIME = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
# 23:00 in Tokyo: inside them.
NIGHT = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@dataclass
class World:
    org: Organisation
    district: District
    other_district: District
    coordinator: User
    commissioner: User
    volunteer: User
    resident: Resident  # in `district`, assigned to the volunteer, consent for everyone
    other_resident: Resident  # in `other_district`, not assigned to the volunteer
    phones: dict[str, Device]  # user login -> device with a fresh push token
    other_org: Organisation
    outsider: User  # coordinator of the other organisation


async def add_phone(
    session: AsyncSession, user: User, token: str, client_id: str = "phone-1", **fields
) -> Device:
    device = Device(
        org_id=user.org_id,
        user_id=user.id,
        client_id=client_id,
        platform="android",
        push_token=token,
        push_token_updated_at=fields.pop("push_token_updated_at", utcnow()),
        **fields,
    )
    session.add(device)
    await session.flush()
    return device


@pytest.fixture
def db_config(settings: Settings):
    return create_db_config(settings)


@pytest.fixture
async def world(db: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> World:
    clock.set(DAYTIME)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        other_district = await make_district(session, org, "北地区")
        coordinator = await make_user(session, org, Role.COORDINATOR, "coord", locale="ja")
        commissioner = await make_user(
            session, org, Role.COMMISSIONER, "comm", districts=[district], locale="en"
        )
        volunteer = await make_user(session, org, Role.VOLUNTEER, "vol")
        resident = await make_resident(session, org, district)
        other_resident = await make_resident(session, org, other_district, name="佐藤 一郎")
        for who in (resident, other_resident):
            for recipient in ConsentRecipient:
                await give_consent(session, who, recipient)
        await assign(session, resident, volunteer)
        phones = {}
        for user in (coordinator, commissioner, volunteer):
            phones[user.login] = await add_phone(session, user, f"token-{user.login}")
        other_org = await make_org(session, "別の市")
        outsider = await make_user(session, other_org, Role.COORDINATOR, "outsider")
        await add_phone(session, outsider, "token-outsider")
    return World(
        org,
        district,
        other_district,
        coordinator,
        commissioner,
        volunteer,
        resident,
        other_resident,
        phones,
        other_org,
        outsider,
    )


@pytest.fixture
def push_config() -> PushSettings:
    return PushSettings(_env_file=None)


@pytest.fixture
async def fcm() -> AsyncIterator[tuple[FcmTransport, FcmStandIn]]:
    """The real firebase-admin path: our FCM transport, answered in process."""
    transport = FcmTransport(TestCredential(), project_id=PROJECT_ID)
    standin = FcmStandIn().start()
    try:
        yield transport, standin
    finally:
        standin.stop()
        await transport.close()


@pytest.fixture(autouse=True)
def _no_process_transport():
    yield
    transports.use(None)
