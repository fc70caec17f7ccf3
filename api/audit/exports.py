"""The audit log as a file (GET /audit/export?format=csv|csv-cp932|xlsx, see
`api.reports.export_files`): the events GET /audit lists with the same filters, newest first,
every page at once. Coordinators only, as the list. The export is itself an audit event naming
the filters and how many events left the service.

The log grows without end, so its rows are read by keyset (time, id), EXPORT_BATCH at a time,
each batch in a session of its own; only events before the export began are in the file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.response import Stream
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import service
from api.reports import export_files
from api.reports.csv_export import header
from domain import audit
from domain.access import Principal
from domain.base import new_id
from domain.clock import utcnow
from domain.db import READ_ONLY
from domain.i18n import register
from domain.models import AuditEvent

EXPORT_BATCH = 1000
COLUMNS = ("at", "actor", "device", "action", "entity", "entity_id", "detail")
ENTITY = "audit_event"

register(
    {
        "csv.audit.at": {"ja": "日時", "en": "When"},
        "csv.audit.actor": {"ja": "操作者", "en": "Who"},
        "csv.audit.device": {"ja": "端末", "en": "Device"},
        "csv.audit.action": {"ja": "操作", "en": "Action"},
        "csv.audit.entity": {"ja": "対象", "en": "Entity"},
        "csv.audit.entity_id": {"ja": "対象ID", "en": "Entity id"},
        "csv.audit.detail": {"ja": "詳細（項目名・ID）", "en": "Detail (field names, ids)"},
    }
)


async def audit_file(
    session: AsyncSession,
    principal: Principal,
    f: service.AuditFilter,
    locale: str,
    config: SQLAlchemyAsyncConfig,
    fmt: export_files.ExportFormat,
) -> Stream:
    own_id = new_id()  # this export's own event: not in its file
    query = service.events_query(principal, f).where(  # 403 unless a coordinator
        AuditEvent.at <= utcnow(), AuditEvent.id != own_id
    )
    count = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    own = audit.record(
        session,
        principal,
        "export",
        ENTITY,
        None,
        format=fmt,
        events=count,
        filters={
            "entity": f.entity,
            "entity_id": f.entity_id,
            "actor_id": f.actor_id,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
        },
    )
    own.id = own_id

    async def batches() -> AsyncIterator[Iterable[Sequence[object]]]:
        after: tuple[object, str] | None = None
        while True:
            page = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(EXPORT_BATCH)
            if after is not None:
                at, event_id = after
                page = page.where(
                    or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < event_id))
                )
            async with config.get_session() as reading:
                await reading.connection(execution_options=READ_ONLY)
                events = list((await reading.scalars(page)).all())
                names = await service.actor_names(
                    reading, principal, {e.actor_id for e in events if e.actor_id}
                )
            if not events:
                return
            yield [
                [
                    e.at,
                    names.get(e.actor_id, e.actor_id) if e.actor_id else "",
                    e.device_id or "",
                    e.action,
                    e.entity,
                    e.entity_id or "",
                    json.dumps(e.detail, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                ]
                for e in events
            ]
            if len(events) < EXPORT_BATCH:
                return
            after = (events[-1].at, events[-1].id)

    headers = [header(f"csv.audit.{c}", locale) for c in COLUMNS]
    file = export_files.ExportFile("audit-log", principal.today(), principal.zone, locale)
    return await export_files.export_response(fmt, file, headers, batches(), session=session)
