"""The resident list as a CSV file (GET /residents?format=csv): the same rows and fields the
caller may list, every page at once; coordinators and commissioners only; audited as an export."""

from __future__ import annotations

from litestar import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.reports import csv_export
from api.residents import service
from domain.access import Principal, may_export, resident_fields_for
from domain.errors import Forbidden
from domain.i18n import negotiate
from domain.models import District


async def residents_file(
    session: AsyncSession, principal: Principal, f: service.ResidentFilter, accept_language: str | None
) -> Response[bytes]:
    if not may_export(principal):
        raise Forbidden()
    items, _ = await service.list_residents(session, principal, f, 0, None, purpose="export")
    districts = dict(
        (await session.execute(select(District.id, District.name).where(District.org_id == principal.org_id)))
        .tuples()
        .all()
    )
    fields = (resident_fields_for(principal) or service.ALL_RESIDENT_FIELDS) - service.LIST_HIDDEN
    locale = negotiate(accept_language, default=principal.locale)
    text = csv_export.residents_csv(items, fields, districts, locale, principal.zone)
    return csv_export.csv_response(text, "residents", principal.today())
