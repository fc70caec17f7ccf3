"""Contact notes for the office: list, read, record, correct.

Who sees which note is `domain.access.visible_notes` (consent, assignment, restricted notes); a note
or resident outside it is "not found" (404). Recording and correcting go through `sync.notes`, the
sync push's own field rules and contact listener: a note recorded here fulfils visits, resolves
alerts and reaches phones on their next pull exactly as one pushed from a phone (the ORM write is
stamped by the change feed). A correction keeps the replaced values in a `ContactNoteRevision`;
its audit event names the fields and that revision, never the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.contact_notes.schemas import (
    ContactNoteCorrection,
    ContactNoteIn,
    ContactNoteOut,
    ContactNoteRevisionOut,
)
from api.residents.service import get_visible
from api.schemas import is_id
from domain import audit
from domain.access import Principal, may_correct_note, may_read_note_history, visible_notes
from domain.clock import utcnow
from domain.enums import ContactMethod, ContactOutcome, NoteVisibility
from domain.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from domain.i18n import register
from domain.models import ContactNote, ContactNoteRevision, District, Organisation, Resident, User
from domain.org_settings import rules_for, timezone_of
from sync import schema
from sync.notes import (
    RECHECKED_FIELDS,
    check_visit,
    note_recorded,
    note_withdrawn,
    read_note,
    same,
    shown_wellbeing,
    wire_values,
)
from sync.validation import Refused

register(
    {
        "error.note_correction_closed": {
            "ja": "記録から{hours}時間を過ぎた連絡記録は訂正できません（訂正期限: {until}）。",
            "en": "A contact note can be corrected only within {hours} hours of being recorded "
            "(the window closed at {until}).",
        },
        "error.note_id_taken": {
            "ja": "この ID はほかの記録に使われています。",
            "en": "This id is already used by another record.",
        },
        "error.note_id_reused": {
            "ja": "この ID の連絡記録は別の内容で登録済みです。訂正は PATCH で行ってください。",
            "en": "A contact note with this id was recorded with other values. Correct it with PATCH.",
        },
        "note.future_time": {
            "ja": "未来の日時は記録できません。",
            "en": "A contact cannot be recorded in the future.",
        },
        "note.visit_not_found": {
            "ja": "この対象者の訪問ではありません。",
            "en": "Not a visit of this resident.",
        },
        "note.range_reversed": {
            "ja": "期間の終わりが始まりより前です。",
            "en": "The end of the period is before its start.",
        },
        "note.unknown_district": {
            "ja": "この組織の地区ではありません。",
            "en": "Not a district of this organisation.",
        },
    }
)

# Days a period may name: a local midnight on either side stays a valid UTC datetime.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 12, 30)
_CHOICES = {
    "method": [m.value for m in ContactMethod],
    "outcome": [o.value for o in ContactOutcome],
    "visibility": [v.value for v in NoteVisibility],
}


@dataclass(frozen=True)
class NoteFilter:
    resident_id: str | None = None
    district_id: str | None = None
    from_day: date | None = None  # local days, organisation time zone, both inclusive
    to_day: date | None = None
    method: ContactMethod | None = None
    outcome: ContactOutcome | None = None
    author_id: str | None = None


async def _org(session: AsyncSession, principal: Principal) -> Organisation:
    return await session.get_one(Organisation, principal.org_id)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    # A time without an offset is the organisation's local time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _refused(refusal: Refused) -> InvalidInput:
    """The sync rule a value broke, as a 422 naming the field (sync quarantines instead)."""
    name = str(refusal.detail.get("field", "body"))
    rule = str(refusal.detail.get("rule", "field.invalid"))
    if rule == "field.not_allowed" and name in _CHOICES:
        error = FieldError(name, rule, {"choices": ", ".join(_CHOICES[name])})
    else:
        code = {
            "sync.future_time": "note.future_time",
            "field.not_found": "note.visit_not_found",
            "field.range": "field.range",
            "field.required": "field.required",
            "field.wellbeing": "field.wellbeing",
        }.get(rule, "field.invalid")
        error = FieldError(name, code)
    return InvalidInput(errors=[error], status=422)


def _judged(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    try:
        return read_note(wire_values(values), schema.LATEST_VERSION, creating=creating)
    except Refused as refusal:
        raise _refused(refusal) from None


async def _checked_visit(session: AsyncSession, org_id: str, visit_id: str | None, resident_id: str) -> None:
    try:
        await check_visit(session, org_id, visit_id, resident_id)
    except Refused as refusal:
        raise _refused(refusal) from None


# --- reading ----------------------------------------------------------------------------------------


def _corrections() -> Any:
    return (
        select(func.count(ContactNoteRevision.id))
        .where(ContactNoteRevision.note_id == ContactNote.id)
        .correlate(ContactNote)
        .scalar_subquery()
    )


def _out(note: ContactNote, author_name: str, corrections: int, window: timedelta) -> ContactNoteOut:
    return ContactNoteOut(
        id=note.id,
        resident_id=note.resident_id,
        visit_id=note.visit_id,
        author_id=note.author_id,
        author_name=author_name,
        method=note.method,
        outcome=note.outcome,
        occurred_at=note.occurred_at,
        received_at=note.received_at,
        updated_at=note.updated_at,
        body=note.body,
        follow_up_needed=note.follow_up_needed,
        visibility=note.visibility,
        warning_signs=list(note.warning_signs or []),
        referral=note.referral,
        wellbeing=shown_wellbeing(note.wellbeing),
        support_field=note.support_field,
        support_topic=note.support_topic,
        corrections=corrections,
        correctable_until=note.received_at + window,
    )


def _window(org: Organisation) -> timedelta:
    return timedelta(hours=rules_for(org).note_correction_hours)


async def _conditions(
    session: AsyncSession, principal: Principal, org: Organisation, f: NoteFilter
) -> list[ColumnElement[bool]]:
    zone = timezone_of(org)
    where: list[ColumnElement[bool]] = [visible_notes(principal)]
    for name, day in (("from", f.from_day), ("to", f.to_day)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(errors=[FieldError(name, "field.range")], status=422)
    if f.from_day and f.to_day and f.to_day < f.from_day:
        raise InvalidInput(errors=[FieldError("to", "note.range_reversed")], status=422)
    if f.district_id is not None:
        district = await session.scalar(
            select(District.id).where(District.id == f.district_id, District.org_id == principal.org_id)
        )
        if district is None:
            raise InvalidInput(errors=[FieldError("district_id", "note.unknown_district")], status=422)
        where.append(Resident.district_id == f.district_id)
    if f.resident_id is not None:
        where.append(ContactNote.resident_id == f.resident_id)
    if f.from_day is not None:
        where.append(ContactNote.occurred_at >= _local_midnight(f.from_day, zone))
    if f.to_day is not None:
        where.append(ContactNote.occurred_at < _local_midnight(f.to_day + timedelta(days=1), zone))
    if f.method is not None:
        where.append(ContactNote.method == f.method)
    if f.outcome is not None:
        where.append(ContactNote.outcome == f.outcome)
    if f.author_id is not None:
        where.append(ContactNote.author_id == f.author_id)
    return where


async def list_notes(
    session: AsyncSession, principal: Principal, f: NoteFilter, offset: int, limit: int
) -> tuple[list[ContactNoteOut], int]:
    """Visible notes matching the filter, newest contact first. The read is audited."""
    if f.resident_id is not None:
        await get_visible(session, principal, f.resident_id)  # 404 for a resident the caller may not see
    org = await _org(session, principal)
    where = await _conditions(session, principal, org, f)
    joined = (
        select(ContactNote, User.display_name, _corrections())
        .join(Resident, Resident.id == ContactNote.resident_id)
        .join(User, User.id == ContactNote.author_id)
        .where(*where)
    )
    total = await session.scalar(
        select(func.count(ContactNote.id))
        .select_from(ContactNote)
        .join(Resident, Resident.id == ContactNote.resident_id)
        .where(*where)
    )
    rows = (
        await session.execute(
            joined.order_by(ContactNote.occurred_at.desc(), ContactNote.id).offset(offset).limit(limit)
        )
    ).all()
    window = _window(org)
    items = [_out(note, name, count, window) for note, name, count in rows]
    if items:
        audit.record(
            session,
            principal,
            "list",
            "contact_note",
            None,
            fields=sorted(ContactNoteOut.model_fields),
            note_ids=[i.id for i in items],
            resident_ids=sorted({i.resident_id for i in items}),
        )
    return items, int(total or 0)


async def _visible_note(session: AsyncSession, principal: Principal, note_id: str) -> ContactNote:
    if not is_id(note_id):
        raise NotFound()
    note = await session.scalar(
        select(ContactNote)
        .join(Resident, Resident.id == ContactNote.resident_id)
        .where(ContactNote.id == note_id, visible_notes(principal))
    )
    if note is None:
        raise NotFound()
    return note


async def _note_out(session: AsyncSession, note: ContactNote, org: Organisation) -> ContactNoteOut:
    author_name = await session.scalar(select(User.display_name).where(User.id == note.author_id))
    corrections = await session.scalar(
        select(func.count(ContactNoteRevision.id)).where(ContactNoteRevision.note_id == note.id)
    )
    return _out(note, author_name or "", int(corrections or 0), _window(org))


async def read_note_for(session: AsyncSession, principal: Principal, note_id: str) -> ContactNoteOut:
    note = await _visible_note(session, principal, note_id)
    out = await _note_out(session, note, await _org(session, principal))
    audit.record(
        session,
        principal,
        "read",
        "contact_note",
        note.id,
        fields=sorted(ContactNoteOut.model_fields),
        resident_id=note.resident_id,
    )
    return out


def _shown_previous(previous: dict[str, Any]) -> dict[str, Any]:
    out = dict(previous)
    if out.get("wellbeing") is not None:
        out["wellbeing"] = shown_wellbeing(out["wellbeing"])
    return out


async def list_revisions(
    session: AsyncSession, principal: Principal, note_id: str
) -> list[ContactNoteRevisionOut]:
    """What corrections replaced, oldest first: the note's author and coordinators."""
    note = await _visible_note(session, principal, note_id)
    if not may_read_note_history(principal, note):
        raise Forbidden()
    rows = await session.scalars(
        select(ContactNoteRevision)
        .where(ContactNoteRevision.note_id == note.id)
        .order_by(ContactNoteRevision.revised_at, ContactNoteRevision.id)
    )
    audit.record(session, principal, "read", "contact_note_revision", note.id, resident_id=note.resident_id)
    return [
        ContactNoteRevisionOut(
            id=r.id,
            revised_at=r.revised_at,
            revised_by=r.revised_by,
            reason=r.reason,
            fields=list(r.fields),
            previous=_shown_previous(r.previous),
        )
        for r in rows
    ]


