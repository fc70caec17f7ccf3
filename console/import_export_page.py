"""The import and export page (/console/import-export).

Import (coordinators): the office's resident list as CSV, checked first with the API's own
`api.residents.csv_import.import_residents` (dry run: every bad line with its number and reason,
nothing written), then imported on a confirm button that sends the same file again. The import is
all-or-nothing; a second press (or a second tab) finds every row already registered and changes
nothing, and is told so. Imports of one organisation run one at a time (in this process here, and
across processes by the import's own PostgreSQL lock) and commit before the next begins, so two
presses at once cannot both insert.

Export: every file the person may take, in each format (`api.reports.export_files`), through the
API's own export functions with the console's principal, so scope, consent, audit are the API's:
commissioners get the exports they may take (not the audit log), volunteers nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

import console.messages_import_export  # noqa: F401  (registers the page's messages)
from api.audit import exports as audit_exports
from api.audit.service import AuditFilter
from api.contact_notes import exports as note_exports
from api.contact_notes.service import NoteFilter
from api.reports import coverage, record_exports
from api.reports.export_files import EXPORT_FORMATS, ExportFormat
from api.residents import exports as resident_exports
from api.residents.csv_import import ImportReport, import_residents
from api.residents.service import ResidentFilter
from console.views import page_locale, render
from domain.access import Principal, may_export, may_manage_residents, may_read_audit
from domain.enums import Role
from domain.errors import DomainError, Forbidden, InvalidInput, NotFound

PATH = "/console/import-export"
ALREADY_REGISTERED = "import.already_registered"
_import_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


@dataclass(frozen=True)
class Export:
    key: str  # the path segment, and export.title.<key> names it
    coordinators_only: bool = False
    has_period: bool = False


EXPORTS = (
    Export("residents"),
    Export("contact-notes"),
    Export("visits", has_period=True),
    Export("alerts", has_period=True),
    Export("audit-log", coordinators_only=True),
)


def exports_for(principal: Principal) -> list[Export]:
    if not may_export(principal):
        return []
    return [e for e in EXPORTS if not e.coordinators_only or may_read_audit(principal)]


async def _export_file(
    request: Request[Any, Any, Any],
    principal: Principal,
    session: AsyncSession,
    key: str,
    fmt: ExportFormat,
) -> Stream:
    config = request.app.state.db_config
    locale = page_locale(request, principal)
    files: dict[str, Callable[[], Awaitable[Stream]]] = {
        "residents": lambda: resident_exports.residents_file(
            session, principal, ResidentFilter(), locale, config, fmt
        ),
        "contact-notes": lambda: note_exports.notes_file(
            session, principal, NoteFilter(), locale, config, fmt
        ),
        "visits": lambda: record_exports.visits_file(
            session, principal, coverage.period_of(principal, None, None), None, locale, config, fmt
        ),
        "alerts": lambda: record_exports.alerts_file(
            session, principal, coverage.period_of(principal, None, None), None, locale, config, fmt
        ),
        "audit-log": lambda: audit_exports.audit_file(session, principal, AuditFilter(), locale, config, fmt),
    }
    if key not in files:
        raise NotFound()
    return await files[key]()


def _page(
    request: Request[Any, Any, Any], principal: Principal, *, status_code: int = 200, **context: Any
) -> Template:
    context.setdefault("report", None)
    context.setdefault("confirm_data", None)
    context.setdefault("too_large_to_confirm", False)
    context.setdefault("outcome", None)
    return render(
        request,
        "import_export.html.j2",
        principal,
        status_code=status_code,
        active="import_export",
        may_import=may_manage_residents(principal),
        exports=exports_for(principal),
        formats=EXPORT_FORMATS,
        **context,
    )


# The confirm form carries the checked file back compressed (a register compresses several times):
# base64 alone adds a third, and a file the check accepted near the request limit could then
# never be imported. What is left over for the form's other fields:
_FORM_ROOM = 16 * 1024


def _carried(data: bytes, request_limit: int) -> str | None:
    """The checked file as the confirm form carries it, or None if even compressed it would not
    fit in a request."""
    packed = base64.b64encode(zlib.compress(data, 6)).decode("ascii")
    return packed if len(packed) + _FORM_ROOM <= request_limit else None


def _unpacked(carried: str, request_limit: int) -> bytes:
    """The file a confirm form carried back; nothing larger than an upload may be (a small
    compressed body must not unpack into gigabytes)."""
    try:
        inflate = zlib.decompressobj()
        data = inflate.decompress(base64.b64decode(carried, validate=True), request_limit + 1)
    except (binascii.Error, ValueError, zlib.error):
        return b""
    if len(data) > request_limit or inflate.unconsumed_tail or not inflate.eof:
        raise DomainError("error.too_large", status=413)
    return data


async def _uploaded(request: Request[Any, Any, Any]) -> bytes:
    """The file of the check form, or the checked file the confirm form sends back."""
    form = await request.form()
    upload = form.get("file")
    if isinstance(upload, UploadFile):
        data = await upload.read()
    else:
        carried = form.get("checked_file")
        data = (
            _unpacked(carried, request.app.state.settings.max_request_bytes)
            if isinstance(carried, str)
            else b""
        )
    if not data:
        raise InvalidInput.field("file", "console.import.no_file")
    return data


class ImportExportController(Controller):
    path = "/"

    @get("/import-export", name="console.import_export")
    async def page(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        return _page(request, principal)

    @post("/import-export/check", status_code=200, name="console.import_check")
    async def check(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """Dry run: the API's import check, nothing written."""
        if not may_manage_residents(principal):
            raise Forbidden()
        data = await _uploaded(request)
        report = await import_residents(db_session, principal.org_id, data, principal=principal, dry_run=True)
        carried = (
            _carried(data, request.app.state.settings.max_request_bytes)
            if report.ok and report.valid
            else None
        )
        return _page(
            request,
            principal,
            report=report.as_dict(page_locale(request, principal)),
            confirm_data=carried,
            too_large_to_confirm=report.ok and report.valid > 0 and carried is None,
        )

    @post("/import-export/import", status_code=200, name="console.import_confirm")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """The real import of the file the check accepted; a second press changes nothing."""
        if not may_manage_residents(principal):
            raise Forbidden()
        data = await _uploaded(request)
        async with _import_locks[principal.org_id]:
            report = await import_residents(
                db_session, principal.org_id, data, principal=principal, dry_run=False
            )
            if report.ok:
                await db_session.commit()  # before the next import of this organisation looks
            else:
                await db_session.rollback()
        return _page(request, principal, **_confirm_outcome(report, page_locale(request, principal)))

    @get("/exports/{key:str}", name="console.export")
    async def export(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        key: FromPath[str],
        format: Annotated[ExportFormat, QueryParameter()] = "csv",
    ) -> Stream:
        if key not in {e.key for e in exports_for(principal)}:
            if key not in {e.key for e in EXPORTS}:
                raise NotFound()
            raise Forbidden()
        return await _export_file(request, principal, db_session, key, format)


def _confirm_outcome(report: ImportReport, locale: str) -> dict[str, Any]:
    if report.ok:
        return {"outcome": "imported", "imported": report.imported}
    if all(e.code == ALREADY_REGISTERED for e in report.errors):
        return {"outcome": "already_imported"}  # pressed twice: the first press imported them
    return {"report": report.as_dict(locale)}
