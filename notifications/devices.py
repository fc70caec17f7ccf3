"""Push tokens: one token belongs to one device, and a token nobody refreshed goes quiet."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.clock import utcnow
from domain.errors import NotFound
from domain.models import Device, User
from domain.settings import get_settings

log = logging.getLogger("mimamori.push")


async def register_push_token(session: AsyncSession, device: Device, token: str) -> None:
    """A token belongs to one device: seen on another device (a reinstall, a phone handed on), it
    moves here — from devices in any organisation. A token only comes from the phone itself, so
    whoever sends it holds that phone now: a device elsewhere keeping it would send its
    organisation's pushes, naming its residents, to the lock screen of a phone someone else uses.
    Called at login and by the push-token endpoint."""
    others = (
        await session.scalars(
            select(Device.id).where(Device.push_token == token, Device.id != device.id).order_by(Device.id)
        )
    ).all()
    if others:
        await session.execute(
            update(Device)
            .where(Device.id.in_(others), Device.push_token == token)
            .values(push_token=None, push_token_updated_at=None)
            .execution_options(synchronize_session=False)
        )
        # Ids only: no token, no names.
        log.info("push token moved to device %s from device(s) %s", device.id, ", ".join(others))
    device.push_token = token
    device.push_token_updated_at = utcnow()


async def own_device(session: AsyncSession, principal: Principal, device_id: str) -> Device:
    """The caller's own device by its server id or the app's installation id; another user's
    device is indistinguishable from a missing one."""
    device = await session.scalar(
        select(Device).where(
            Device.org_id == principal.org_id,
            Device.user_id == principal.user_id,
            or_(Device.id == device_id, Device.client_id == device_id),
        )
    )
    if device is None or device.revoked_at is not None:
        raise NotFound("error.device_not_found")
    return device


async def set_push_token(session: AsyncSession, principal: Principal, device_id: str, token: str) -> Device:
    device = await own_device(session, principal, device_id)
    await register_push_token(session, device, token)
    device.last_seen_at = utcnow()
    await session.flush()
    return device


async def clear_push_token(session: AsyncSession, principal: Principal, device_id: str) -> None:
    device = await own_device(session, principal, device_id)
    device.push_token = None
    device.push_token_updated_at = None


def stale_before(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=get_settings().push.stale_token_days)


def can_receive_push(now: datetime | None = None) -> ColumnElement[bool]:
    """WHERE clause on `Device`: not revoked, its user active, has a token refreshed recently
    enough, and nobody signed out on it since the token was sent (a token sent at a later sign-in
    counts again)."""
    return and_(
        Device.revoked_at.is_(None),
        Device.push_token.is_not(None),
        Device.push_token_updated_at.is_not(None),
        Device.push_token_updated_at >= stale_before(now),
        or_(Device.signed_out_at.is_(None), Device.push_token_updated_at >= Device.signed_out_at),
        select(User.id).where(User.id == Device.user_id, User.active.is_(True)).exists(),
    )


async def deactivate_token(session: AsyncSession, device_id: str, token: str) -> None:
    """FCM said the token is dead. Only clear it if the phone has not sent a new one since."""
    await session.execute(
        update(Device)
        .where(Device.id == device_id, Device.push_token == token)
        .values(push_token=None, push_token_updated_at=None)
        .execution_options(synchronize_session=False)
    )