# --- writing ----------------------------------------------------------------------------------------


async def create_note(
    session: AsyncSession, principal: Principal, resident_id: str, data: ContactNoteIn
) -> tuple[ContactNoteOut, bool]:
    """Record a contact for a resident the caller may see; returns the note and whether it is new.
    Sending the same client-made `id` again returns the note already recorded (no duplicate)."""
    # Locked first (PostgreSQL), as a push locks it: the visits and alerts the listener touches
    # follow in the same order everywhere.
    resident = await get_visible(session, principal, resident_id, lock=True)
    org = await _org(session, principal)
    zone = timezone_of(org)
    values = data.model_dump(exclude={"id"})
    values["resident_id"] = resident.id
    values["occurred_at"] = _aware(data.occurred_at, zone) if data.occurred_at else utcnow()
    fields = _judged(values, creating=True)
    await _checked_visit(session, org.id, fields.get("visit_id"), resident.id)

    if data.id is not None:
        existing = await session.get(ContactNote, data.id)
        if existing is not None:
            return await _replayed(session, principal, org, existing, resident, fields, data), False

    note = ContactNote(
        org_id=org.id,
        author_id=principal.user_id,
        device_id=principal.device_id,
        received_at=utcnow(),
        **({"id": data.id} if data.id is not None else {}),
        **fields,
    )
    session.add(note)
    await session.flush()
    await note_recorded(session, note, resident)
    audit.record(
        session, principal, "create", "contact_note", note.id, fields=sorted(fields), resident_id=resident.id
    )
    await session.flush()
    return await _note_out(session, note, org), True


