"""`POST /api/v1/residents/import`: a coordinator uploads the office's resident list as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, Request, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import PROBLEM_JSON, request_locale
from api.imports.schemas import ImportRejectedOut, ImportReportOut
from api.residents.csv_import import import_residents
from domain.access import Principal, may_manage_residents
from domain.errors import DomainError, Forbidden, InvalidInput
from domain.i18n import register

register(
    {
        "error.unsupported_media": {
            "ja": "CSVファイルを送ってください（text/csv または multipart/form-data の file）。",
            "en": "Send a CSV file (text/csv, or multipart/form-data with a “file” part).",
        },
    }
)

RAW_TYPES = (
    "text/csv",
    "text/plain",
    "application/csv",
    "application/octet-stream",
    "application/vnd.ms-excel",
)
_FILE_SCHEMA = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]


@dataclass
class _CsvUpload(Operation):
    """Documents the body: the handler reads it itself to accept both a raw file and a form."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The resident list as CSV (UTF-8 with or without BOM, or Shift_JIS/CP932). "
            "Columns: see docs/csv_import.md.",
            content={
                "text/csv": OpenAPIMediaType(schema=_FILE_SCHEMA),
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT, properties={"file": _FILE_SCHEMA}, required=["file"]
                    )
                ),
            },
        )


class ResidentImportController(Controller):
    path = "/api/v1/residents/import"
    tags = ["residents"]

    @post(
        "/",
        status_code=HTTP_200_OK,
        operation_id="importResidents",
        operation_class=_CsvUpload,
        responses={
            400: ResponseSpec(
                ImportRejectedOut,
                description="A real import with bad rows: nothing imported, every problem listed",
                media_type=PROBLEM_JSON,
            )
        },
    )
    async def import_residents(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        dry_run: Annotated[
            bool, QueryParameter(name="dry_run", description="true (default): check only, write nothing")
        ] = True,
        mode: Annotated[
            Literal["create", "update"],
            QueryParameter(
                name="mode",
                description="create (default): add every row; update: the whole register again, matched on "
                "宛名番号 - new, changed and no longer listed residents are reported, then applied all or nothing",
            ),
        ] = "create",
    ) -> ImportReportOut:
        """Import residents from a CSV file (coordinators). Every row is checked first; the report
        lists each bad row with its line number and reason. A real import is all-or-nothing: with
        any bad row it answers 400 with the full list and imports nothing. `dry_run=true` checks
        and reports without writing."""
        if not may_manage_residents(principal):
            raise Forbidden()
        data = await _read_csv(request)
        locale = request_locale(request)
        report = await import_residents(
            db_session, principal.org_id, data, principal=principal, dry_run=dry_run, update=mode == "update"
        )
        body = report.as_dict(locale)
        if not dry_run and not report.ok:
            raise InvalidInput("error.import_rejected", extra=body, count=len(report.errors))
        return ImportReportOut.model_validate(body)


async def _read_csv(request: Request[Any, Any, Any]) -> bytes:
    """The body is bounded by the app's request_max_body_size (settings.max_request_bytes): 413."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput.field("file", "field.required")
        return await upload.read()
    if content_type in RAW_TYPES or not content_type:
        return await request.body()
    raise DomainError("error.unsupported_media", status=415)
