"""Building a `Principal` for a user: the one place that loads what access rules need to know
about the asker — role, districts and the organisation's time zone (every calendar rule is judged
in it). Requests, jobs and services that act for or check another user all come here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal, principal_for
from domain.models import Organisation, User, UserDistrict


async def org_timezone(session: AsyncSession, org_id: str) -> str:
    """The organisation's IANA time zone (identity-mapped: one lookup per session)."""
    return org_zone(await session.get(Organisation, org_id))


def org_zone(org: Organisation | None) -> str:
    return zone_or_default(org.timezone if org is not None else None)


def zone_or_default(timezone: str | None) -> str:
    """An organisation's time zone as read (possibly none): the default when there is none."""
    return timezone or "Asia/Tokyo"


async def principal_of(session: AsyncSession, user: User, *, device_id: str | None = None) -> Principal:
    districts = await session.scalars(select(UserDistrict.district_id).where(UserDistrict.user_id == user.id))
    return principal_for(user, districts.all(), await org_timezone(session, user.org_id), device_id=device_id)
