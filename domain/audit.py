"""Audit events: who read or changed which personal data. Field names only, never values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain import autocommit
from domain.access import Principal
from domain.base import new_id
from domain.clock import utcnow
from domain.models import AuditEvent

# One vocabulary of what was read or changed: singular snake_case, as `GET /api/v1/audit?entity=`
# takes it. The API's own word is accepted where it differs (a plan is stored as visit_plan).
ENTITIES = (
    "alert",
    "audit_event",
    "assignment",
    "consent",
    "device",
    "district",
    "emergency_contact",
    "legal_basis",
    "notification",
    "org_rules",
    "organisation",
    "published_statistics",
    "resident",
    "safety_check",
    "sync",
    "sync_quarantine",
    "user",
    "visit_plan",
)
ALIASES = {
    "plan": "visit_plan",
    "plans": "visit_plan",
    "visit_plans": "visit_plan",
    "residents": "resident",
    "rules": "org_rules",
    "quarantine": "sync_quarantine",
    "safety_check_campaign": "safety_check",
    "organization": "organisation",
}
# Names older events were stored under, still found by the filter.
LEGACY = {"resident": ("residents",)}
CLI_ACTOR = "system:cli"
# Actions that only read: inside `one_read` they are gathered into one event (changes never are).
READS = frozenset({"read", "list"})
_GATHERED = "mimamori.audit.gathered"


def entity_name(name: str) -> str | None:
    """The stored name for `name` (an entity or an alias), or None when there is no such entity."""
    wanted = name.strip().lower()
    wanted = ALIASES.get(wanted, wanted)
    return wanted if wanted in ENTITIES else None


def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    entity: str,
    entity_id: str | None = None,
    *,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
    actor_id: str | None = None,
    device_id: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """`actor_id` / `device_id` name the actor where there is no principal yet (a sign-in).
    Inside `one_read`, a read is kept as one part of the gathered event instead of an event of its
    own; every change is recorded as usual."""
    event = AuditEvent(
        org_id=org_id or (principal.org_id if principal else None),
        at=utcnow(),
        actor_id=actor_id or (principal.user_id if principal else None),
        device_id=device_id or (principal.device_id if principal else None),
        action=action,
        entity=ALIASES.get(entity, entity),
        entity_id=entity_id,
        detail={**detail, **({"fields": sorted(fields)} if fields is not None else {})},
    )
    gathered = session.info.get(_GATHERED)
    if gathered is not None and action in READS:
        gathered.append({"action": action, "entity": event.entity, "entity_id": entity_id, **event.detail})
        return event
    session.add(event)
    return event


_INSERT = insert(AuditEvent.__table__)  # type: ignore[arg-type]


async def record_read(
    session: AsyncSession,
    principal: Principal,
    action: str,
    entity: str,
    entity_id: str | None = None,
    *,
    fields: Iterable[str] | None = None,
    **detail: Any,
) -> None:
    """A read's event, written at once by one Core INSERT in the session's transaction: on a hot
    read (the resident list) the ORM unit of work at commit cost more than the read's own query.
    Same row as `record`, and gathered the same way inside `one_read`."""
    at = utcnow()  # the same moment, and the same value, as `record` would take
    entity = ALIASES.get(entity, entity)
    values = {**detail, **({"fields": sorted(fields)} if fields is not None else {})}
    gathered = session.info.get(_GATHERED)
    if gathered is not None and action in READS:
        gathered.append({"action": action, "entity": entity, "entity_id": entity_id, **values})
        return
    row = {
        "id": new_id(),
        "org_id": principal.org_id,
        "at": at,
        "actor_id": principal.user_id,
        "device_id": principal.device_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "detail": values,
    }
    asyncpg = autocommit.driver(session)
    if asyncpg is not None:  # a hot read's autocommit unit: straight to the driver (domain/autocommit.py)
        await autocommit.fetch(asyncpg, _INSERT, session.get_bind().dialect, row)
    else:
        await (await session.connection()).execute(_INSERT, row)


@contextmanager
def one_read(
    session: AsyncSession, principal: Principal, entity: str, entity_id: str, **detail: Any
) -> Iterator[None]:
    """One page showing one record from several services (a resident's page: the resident,
    consent, assignments, notes, visits, alerts) leaves one read event, not one per service. Each
    read the services record becomes a part of it (`detail.parts`: what each read, field names and
    ids, never values), so nothing read goes unrecorded; `detail.fields` holds the fields of
    `entity` itself. Reads of an HTTP API call are never gathered: only a page opts in."""
    if _GATHERED in session.info:  # already gathering: the outer block writes the event
        yield
        return
    parts: list[dict[str, Any]] = []
    session.info[_GATHERED] = parts
    try:
        yield
    finally:
        del session.info[_GATHERED]
    if not parts:
        return
    own = [p for p in parts if p["entity"] == ALIASES.get(entity, entity) and p["entity_id"] == entity_id]
    fields = sorted({f for p in own for f in p.get("fields", ())})
    record(session, principal, "read", entity, entity_id, fields=fields, parts=parts, **detail)
