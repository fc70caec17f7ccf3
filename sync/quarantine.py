"""Records a phone pushed that the server refused, kept whole so that nothing is lost.

The push that carried them still applies; the author and the organisation's coordinators are told;
coordinators list them and resolve each one: `apply` (a contact note, optionally corrected, written
as its author wrote it) or `discard`.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.access import Principal, require_role
from domain.base import new_id
from domain.clock import utcnow
from domain.enums import Role
from domain.errors import Conflict, InvalidInput, NotFound, RateLimited
from domain.i18n import translate
from domain.models import QuarantinedRecord, User
from notifications import outbox
from notifications.templates import normalise_locale
from sync import wording

OPEN, APPLIED, DISCARDED = "open", "applied", "discarded"
RATE_WINDOW = timedelta(hours=1)


def payload_hash(table: str, operation: str, data: dict[str, Any]) -> str:
    clean = {k: v for k, v in data.items() if k not in ("_status", "_changed")}
    text = json.dumps([table, operation, clean], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Refusal:
    table: str
    operation: str
    record_id: str
    data: dict[str, Any]
    reason: str
    detail: dict[str, Any]

    @property
    def digest(self) -> str:
        return payload_hash(self.table, self.operation, self.data)


async def new_refusals(session: AsyncSession, principal: Principal, refusals: list[Refusal]) -> list[Refusal]:
    """The refusals not already held for this device (a retried push holds nothing twice): one
    query per batch of ids instead of one per record."""
    if not refusals:
        return []
    held: set[tuple[str, str, str]] = set()
    ids = sorted({r.record_id for r in refusals})
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(
                QuarantinedRecord.table_name, QuarantinedRecord.record_id, QuarantinedRecord.payload_hash
            ).where(
                QuarantinedRecord.org_id == principal.org_id,
                QuarantinedRecord.device_id == principal.device_id,
                QuarantinedRecord.record_id.in_(ids[start : start + 500]),
            )
        )
        held.update((t, i, h) for t, i, h in rows.all())
    return [
        r for r in refusals if (r.table, r.record_id, payload_hash(r.table, r.operation, r.data)) not in held
    ]


async def check_rate(session: AsyncSession, principal: Principal, adding: int, limit: int) -> None:
    """At most `limit` (setting `sync_quarantine_per_device_hour`) records held per device in any hour. Beyond it the
    whole push is refused with 429 and nothing is applied: the phone keeps every record and pushes
    them again later (WatermelonDB marks nothing synced after an error), so nothing is lost, and
    one phone cannot fill the quarantine and the coordinators' inboxes."""
    if adding == 0:
        return
    since = utcnow() - RATE_WINDOW
    recent = (
        await session.execute(
            select(func.count(), func.min(QuarantinedRecord.received_at)).where(
                QuarantinedRecord.org_id == principal.org_id,
                QuarantinedRecord.device_id == principal.device_id,
                QuarantinedRecord.received_at > since,
            )
        )
    ).one()
    count, oldest = int(recent[0] or 0), recent[1]
    if count + adding > limit:
        wait = (
            RATE_WINDOW
            if oldest is None
            else oldest.replace(tzinfo=oldest.tzinfo or UTC) + RATE_WINDOW - utcnow()
        )
        raise RateLimited(
            "error.sync.quarantine_rate",
            limit=limit,
            extra={"retry_after": max(60, int(wait.total_seconds()) + 1)},
        )


@dataclass(frozen=True)
class Held:
    """What the summary message needs of a held record."""

    id: str
    table_name: str
    record_id: str
    reason: str
    detail: dict[str, Any]


async def hold_all(session: AsyncSession, principal: Principal, refusals: list[Refusal]) -> list[Held]:
    """Store the refused records (already filtered by `new_refusals`) with one bulk INSERT (Core,
    no ORM objects) and one audit event, so that a full push holds the database's write lock
    briefly."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "org_id": principal.org_id,
            "user_id": principal.user_id,
            "device_id": principal.device_id,
            "table_name": r.table,
            "record_id": r.record_id,
            "operation": r.operation,
            "record": {k: v for k, v in r.data.items() if k not in ("_status", "_changed")},
            "payload_hash": payload_hash(r.table, r.operation, r.data),
            "reason": r.reason,
            "detail": r.detail,
            "received_at": now,
            "status": OPEN,
            "created_at": now,
            "updated_at": now,
        }
        for r in refusals
    ]
    if not rows:
        return []
    table = QuarantinedRecord.__table__
    for start in range(0, len(rows), 500):
        await session.execute(table.insert(), rows[start : start + 500])
    audit.record(
        session,
        principal,
        "sync.quarantined",
        "sync_quarantine",
        None,
        fields=sorted({f for row in rows for f in row["record"]}),
        records=[[row["table_name"], row["record_id"]] for row in rows],
    )
    return [
        Held(row["id"], row["table_name"], row["record_id"], row["reason"], row["detail"]) for row in rows
    ]


async def notify(session: AsyncSession, principal: Principal, held: list[Held]) -> None:
    """Tell the author and the coordinators, each in their language and in plain words (no
    personal data, no table or field names): one summary message per push, however many records
    it held. The author is reassured that nothing is lost; coordinators are asked to review."""
    if not held:
        return
    coordinators = (
        await session.execute(
            select(User.id, User.locale).where(
                User.org_id == principal.org_id, User.role == Role.COORDINATOR, User.active.is_(True)
            )
        )
    ).all()
    readers: dict[str, tuple[str, str]] = {uid: ("coordinator", locale) for uid, locale in coordinators}
    readers[principal.user_id] = ("author", principal.locale)  # an author who coordinates is the author
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for uid, (role, locale) in readers.items():
        groups[(role, normalise_locale(locale))].append(uid)
    first = held[0]
    for (role, locale), user_ids in sorted(groups.items()):
        if len(held) == 1:
            body = translate(
                f"sync.quarantine.body.{role}",
                locale,
                table=wording.table_word(first.table_name, locale),
                reason=wording.reason_text(first.reason, first.detail, locale),
            )
        else:
            body = translate(
                f"sync.quarantine.summary.{role}",
                locale,
                count=len(held),
                tables=wording.summary_tables((h.table_name for h in held), locale),
            )
        await outbox.enqueue(
            session,
            org_id=principal.org_id,
            user_ids=sorted(user_ids),
            kind="sync_quarantined",
            title=translate("sync.quarantine.title", locale),
            body=body,
            data={
                "quarantine_id": first.id,
                "table": first.table_name,
                "record_id": first.record_id,
                "count": len(held),
                "device_id": principal.device_id,
            },
        )


def describe(entry: QuarantinedRecord, locale: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "table": entry.table_name,
        "record_id": entry.record_id,
        "operation": entry.operation,
        "record": entry.record,
        "reason": entry.reason,
        "reason_text": wording.reason_text(entry.reason, entry.detail, locale),
        "table_text": wording.table_word(entry.table_name, locale),
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
