"""A resident's consent history: who recorded which change to which recipient's consent, when.

Consent records keep only their current state; every change (`set_consent`, `withdraw_consent`)
leaves an audit event naming the consent, the action and the fields changed (never values). The
history is read from those events, for whoever may read the resident's consent
(`domain.access.may_read_consents`), and the read is audited as a consent read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.residents.service import get_visible
from domain import audit
from domain.access import Principal, may_read_consents
from domain.enums import ConsentRecipient
from domain.errors import Forbidden
from domain.models import AuditEvent, Consent, User

CHANGES = ("create", "update", "withdraw")
MAX_CHANGES = 200


@dataclass(frozen=True)
class ConsentChange:
    recipient: ConsentRecipient
    at: datetime
    action: str  # create | update | withdraw
    fields: list[str]
    actor_id: str | None
    actor_name: str


async def consent_history(
    session: AsyncSession, principal: Principal, resident_id: str
) -> list[ConsentChange]:
    """The changes to the resident's consent records, newest first."""
    if not may_read_consents(principal):
        raise Forbidden()
    resident = await get_visible(session, principal, resident_id)
    recipients = dict(
        (
            await session.execute(
                select(Consent.id, Consent.recipient).where(
                    Consent.resident_id == resident.id, Consent.org_id == principal.org_id
                )
            )
        )
        .tuples()
        .all()
    )
    if not recipients:
        return []
    rows = (
        await session.execute(
            select(AuditEvent, User.display_name)
            .outerjoin(User, (User.id == AuditEvent.actor_id) & (User.org_id == principal.org_id))
            .where(
                AuditEvent.org_id == principal.org_id,
                AuditEvent.entity == "consent",
                AuditEvent.entity_id.in_(sorted(recipients)),
                AuditEvent.action.in_(CHANGES),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id)
            .limit(MAX_CHANGES)
        )
    ).all()
    audit.record(session, principal, "read", "consent", resident.id, history=True)
    return [
        ConsentChange(
            recipient=ConsentRecipient(recipients[event.entity_id]),
            at=event.at,
            action=event.action,
            fields=list(event.detail.get("fields", [])),
            actor_id=event.actor_id,
            actor_name=name or "",
        )
        for event, name in rows
    ]
