"""The audit log page (coordinators): `api.audit.service.list_events`, the service behind
GET /api/v1/audit — the same permission (`may_read_audit`), organisation, entity vocabulary
(`domain.audit.ENTITIES` and its aliases) and actor names. Dates are chosen as calendar days in the
organisation's zone and become the API's `since` (inclusive) and `until` (exclusive) instants.
An event shows what the API shows: ids and field names, never values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service
from api.organisation.service import list_users
from console.filters import Pager, optional_id
from console.views import render
from domain.access import Principal
from domain.audit import ENTITIES, entity_name
from domain.enums import Role
from domain.errors import InvalidInput

PATH = "/console/audit"
PAGE_SIZE = 50
ACTOR_OPTIONS = 500
DETAIL_ITEMS = 5  # list values shown in a detail before "…"


@dataclass(frozen=True)
class Chosen:
    entity: str | None
    actor_id: str | None
    action: str | None
    start: date | None
    end: date | None

    def query(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "actor_id": self.actor_id,
            "action": self.action,
            "from_date": self.start.isoformat() if self.start else None,
            "to_date": self.end.isoformat() if self.end else None,
        }


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.field(field, "field.type.date") from None


def _chosen(
    entity: str | None, actor_id: str | None, action: str | None, start: str | None, end: str | None
) -> Chosen:
    if entity and entity_name(entity) is None:
        raise InvalidInput.field("entity", "field.not_allowed", choices=", ".join(ENTITIES))
    return Chosen(
        entity=entity_name(entity) if entity else None,
        actor_id=optional_id(actor_id, "actor_id"),
        action=action or None,
        start=_day(start, "from_date"),
        end=_day(end, "to_date"),
    )


def audit_filter(chosen: Chosen, principal: Principal) -> service.AuditFilter:
    """Calendar days in the organisation's zone → the API's instants: from the start of the first
    day to the start of the day after the last."""
    zone = principal.zone
    since = datetime.combine(chosen.start, time(0), tzinfo=zone) if chosen.start else None
    until = datetime.combine(chosen.end + timedelta(days=1), time(0), tzinfo=zone) if chosen.end else None
    return service.AuditFilter(
        entity=chosen.entity, actor_id=chosen.actor_id, since=since, until=until, action=chosen.action
    )


def detail_text(detail: dict[str, Any]) -> str:
    """The event's detail as the API gives it (field names and ids), in one line."""
    parts = []
    for key, value in sorted(detail.items()):
        if isinstance(value, list | tuple):
            items = [str(v) if not isinstance(v, list | tuple) else "/".join(map(str, v)) for v in value]
            shown = ", ".join(items[:DETAIL_ITEMS]) + (" …" if len(items) > DETAIL_ITEMS else "")
            parts.append(f"{key}: {shown}")
        else:
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


class AuditLogController(Controller):
    path = "/"

    @get("/audit", name="console.audit")
    async def page(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        entity: Annotated[str | None, QueryParameter(max_length=40)] = None,
        actor_id: Annotated[str | None, QueryParameter(max_length=100)] = None,
        action: Annotated[str | None, QueryParameter(max_length=40)] = None,
        from_date: Annotated[str | None, QueryParameter(max_length=10)] = None,
        to_date: Annotated[str | None, QueryParameter(max_length=10)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        chosen = _chosen(entity, actor_id, action, from_date, to_date)
        events, total = await service.list_events(  # coordinators only (403)
            db_session, principal, audit_filter(chosen, principal), (page - 1) * PAGE_SIZE, PAGE_SIZE
        )
        actors, _ = await list_users(
            db_session,
            principal,
            role=None,
            district_id=None,
            active=None,
            q=None,
            offset=0,
            limit=ACTOR_OPTIONS,
        )
        return render(
            request,
            "audit.html.j2",
            principal,
            active="audit",
            events=events,
            chosen=chosen,
            entities=ENTITIES,
            actors=[(u.id, u.display_name) for u in actors],
            actions=await service.actions_in_use(db_session, principal),
            detail_text=detail_text,
            zone=principal.timezone,
            pager=Pager(page, total, PATH, chosen.query(), PAGE_SIZE),
        )
