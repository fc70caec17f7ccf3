"""Builders and queries shared by the schedules tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import clock, utcnow
from domain.enums import ContactMethod, ContactOutcome
from domain.events import contact_recorded
from domain.models import Alert, ContactNote, Notification, Resident, User, Visit
from schedules import jobs

Event = Callable[[], Awaitable[None]]


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
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at, Notification.id)
    )
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(await session.scalars(query))


async def run_hours(
    db_config: SQLAlchemyAsyncConfig,
    start: datetime,
    end: datetime,
    events: dict[datetime, list[Event]],
    zone: ZoneInfo,
) -> None:
    """Drive the test clock hour by hour from `start` to `end`: each hour's scripted events first,
    then the jobs as the scheduler runs them (the sweep every hour, the contact-gap and sight checks
    every three hours, expansion daily at 03:00 local). Every scripted event must happen."""
    moment = start
    while moment < end:
        moment += timedelta(hours=1)
        clock.set(moment)
        for event in events.pop(moment, []):
            await event()
        if moment.astimezone(zone).hour == 3:
            await jobs.expand_plans(db_config)
        await jobs.sweep(db_config)
        if moment.astimezone(zone).hour % 3 == 0:
            await jobs.detect_contact_gaps(db_config)
            await jobs.follow_sight(db_config)
    assert not events, f"scripted events never happened: {sorted(events)}"
