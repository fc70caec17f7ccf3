"""Small builders for test data, written through the same models (and change feed) as the service."""

from __future__ import annotations

from datetime import date
from typing import Any

from argon2 import PasswordHasher, profiles
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.enums import AssignmentRole, ConsentRecipient, ConsentStatus, Role
from domain.models import Assignment, Consent, District, Organisation, Resident, User, UserDistrict

PASSWORD = "correct-horse-battery"
_HASH = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(PASSWORD)


async def make_org(session: AsyncSession, name: str = "テスト市") -> Organisation:
    org = Organisation(name=name)
    session.add(org)
    await session.flush()
    return org


async def make_district(session: AsyncSession, org: Organisation, name: str = "中央地区") -> District:
    district = District(org_id=org.id, name=name)
    session.add(district)
    await session.flush()
    return district


async def make_user(
    session: AsyncSession,
    org: Organisation,
    role: Role,
    login: str,
    *,
    districts: list[District] = (),  # type: ignore[assignment]
    **fields: Any,
) -> User:
    user = User(
        org_id=org.id,
        login=login,
        display_name=fields.pop("display_name", login),
        role=role,
        password_hash=fields.pop("password_hash", _HASH),
        **fields,
    )
    session.add(user)
    await session.flush()
    for district in districts:
        session.add(UserDistrict(org_id=org.id, user_id=user.id, district_id=district.id))
    await session.flush()
    return user


async def make_resident(
    session: AsyncSession, org: Organisation, district: District, **fields: Any
) -> Resident:
    resident = Resident(
        org_id=org.id,
        district_id=district.id,
        name=fields.pop("name", "山田 花子"),
        kana=fields.pop("kana", "ヤマダ ハナコ"),
        address=fields.pop("address", "テスト市中央1-2-3"),
        **fields,
    )
    session.add(resident)
    await session.flush()
    return resident


async def give_consent(
    session: AsyncSession,
    resident: Resident,
    recipient: ConsentRecipient,
    status: ConsentStatus = ConsentStatus.GIVEN,
    **fields: Any,
) -> Consent:
    consent = Consent(
        org_id=resident.org_id,
        resident_id=resident.id,
        recipient=recipient,
        status=status,
        given_on=fields.pop("given_on", date(2026, 1, 1)),
        **fields,
    )
    session.add(consent)
    await session.flush()
    return consent


async def assign(
    session: AsyncSession, resident: Resident, user: User, role: AssignmentRole = AssignmentRole.PRIMARY
) -> Assignment:
    assignment = Assignment(
        org_id=resident.org_id, resident_id=resident.id, user_id=user.id, role=role, started_at=utcnow()
    )
    session.add(assignment)
    await session.flush()
    return assignment


async def login(
    client: AsyncTestClient[Any], login_name: str, password: str = PASSWORD, device_id: str = "phone-1"
) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": login_name, "password": password, "device": {"id": device_id, "platform": "android"}},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
