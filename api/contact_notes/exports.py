"""Contact notes as a file (GET /contact-notes?format=csv|csv-cp932|xlsx, see
`api.reports.export_files`): the notes the caller may list with
the same filters (e.g. a district's, for a period), newest first, every page at once. Restricted
notes appear only for those who may read them (`domain.access.visible_notes`, as the list).
Coordinators and commissioners; volunteers export nothing. Audited as an export naming the notes.

Streamed as the resident export is: ids and the audit event in the request's session, then rows
EXPORT_BATCH at a time, each batch read in a session of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.response import Stream
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.contact_notes import service
from api.reports import export_files
from api.reports.csv_export import header, value
from domain import audit
from domain.access import Principal, may_export
from domain.db import READ_ONLY
from domain.enums import SUPPORT_FIELD_LABELS, SUPPORT_TOPIC_LABELS, label
from domain.errors import Forbidden
from domain.i18n import negotiate, translate
from domain.models import ContactNote, District, Resident, User

EXPORT_BATCH = 1000
COLUMNS = (
    "occurred_at",
    "resident",
    "district",
    "method",
    "outcome",
    "author",
    "follow_up",
    "visibility",
    "warning_signs",
    "support_field",
    "support_topic",
    "body",
)
FIELDS = (
    "occurred_at",
    "resident_id",
    "method",
    "outcome",
    "author_id",
    "follow_up_needed",
    "visibility",
    "warning_signs",
    "support_field",
    "support_topic",
    "body",
)


def _support(labels: dict[str, tuple[str, str]], raw: str | None, locale: str) -> str:
    """The activity record's field or topic as the reader reads it; empty for a note that is not a
    consultation (or from a phone before sync schema v4). A code unknown to this version as it is."""
    if not raw:
        return ""
    return label(labels, raw, locale) if raw in labels else raw


async def notes_file(
    session: AsyncSession,
    principal: Principal,
    f: service.NoteFilter,
    accept_language: str | None,
    config: SQLAlchemyAsyncConfig,
    fmt: export_files.ExportFormat = "csv",
) -> Stream:
    if not may_export(principal):
        raise Forbidden()
    org = await service._org(session, principal)
    where = await service._conditions(session, principal, org, f)
    rows = await session.execute(
        select(ContactNote.id, ContactNote.resident_id)
        .join(Resident, Resident.id == ContactNote.resident_id)
        .where(*where)
        .order_by(ContactNote.occurred_at.desc(), ContactNote.id)
    )
    ids, residents = [], set()
    for note_id, resident_id in rows.tuples():
        ids.append(note_id)
        residents.add(resident_id)
    audit.record(
        session,
        principal,
        "export",
        "contact_note",
        None,
        fields=FIELDS,
        note_ids=ids,
        resident_ids=sorted(residents),
    )
    locale = negotiate(accept_language, default=principal.locale)
    yes = translate("value.yes", locale)

    async def batches() -> AsyncIterator[Iterable[list[object]]]:
        for start in range(0, len(ids), EXPORT_BATCH):
            batch = ids[start : start + EXPORT_BATCH]
            async with config.get_session() as reading:
                await reading.connection(execution_options=READ_ONLY)
                found = {
                    note.id: (note, resident, district, author)
                    for note, resident, district, author in (
                        await reading.execute(
                            select(ContactNote, Resident.name, District.name, User.display_name)
                            .join(Resident, Resident.id == ContactNote.resident_id)
                            .join(District, District.id == Resident.district_id)
                            .join(User, User.id == ContactNote.author_id)
                            .where(ContactNote.id.in_(batch))
                        )
                    ).tuples()
                }
            yield (
                [
                    note.occurred_at,
                    resident,
                    district,
                    value("method", note.method, locale),
                    value("outcome", note.outcome, locale),
                    author,
                    yes if note.follow_up_needed else "",
                    value("visibility", note.visibility, locale),
                    " ".join(note.warning_signs or []),
                    _support(SUPPORT_FIELD_LABELS, note.support_field, locale),
                    _support(SUPPORT_TOPIC_LABELS, note.support_topic, locale),
                    note.body,
                ]
                for note, resident, district, author in (found[i] for i in batch if i in found)
            )

    headers = [header(f"csv.note.{c}", locale) for c in COLUMNS]
    file = export_files.ExportFile("contact-notes", principal.today(), principal.zone, locale)
    return await export_files.export_response(fmt, file, headers, batches(), session=session)
