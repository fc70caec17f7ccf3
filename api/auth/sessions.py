"""Ending sessions: one device (sign-out, a replayed refresh token) or every device of a person
(password reset, activation with a new password, deactivation) — console sessions included.

A session ends completely: its refresh tokens are revoked, access tokens issued before this moment
stop working (`Device.signed_out_at`, checked on every request) and the device's push token is
dropped, so that no push naming a resident reaches a phone nobody is signed in on. The app sends
its push token again with the next sign-in.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.models import ConsoleSession, Device, RefreshToken


async def end_device_session(session: AsyncSession, device_id: str) -> None:
    now = utcnow()
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.device_id == device_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(Device)
        .where(Device.id == device_id)
        .values(signed_out_at=now, push_token=None, push_token_updated_at=None)
        .execution_options(synchronize_session="fetch")
    )


async def end_user_sessions(session: AsyncSession, user_id: str) -> None:
    now = utcnow()
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(Device)
        .where(Device.user_id == user_id)
        .values(signed_out_at=now, push_token=None, push_token_updated_at=None)
        .execution_options(synchronize_session="fetch")
    )
