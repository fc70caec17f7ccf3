"""The Today page's rows: the open and acknowledged alerts the signed-in person may see, urgent
first, each with what a coordinator needs to act — the resident, the cause, the last contact, the
assignee and when the assignee's phone last synced ("not contacted" vs "not reported yet").

Alerts come from `notifications.alert_handling.list_alerts`, the same call as `GET /api/v1/alerts`
(scope: `domain.access.visible_alerts`); the extra columns obey the same rules (notes:
`visible_notes`; assignees: `may_read_assignments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal, may_read_assignments, visible_notes
from domain.enums import AlertStatus, AssignmentRole
from domain.models import Assignment, ContactNote, Device, Resident, User, Visit
from notifications import alert_handling
from notifications.schemas import AlertOut

PAGE = 200  # rows per section; a day with more open alerts than this needs the filtered list


@dataclass(frozen=True)
class LastContact:
    at: datetime
    outcome: str


@dataclass(frozen=True)
class AlertRow:
    alert: AlertOut
    last_contact: LastContact | None
    assignee_name: str | None
    assignee_last_sync_at: datetime | None
    acknowledged_by_name: str | None


@dataclass(frozen=True)
class Today:
    open: list[AlertRow]
    acknowledged: list[AlertRow]


async def today(session: AsyncSession, principal: Principal) -> Today:
    sections = []
    for status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED):
        flt = alert_handling.AlertFilter(status=status, sort="urgent")
        alerts, _ = await alert_handling.list_alerts(session, principal, flt, offset=0, limit=PAGE)
        sections.append(alerts)
    rows = await rows_for(session, principal, [a for section in sections for a in section])
    by_id = {row.alert.id: row for row in rows}
    return Today([by_id[a.id] for a in sections[0]], [by_id[a.id] for a in sections[1]])


async def rows_for(session: AsyncSession, principal: Principal, alerts: list[AlertOut]) -> list[AlertRow]:
    resident_ids = sorted({a.resident_id for a in alerts})
    contacts = await _last_contacts(session, principal, resident_ids)
    assignees: dict[str, str] = {}
    if may_read_assignments(principal):
        assignees = await _assignees(session, alerts)
    people = set(assignees.values()) | {a.acknowledged_by for a in alerts if a.acknowledged_by}
    names = await _names(session, principal, people)
    syncs = await _last_syncs(session, principal, set(assignees.values()))
    return [
        AlertRow(
            alert=a,
            last_contact=contacts.get(a.resident_id),
            assignee_name=names.get(assignees.get(a.id, "")),
            assignee_last_sync_at=syncs.get(assignees.get(a.id, "")) or a.assignee_last_sync_at,
            acknowledged_by_name=names.get(a.acknowledged_by or ""),
        )
        for a in alerts
    ]


async def _last_contacts(
    session: AsyncSession, principal: Principal, resident_ids: list[str]
) -> dict[str, LastContact]:
    if not resident_ids:
        return {}
    latest = (
        select(ContactNote.resident_id, func.max(ContactNote.occurred_at).label("at"))
        .join(Resident, Resident.id == ContactNote.resident_id)
        .where(ContactNote.resident_id.in_(resident_ids), visible_notes(principal))
        .group_by(ContactNote.resident_id)
        .subquery()
    )
    rows = await session.execute(
        select(ContactNote.resident_id, ContactNote.occurred_at, ContactNote.outcome)
        .join(Resident, Resident.id == ContactNote.resident_id)
        .join(
            latest,
            (latest.c.resident_id == ContactNote.resident_id) & (latest.c.at == ContactNote.occurred_at),
        )
        .where(visible_notes(principal))
    )
    return {resident_id: LastContact(at, str(outcome)) for resident_id, at, outcome in rows.all()}


async def _assignees(session: AsyncSession, alerts: list[AlertOut]) -> dict[str, str]:
    """Alert id → the person expected to make the contact: the visit's assignee, else the
    resident's current primary watcher."""
    visit_ids = [a.visit_id for a in alerts if a.visit_id]
    by_visit: dict[str, str] = {}
    if visit_ids:
        rows = await session.execute(
            select(Visit.id, Visit.assignee_id).where(Visit.id.in_(visit_ids), Visit.assignee_id.is_not(None))
        )
        by_visit = {visit_id: user_id for visit_id, user_id in rows.all()}
    resident_ids = sorted({a.resident_id for a in alerts})
    by_resident: dict[str, str] = {}
    if resident_ids:
        rows = await session.execute(
            select(Assignment.resident_id, Assignment.user_id)
            .where(
                Assignment.resident_id.in_(resident_ids),
                Assignment.role == AssignmentRole.PRIMARY,
                Assignment.ended_at.is_(None),
                Assignment.deleted_at.is_(None),
            )
            .order_by(Assignment.started_at, Assignment.id)
        )
        for resident_id, user_id in rows.all():
            by_resident.setdefault(resident_id, user_id)
    out = {}
    for a in alerts:
        user_id = by_visit.get(a.visit_id or "") or by_resident.get(a.resident_id)
        if user_id:
            out[a.id] = user_id
    return out


async def _names(session: AsyncSession, principal: Principal, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(User.id, User.display_name).where(User.id.in_(user_ids), User.org_id == principal.org_id)
    )
    return dict(rows.tuples().all())


async def _last_syncs(session: AsyncSession, principal: Principal, user_ids: set[str]) -> dict[str, datetime]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Device.user_id, func.max(Device.last_sync_at))
        .where(
            Device.user_id.in_(user_ids),
            Device.org_id == principal.org_id,
            Device.revoked_at.is_(None),
            Device.last_sync_at.is_not(None),
        )
        .group_by(Device.user_id)
    )
    return {user_id: at for user_id, at in rows.all() if at is not None}
