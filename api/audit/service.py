"""Reading the audit log: coordinators only, their organisation only, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.schemas import AuditEventOut
from domain import audit
from domain.access import Principal, may_read_audit
from domain.errors import Forbidden, InvalidInput
from domain.i18n import register
from domain.models import AuditEvent, User

register(
    {
        "field.timezone_required": {
            "ja": "タイムゾーン付きの日時で指定してください（例: 2026-11-01T09:00:00+09:00）。",
            "en": "Give the time with its offset (e.g. 2026-11-01T09:00:00+09:00).",
        }
    }
)


@dataclass(frozen=True)
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None


def events_query(principal: Principal, f: AuditFilter) -> Select[tuple[AuditEvent]]:
    """The caller's organisation's events that match `f` (unordered); the list and the export
    share it. Coordinators only."""
    if not may_read_audit(principal):
        raise Forbidden()
    for name in ("since", "until"):
        moment = getattr(f, name)
        if moment is not None and moment.tzinfo is None:
            # An instant without an offset is ambiguous (Tokyo or UTC?): ask for one.
            raise InvalidInput.field(name, "field.timezone_required")
    if f.since and f.until and f.until < f.since:
        raise InvalidInput.field("until", "field.range")
    query = select(AuditEvent).where(AuditEvent.org_id == principal.org_id)
    if f.entity:
        entity = audit.entity_name(f.entity)
        if entity is None:
            # An unknown name would silently match nothing: say which names there are.
            raise InvalidInput.field("entity", "field.not_allowed", choices=", ".join(audit.ENTITIES))
        query = query.where(AuditEvent.entity.in_([entity, *audit.LEGACY.get(entity, ())]))
    if f.entity_id:
        query = query.where(AuditEvent.entity_id == f.entity_id)
    if f.action:
        query = query.where(AuditEvent.action == f.action)
    if f.actor_id:
        query = query.where(AuditEvent.actor_id == f.actor_id)
    if f.since:
        query = query.where(AuditEvent.at >= f.since)
    if f.until:
        query = query.where(AuditEvent.at < f.until)
    return query


async def list_events(
    session: AsyncSession, principal: Principal, f: AuditFilter, offset: int, limit: int
) -> tuple[list[AuditEventOut], int]:
    query = events_query(principal, f)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        await session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id).offset(offset).limit(limit))
    ).all()
    names = await actor_names(session, principal, {e.actor_id for e in rows if e.actor_id})
    items = [AuditEventOut.model_validate(e) for e in rows]
    for item in items:
        item.actor_name = names.get(item.actor_id) if item.actor_id else None
    return items, total


async def actor_names(session: AsyncSession, principal: Principal, ids: set[str]) -> dict[str, str]:
    """Display names of the actors (of this organisation only), so a listing reads as people."""
    names = {audit.CLI_ACTOR: "mimamori CLI"}
    if ids:
        rows = await session.execute(
            select(User.id, User.display_name).where(User.id.in_(ids), User.org_id == principal.org_id)
        )
        names.update({user_id: name for user_id, name in rows.all()})
    return names


ACTION_CHOICES = 200  # distinct actions offered by a filter


async def actions_in_use(session: AsyncSession, principal: Principal) -> list[str]:
    """The actions the organisation's log holds, for a filter's choices (coordinators)."""
    if not may_read_audit(principal):
        raise Forbidden()
    rows = await session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.org_id == principal.org_id)
        .group_by(AuditEvent.action)
        .order_by(AuditEvent.action)
        .limit(ACTION_CHOICES)
    )
    return list(rows.all())
