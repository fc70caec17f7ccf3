"""The resident list as a file (GET /residents?format=csv|csv-cp932|xlsx, see
`api.reports.export_files`): the same rows and fields the caller may list, every page at once;
coordinators and commissioners only; audited as an export.

The file is streamed: the request's session picks who is in it (ids only) and records the audit
event; the rows are then read EXPORT_BATCH at a time, each batch in a session of its own (the
request's session is closed by the time the body is sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.response import Stream
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.reports import csv_export, export_files
from api.residents import service
from domain import audit
from domain.access import Principal, may_export, resident_fields_for
from domain.db import READ_ONLY
from domain.errors import Forbidden
from domain.i18n import negotiate
from domain.models import District, Resident

EXPORT_BATCH = 1000


async def residents_file(
    session: AsyncSession,
    principal: Principal,
    f: service.ResidentFilter,
    accept_language: str | None,
    config: SQLAlchemyAsyncConfig,
    fmt: export_files.ExportFormat = "csv",
) -> Stream:
    if not may_export(principal):
        raise Forbidden()
    query = service._filtered(principal, f).order_by(Resident.kana, Resident.name, Resident.id)
    ids = list((await session.scalars(query.with_only_columns(Resident.id))).all())
    fields = (resident_fields_for(principal) or service.ALL_RESIDENT_FIELDS) - service.LIST_HIDDEN
    audit.record(session, principal, "export", "resident", None, fields=fields, resident_ids=ids)
    districts = dict(
        (await session.execute(select(District.id, District.name).where(District.org_id == principal.org_id)))
        .tuples()
        .all()
    )
    locale = negotiate(accept_language, default=principal.locale)
    columns = csv_export.resident_columns(fields)

    async def batches() -> AsyncIterator[Iterable[list[object]]]:
        for start in range(0, len(ids), EXPORT_BATCH):
            batch = ids[start : start + EXPORT_BATCH]
            async with config.get_session() as reading:
                await reading.connection(execution_options=READ_ONLY)
                found = {
                    r.id: r for r in await reading.scalars(select(Resident).where(Resident.id.in_(batch)))
                }
                residents = [service._out(found[i], fields, None) for i in batch if i in found]
            yield csv_export.resident_cells(residents, columns, districts, locale, principal.zone)

    file = export_files.ExportFile("residents", principal.today(), principal.zone, locale)
    headers = csv_export.resident_headers(columns, locale)
    return await export_files.export_response(fmt, file, headers, batches(), session=session)