async def _replayed(
    session: AsyncSession,
    principal: Principal,
    org: Organisation,
    existing: ContactNote,
    resident: Resident,
    fields: dict[str, Any],
    data: ContactNoteIn,
) -> ContactNoteOut:
    """The same note sent again (a retry after a lost answer): the one recorded, unchanged."""
    mine = (
        existing.org_id == org.id
        and existing.author_id == principal.user_id
        and existing.resident_id == resident.id
        and existing.deleted_at is None
    )
    if not mine:
        raise Conflict("error.note_id_taken")
    # Left unsaid the first time, filled in by the server: the time (now) and the visit the note
    # fulfilled (the contact listener names it). Sent again unsaid, they are the same note.
    unsaid = {name for name in ("occurred_at", "visit_id") if getattr(data, name) is None}
    compared = {k: v for k, v in fields.items() if k not in unsaid}
    if any(not same(getattr(existing, k), v) for k, v in compared.items()):
        raise Conflict("error.note_id_reused")
    return await _note_out(session, existing, org)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def correct_note(
    session: AsyncSession, principal: Principal, note_id: str, data: ContactNoteCorrection
) -> ContactNoteOut:
    """Change a note within the organisation's correction window (its author or a coordinator).
    The replaced values are kept in a revision; a change of time, outcome, method or visit runs
    the contact listener again, as a phone's edit does."""
    note = await _visible_note(session, principal, note_id)
    if not may_correct_note(principal, note):
        raise Forbidden()
    org = await _org(session, principal)
    window = _window(org)
    until = note.received_at + window
    if utcnow() > until:
        local_until = until.astimezone(timezone_of(org)).strftime("%Y-%m-%d %H:%M")
        raise Conflict(
            "error.note_correction_closed",
            hours=rules_for(org).note_correction_hours,
            until=local_until,
            extra={
                "correction_window_hours": rules_for(org).note_correction_hours,
                "correctable_until": until.isoformat(),
            },
        )
    resident = await get_visible(session, principal, note.resident_id, lock=True)
    if session.get_bind().dialect.name == "postgresql":
        # After the resident (the push's lock order); re-read: a phone's edit may have landed.
        await session.execute(
            select(ContactNote)
            .where(ContactNote.id == note.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    sent = data.model_fields_set - {"reason"}
    values = {name: getattr(data, name) for name in sent}
    if values.get("occurred_at") is not None:
        values["occurred_at"] = _aware(values["occurred_at"], timezone_of(org))
    fields = _judged(values, creating=False)
    if "visit_id" in fields:
        await _checked_visit(session, org.id, fields["visit_id"], note.resident_id)
    changes = {k: v for k, v in fields.items() if not same(getattr(note, k), v)}
    if not changes:
        return await _note_out(session, note, org)
    revision = ContactNoteRevision(
        org_id=org.id,
        note_id=note.id,
        revised_at=utcnow(),
        revised_by=principal.user_id,
        device_id=principal.device_id,
        reason=data.reason.strip(),
        fields=sorted(changes),
        previous={name: _jsonable(getattr(note, name)) for name in sorted(changes)},
    )
    session.add(revision)
    for name, value in changes.items():
        setattr(note, name, value)
    await session.flush()
    if changes.keys() & RECHECKED_FIELDS:
        await note_withdrawn(session, note, resident)  # what it did before is looked at again
        await note_recorded(session, note, resident)
    audit.record(
        session,
        principal,
        "correct",
        "contact_note",
        note.id,
        fields=sorted(changes),
        resident_id=note.resident_id,
        revision_id=revision.id,
    )
    await session.flush()
    return await _note_out(session, note, org)
