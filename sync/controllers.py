"""HTTP endpoints of the sync protocol (WatermelonDB `synchronize()`), thin over the services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.autocommit import AUTOCOMMIT_START
from domain.i18n import negotiate
from domain.settings import Settings
from sync import pull as pull_service
from sync import push as push_service
from sync import quarantine, schema, validation

# Read by hand below (WatermelonDB sends them as it likes: empty, "null", floats); declared here so
# that any other name is refused (api/query_params.py).
PULL_QUERY_PARAMS = ("last_pulled_at", "schema_version", "migration")


class ResolveQuarantine(BaseModel):
    action: Literal["apply", "discard"]
    record: dict[str, Any] | None = Field(default=None, description="corrected fields (contact notes)")
    note: str | None = Field(default=None, max_length=500)


def _reader_locale(request: Request[Any, Any, Any], principal: Principal) -> str:
    """The request's Accept-Language when it names ja or en, else the reader's own setting."""
    return negotiate(request.headers.get("accept-language"), default=principal.locale)


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]
    signature_namespace = {"AsyncSession": AsyncSession, "Principal": Principal, "Settings": Settings}

    # Starts in autocommit on PostgreSQL (domain/autocommit.py): a no-op pull is three round trips, not five.
    @get("/pull", operation_id="syncPull", opt={"query_params": PULL_QUERY_PARAMS, AUTOCOMMIT_START: True})
    async def pull(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> dict[str, Any]:
        """Changes since `last_pulled_at` within the phone's scope (WatermelonDB `pullChanges`).
        Query: `last_pulled_at`, `schema_version`, `migration`; any other name is refused (400)."""
        query = request.query_params
        version = validation.parse_schema_version(query.get("schema_version"))
        params = pull_service.PullParams(
            last_pulled_at=validation.parse_cursor(query.get("last_pulled_at")),
            schema_version=version,
            migration=validation.parse_migration(query.get("migration"), version),
        )
        return await pull_service.pull(db_session, principal, params)

    @post("/push", operation_id="syncPush", status_code=200)
    async def push(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> dict[str, Any]:
        """Apply the phone's changes (WatermelonDB `pushChanges`); refused records are quarantined."""
        query = request.query_params
        params = push_service.PushParams(
            last_pulled_at=validation.parse_cursor(query.get("last_pulled_at")),
            schema_version=validation.parse_schema_version(query.get("schema_version")),
        )
        pushed = validation.parse_push(await request.body(), settings, params.schema_version)
        return await push_service.push(
            db_session,
            principal,
            params,
            pushed,
            quarantine_per_hour=settings.sync_quarantine_per_device_hour,
        )

    @get("/schema", operation_id="syncSchema")
    async def client_schema(
        self, version: Annotated[int | None, QueryParameter(ge=1)] = None
    ) -> dict[str, Any]:
        """The client schema in `appSchema` form, and the migrations up to it."""
        target = schema.LATEST_VERSION if version is None else version
        if target not in schema.VERSIONS:
            raise validation.bad_request(
                "error.sync.bad_schema_version",
                version=str(target),
                supported=", ".join(map(str, schema.VERSIONS)),
            )
        return {**schema.app_schema(target), **schema.migrations(1, target)}

    @get("/quarantine", operation_id="syncQuarantineList")
    async def list_quarantine(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        status: FromQuery[Literal["open", "applied", "discarded"] | None] = "open",
    ) -> dict[str, Any]:
        """Records phones pushed that the server held back (coordinators)."""
        rows, total = await quarantine.list_held(
            db_session, principal, status=status, offset=(page - 1) * page_size, limit=page_size
        )
        items = [quarantine.describe(r, _reader_locale(request, principal)) for r in rows]
        return {"items": items, "total": total, "page": page, "page_size": page_size}

    @post("/quarantine/{entry_id:str}/resolve", operation_id="syncQuarantineResolve", status_code=200)
    async def resolve_quarantine(
        self,
        request: Request[Any, Any, Any],
        entry_id: FromPath[str],
        data: JSONBody[ResolveQuarantine],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> dict[str, Any]:
        """Apply (contact notes, optionally corrected) or discard a held record (coordinators)."""
        entry = await quarantine.resolve(
            db_session, principal, entry_id, action=data.action, corrections=data.record, note=data.note
        )
        return quarantine.describe(entry, _reader_locale(request, principal))
