"""Audit events: who read or changed which personal data. Field names only, never values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.clock import utcnow
from domain.models import AuditEvent


def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    entity: str,
    entity_id: str | None = None,
    *,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        org_id=org_id or (principal.org_id if principal else None),
        at=utcnow(),
        actor_id=principal.user_id if principal else None,
        device_id=principal.device_id if principal else None,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail={**detail, **({"fields": sorted(fields)} if fields is not None else {})},
    )
    session.add(event)
    return event
