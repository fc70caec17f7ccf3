"""A small organisation for the console tests: a coordinator, a commissioner of one district, a
volunteer, residents in two districts (one assigned to the volunteer), their alerts, and another
organisation with an alert of its own that must never show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from domain import alerts as lifecycle
from domain.clock import clock
from domain.enums import AlertSeverity, ConsentRecipient, ContactMethod, ContactOutcome, RiskLevel, Role
from domain.models import Alert, ContactNote, Device, District, EmergencyContact, Organisation, Resident, User
from tests.factories import PASSWORD, assign, give_consent, make_district, make_org, make_resident, make_user

DAYTIME = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')
FAMILY_PHONE = "090-1111-2222"


@dataclass
class World:
    org: Organisation
    coordinator: User
    commissioner: User
    volunteer: User
    resident: Resident  # district A, assigned to the volunteer
    other_resident: Resident  # district B
    missed: Alert  # about `resident`
    urgent: Alert  # about `other_resident`, urgent
    foreign: Alert  # another organisation's
    foreign_name: str


@pytest.fixture
async def world(db) -> World:
    clock.set(DAYTIME)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        other_district = await make_district(session, org, "北地区")
        coordinator = await make_user(session, org, Role.COORDINATOR, "coord", display_name="調整 花子")
        commissioner = await make_user(
            session, org, Role.COMMISSIONER, "comm", districts=[district], locale="en"
        )
        volunteer = await make_user(session, org, Role.VOLUNTEER, "vol", display_name="奉仕 次郎")
        resident = await make_resident(session, org, district, name="山田 花子")
        other_resident = await make_resident(session, org, other_district, name="佐藤 一郎")
        for who in (resident, other_resident):
            for recipient in ConsentRecipient:
                await give_consent(session, who, recipient)
        await assign(session, resident, volunteer)
        session.add(
            Device(
                org_id=org.id,
                user_id=volunteer.id,
                client_id="phone-1",
                platform="android",
                last_sync_at=DAYTIME - timedelta(hours=3),  # 07:00 in Tokyo
            )
        )
        session.add(
            ContactNote(
                org_id=org.id,
                resident_id=resident.id,
                author_id=volunteer.id,
                method=ContactMethod.HOME_VISIT,
                outcome=ContactOutcome.NO_ANSWER,
                occurred_at=DAYTIME - timedelta(days=2),  # 25 Nov, 10:00 in Tokyo
                received_at=DAYTIME - timedelta(days=2),
            )
        )
        missed = await lifecycle.open_alert(
            session,
            org_id=org.id,
            kind="missed_visit",
            cause_key="missed:1",
            resident_id=resident.id,
        )
        urgent = await lifecycle.open_alert(
            session,
            org_id=org.id,
            kind="emergency",
            cause_key="urgent:1",
            resident_id=other_resident.id,
            severity=AlertSeverity.URGENT,
        )
        other_org = await make_org(session, "別の市")
        foreign_district = await make_district(session, other_org)
        foreign_resident = await make_resident(session, other_org, foreign_district, name="他市 太郎")
        await make_user(session, other_org, Role.COORDINATOR, "outsider")
        foreign = await lifecycle.open_alert(
            session,
            org_id=other_org.id,
            kind="missed_visit",
            cause_key="missed:x",
            resident_id=foreign_resident.id,
        )
    return World(
        org,
        coordinator,
        commissioner,
        volunteer,
        resident,
        other_resident,
        missed,
        urgent,
        foreign,
        foreign_resident.name,
    )


# The working list and the residents' pages: both residents overdue (registered 90 days ago), the
# other one last reached by phone 40 days ago, a third resident reached yesterday, katakana kana,
# and an emergency contact.


@dataclass
class Lists:
    world: World
    recent: Resident  # district A, reached yesterday: never on the working list


@pytest.fixture
async def lists(world, db) -> Lists:
    async with db() as session:
        resident = await session.get_one(Resident, world.resident.id)
        other = await session.get_one(Resident, world.other_resident.id)
        for who in (resident, other):
            who.created_at = DAYTIME - timedelta(days=90)
        resident.risk_level = RiskLevel.HIGH
        other.risk_level = RiskLevel.MEDIUM
        other.kana = "サトウ イチロウ"
        other.last_contact_at = DAYTIME - timedelta(days=40)  # 18 Oct, 10:00 in Tokyo
        session.add(
            ContactNote(
                org_id=world.org.id,
                resident_id=other.id,
                author_id=world.coordinator.id,
                method=ContactMethod.PHONE,
                outcome=ContactOutcome.MET_WELL,
                occurred_at=other.last_contact_at,
                received_at=other.last_contact_at,
                body="電話で元気と確認",
            )
        )
        session.add(
            EmergencyContact(
                org_id=world.org.id,
                resident_id=resident.id,
                name="山田 太郎",
                relation="長男",
                phone=FAMILY_PHONE,
            )
        )
        recent = await make_resident(
            session,
            world.org,
            await session.get_one(District, resident.district_id),
            name="鈴木 三郎",
            kana="スズキ サブロウ",
            last_contact_at=DAYTIME - timedelta(days=1),
        )
    return Lists(world, recent)


async def csrf_from(client, path: str = "/console/sign-in") -> str:
    response = await client.get(path)
    match = CSRF.search(response.text)
    assert match, response.text
    return match.group(1)


async def sign_in(client, login: str, password: str = PASSWORD) -> None:
    token = await csrf_from(client)
    response = await client.post(
        "/console/sign-in",
        data={"login": login, "password": password, "_csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"


@pytest.fixture
def async_playwright():
    """Playwright's async entry point; skips without Chromium or Playwright (fails under CI)."""
    from tests.console.browser import playwright_or_skip

    return playwright_or_skip()
