"""Records a phone pushed that the server refused, kept whole so that nothing is lost.

The push that carried them still applies; the author and the organisation's coordinators are told;
coordinators list them and resolve each one: `apply` (a contact note, optionally corrected, written
as its author wrote it) or `discard`.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.access import Principal, require_role
from domain.clock import utcnow
from domain.enums import Role
from domain.errors import Conflict, InvalidInput, NotFound
from domain.i18n import translate
from domain.models import QuarantinedRecord, User
from notifications import outbox

OPEN, APPLIED, DISCARDED = "open", "applied", "discarded"


def payload_hash(table: str, operation: str, data: dict[str, Any]) -> str:
    clean = {k: v for k, v in data.items() if k not in ("_status", "_changed")}
    text = json.dumps([table, operation, clean], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def hold(
    session: AsyncSession,
    principal: Principal,
    *,
    table: str,
    operation: str,
    record_id: str,
    data: dict[str, Any],
    reason: str,
    detail: dict[str, Any],
) -> QuarantinedRecord | None:
    """Store the refused record; None when this very record is already held (a retried push)."""
    digest = payload_hash(table, operation, data)
    existing = await session.scalar(
        select(QuarantinedRecord.id).where(
            QuarantinedRecord.org_id == principal.org_id,
            QuarantinedRecord.device_id == principal.device_id,
            QuarantinedRecord.table_name == table,
            QuarantinedRecord.record_id == record_id,
            QuarantinedRecord.payload_hash == digest,
        )
    )
    if existing is not None:
        return None
    entry = QuarantinedRecord(
        org_id=principal.org_id,
        user_id=principal.user_id,
        device_id=principal.device_id,
        table_name=table,
        record_id=record_id,
        operation=operation,
        record={k: v for k, v in data.items() if k not in ("_status", "_changed")},
        payload_hash=digest,
        reason=reason,
        detail=detail,
        received_at=utcnow(),
    )
    session.add(entry)
    audit.record(session, principal, "sync.quarantined", table, record_id, fields=list(entry.record))
    return entry


async def notify(session: AsyncSession, principal: Principal, held: list[QuarantinedRecord]) -> None:
    """Tell the author and the coordinators, each in their language (no personal data in the text)."""
    if not held:
        return
    coordinators = (
        await session.execute(
            select(User.id, User.locale).where(
                User.org_id == principal.org_id, User.role == Role.COORDINATOR, User.active.is_(True)
            )
        )
    ).all()
    recipients: dict[str, str] = {uid: locale for uid, locale in coordinators}
    recipients[principal.user_id] = principal.locale
    by_locale: dict[str, list[str]] = defaultdict(list)
    for uid, locale in recipients.items():
        by_locale[locale if locale in ("ja", "en") else "ja"].append(uid)
    for entry in held:
        for locale, user_ids in by_locale.items():
            reason = translate(entry.reason, locale, **entry.detail)
            await outbox.enqueue(
                session,
                org_id=principal.org_id,
                user_ids=user_ids,
                kind="sync_quarantined",
                title=translate("sync.quarantine.title", locale),
                body=translate("sync.quarantine.body", locale, table=entry.table_name, reason=reason),
                data={"quarantine_id": entry.id, "table": entry.table_name, "record_id": entry.record_id},
            )


def describe(entry: QuarantinedRecord, locale: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "table": entry.table_name,
        "record_id": entry.record_id,
        "operation": entry.operation,
        "record": entry.record,
        "reason": entry.reason,
        "reason_text": translate(entry.reason, locale, **entry.detail),
        "detail": entry.detail,
        "user_id": entry.user_id,
        "device_id": entry.device_id,
        "received_at": entry.received_at.isoformat(),
        "status": entry.status,
        "resolved_at": entry.resolved_at.isoformat() if entry.resolved_at else None,
        "resolved_by": entry.resolved_by,
        "resolution_note": entry.resolution_note,
    }


async def list_held(
    session: AsyncSession, principal: Principal, *, status: str | None, offset: int, limit: int
) -> tuple[list[QuarantinedRecord], int]:
    require_role(principal, Role.COORDINATOR)
    clause = QuarantinedRecord.org_id == principal.org_id
    if status:
        clause = clause & (QuarantinedRecord.status == status)
    total = await session.scalar(select(func.count()).select_from(QuarantinedRecord).where(clause)) or 0
    rows = (
        await session.scalars(
            select(QuarantinedRecord)
            .where(clause)
            .order_by(QuarantinedRecord.received_at.desc(), QuarantinedRecord.id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
    audit.record(session, principal, "sync.quarantine.list", "sync_quarantine")
    return list(rows), int(total)


async def resolve(
    session: AsyncSession,
    principal: Principal,
    entry_id: str,
    *,
    action: str,
    corrections: dict[str, Any] | None = None,
    note: str | None = None,
) -> QuarantinedRecord:
    require_role(principal, Role.COORDINATOR)
    entry = await session.scalar(
        select(QuarantinedRecord).where(
            QuarantinedRecord.id == entry_id, QuarantinedRecord.org_id == principal.org_id
        )
    )
    if entry is None:
        raise NotFound()
    if entry.status != OPEN:
        raise Conflict("error.sync.quarantine_resolved")
    if action == "apply":
        from sync.push import apply_held_note  # the push service knows how notes are written

        await apply_held_note(session, principal, entry, corrections or {})
        entry.status = APPLIED
    elif action == "discard":
        entry.status = DISCARDED
    else:
        raise InvalidInput.field("action", "field.not_allowed", choices="apply, discard")
    entry.resolved_at = utcnow()
    entry.resolved_by = principal.user_id
    entry.resolution_note = note
    audit.record(session, principal, f"sync.quarantine.{action}", "sync_quarantine", entry.id)
    return entry
