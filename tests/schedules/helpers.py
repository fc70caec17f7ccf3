"""Builders and queries shared by the schedules tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.enums import ContactMethod, ContactOutcome
from domain.events import contact_recorded
from domain.models import Alert, ContactNote, Notification, Resident, User, Visit


async def record_note(
    session: AsyncSession,
    resident: Resident,
    author: User,
    occurred_at: datetime,
    outcome: ContactOutcome = ContactOutcome.MET_WELL,
    method: ContactMethod = ContactMethod.HOME_VISIT,
    **fields: Any,
) -> ContactNote:
    """What sync does for a pushed note: write it, then tell the listeners in the same transaction."""
    note = ContactNote(
        org_id=resident.org_id,
        resident_id=resident.id,
        author_id=author.id,
        method=method,
        outcome=outcome,
        occurred_at=occurred_at,
        received_at=utcnow(),
        **fields,
    )
    session.add(note)
    await session.flush()
    await contact_recorded(session, note)
    return note


async def visits_of(session: AsyncSession, resident: Resident) -> list[Visit]:
    return list(
        await session.scalars(select(Visit).where(Visit.resident_id == resident.id).order_by(Visit.due_start))
    )


async def alerts_of(session: AsyncSession, resident: Resident | None = None) -> list[Alert]:
    query = select(Alert).order_by(Alert.opened_at, Alert.id)
    if resident is not None:
        query = query.where(Alert.resident_id == resident.id)
    return list(await session.scalars(query))


async def notifications_for(session: AsyncSession, user: User, kind: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.created_at)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(await session.scalars(query))
