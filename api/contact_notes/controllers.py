"""HTTP for contact notes. Thin: rules live in service.py, sync.notes and domain.access."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from api.contact_notes import exports, service
from api.contact_notes.schemas import (
    ContactNoteCorrection,
    ContactNoteIn,
    ContactNoteOut,
    ContactNotePage,
    ContactNoteRevisionOut,
)
from api.deps import Pagination, page_of
from api.reports.export_files import FORMAT_DESCRIPTION, ListFormat
from api.schemas import ID_PATTERN
from domain.access import Principal
from domain.enums import ContactMethod, ContactOutcome

_From = Annotated[
    date | None, QueryParameter(name="from", description="First local day (organisation time zone)")
]
_To = Annotated[date | None, QueryParameter(name="to", description="Last local day, inclusive")]


class ResidentNotesController(Controller):
    path = "/api/v1/residents/{resident_id:str}/contact-notes"
    tags = ["contact notes"]

    @get("/", operation_id="listResidentContactNotes")
    async def list_for_resident(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Pagination],
        resident_id: FromPath[str],
        from_: FromQuery[_From] = None,
        to: FromQuery[_To] = None,
        method: FromQuery[ContactMethod | None] = None,
        outcome: FromQuery[ContactOutcome | None] = None,
        author_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
    ) -> ContactNotePage:
        """A resident's contact notes the caller may see, newest first (404 for a resident the
        caller may not see; restricted notes only for their author, the district's commissioners
        and coordinators). The read is audited."""
        f = service.NoteFilter(
            resident_id=resident_id,
            from_day=from_,
            to_day=to,
            method=method,
            outcome=outcome,
            author_id=author_id,
        )
        items, total = await service.list_notes(
            db_session, principal, f, pagination.offset, pagination.page_size
        )
        return ContactNotePage(**page_of(items, total, pagination))

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="recordContactNote",
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=ContactNoteOut,
                description="Sent again with the same `id`: the note already recorded",
            )
        },
    )
    async def record(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        data: JSONBody[ContactNoteIn],
    ) -> Response[ContactNoteOut]:
        """Record a contact the office made (a phone call, a visit): the same rules, consent checks
        and consequences as a note synced from a phone — it fulfils the open visit, resolves a
        missed-visit alert, and reaches phones on their next pull. Sending the same client-made
        `id` again answers 200 with the note already recorded."""
        note, created = await service.create_note(db_session, principal, resident_id, data)
        return Response(note, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


class ContactNoteController(Controller):
    path = "/api/v1/contact-notes"
    tags = ["contact notes"]

    @get("/", operation_id="listContactNotes")
    async def list_notes(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Pagination],
        district_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        from_: FromQuery[_From] = None,
        to: FromQuery[_To] = None,
        method: FromQuery[ContactMethod | None] = None,
        outcome: FromQuery[ContactOutcome | None] = None,
        author_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        format: Annotated[
            ListFormat,
            QueryParameter(
                description="json (default), or every matching note as a file for Excel (page and "
                "page_size do not apply; headers in the reader's language): " + FORMAT_DESCRIPTION + ". "
                "Files: coordinators and commissioners only; audited as an export"
            ),
        ] = "json",
    ) -> ContactNotePage | Stream:
        """Contact notes the caller may see, e.g. a district's for a period, newest first. `from`
        and `to` are local days in the organisation's time zone. The read is audited."""
        f = service.NoteFilter(
            district_id=district_id,
            from_day=from_,
            to_day=to,
            method=method,
            outcome=outcome,
            author_id=author_id,
        )
        if format != "json":
            return await exports.notes_file(
                db_session,
                principal,
                f,
                request.headers.get("accept-language"),
                request.app.state.db_config,
                format,
            )
        items, total = await service.list_notes(
            db_session, principal, f, pagination.offset, pagination.page_size
        )
        return ContactNotePage(**page_of(items, total, pagination))

    @get("/{note_id:str}", operation_id="getContactNote")
    async def read(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        note_id: FromPath[str],
    ) -> ContactNoteOut:
        """One contact note, if the caller may see it (otherwise 404). The read is audited."""
        return await service.read_note_for(db_session, principal, note_id)

    @patch("/{note_id:str}", operation_id="correctContactNote")
    async def correct(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        note_id: FromPath[str],
        data: JSONBody[ContactNoteCorrection],
    ) -> ContactNoteOut:
        """Correct a note (its author or a coordinator) within the organisation's correction
        window (`note_correction_hours`, default 72, from when the server received it); later:
        409 naming the window. The replaced values are kept (`/revisions`), the change audited."""
        return await service.correct_note(db_session, principal, note_id, data)

    @get("/{note_id:str}/revisions", operation_id="listContactNoteRevisions")
    async def revisions(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        note_id: FromPath[str],
    ) -> list[ContactNoteRevisionOut]:
        """What each correction replaced, oldest first (the note's author and coordinators)."""
        return await service.list_revisions(db_session, principal, note_id)
