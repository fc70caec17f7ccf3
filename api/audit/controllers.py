from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import exports, service
from api.audit.schemas import AuditPage
from api.deps import Pagination, page_of
from api.organisation.schemas import ID_PATTERN
from api.reports.export_files import FORMAT_DESCRIPTION, ExportFormat
from domain.access import Principal
from domain.audit import ENTITIES
from domain.i18n import negotiate

ENTITY_DESCRIPTION = "One of: " + ", ".join(ENTITIES) + " (`plan` also finds visit_plan)"


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/", operation_id="listAuditEvents")
    async def list_events(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Pagination],
        entity: Annotated[
            str | None,
            QueryParameter(
                pattern=r"^[a-z_]{1,40}$",
                description=ENTITY_DESCRIPTION,
            ),
        ] = None,
        entity_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        actor_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        since: Annotated[datetime | None, QueryParameter(description="inclusive, ISO 8601")] = None,
        until: Annotated[datetime | None, QueryParameter(description="exclusive, ISO 8601")] = None,
        action: Annotated[
            str | None, QueryParameter(pattern=r"^[a-z_.]{1,40}$", description="e.g. read, update, unlock")
        ] = None,
    ) -> AuditPage:
        """Who read or changed which personal data, when and from which device, newest first
        (coordinators). Events name fields and ids, never the values."""
        f = service.AuditFilter(entity, entity_id, actor_id, since, until, action)
        items, total = await service.list_events(
            db_session, principal, f, pagination.offset, pagination.page_size
        )
        return AuditPage(**page_of(items, total, pagination))

    @get("/export", operation_id="exportAuditEvents")
    async def export_events(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        entity: Annotated[
            str | None, QueryParameter(pattern=r"^[a-z_]{1,40}$", description=ENTITY_DESCRIPTION)
        ] = None,
        entity_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        actor_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        since: Annotated[datetime | None, QueryParameter(description="inclusive, ISO 8601")] = None,
        until: Annotated[datetime | None, QueryParameter(description="exclusive, ISO 8601")] = None,
        format: Annotated[ExportFormat, QueryParameter(description=FORMAT_DESCRIPTION)] = "csv",
    ) -> Stream:
        """The audit log as a file for Excel (CSV in UTF-8 with BOM or CP932, or XLSX; headers in
        the reader's language): the events GET /audit lists with the same filters, newest first,
        every event at once (coordinators). The export is itself audited."""
        f = service.AuditFilter(entity, entity_id, actor_id, since, until)
        locale = negotiate(request.headers.get("accept-language"), default=principal.locale)
        return await exports.audit_file(db_session, principal, f, locale, request.app.state.db_config, format)
