"""Residents, emergency contacts, consent records and assignments.

Who sees which resident is decided only by `domain.access.visible_residents`; a resident outside it
is "not found" (404), so no caller learns that it exists. Writes are ORM writes of change-feed rows
(the feed stamps them; nothing is deleted, only tombstoned or ended), and every read and change of
personal data leaves an audit event naming fields, never values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.organisation.schemas import is_id, strip_control
from api.organisation.service import check_districts
from api.residents.schemas import (
    AssignmentCreatedOut,
    AssignmentEndIn,
    AssignmentIn,
    AssignmentOut,
    AssignmentsOut,
    ConsentIn,
    ConsentOut,
    ConsentWithdrawIn,
    EmergencyContactIn,
    EmergencyContactOut,
    HandOverIn,
    HandOverOut,
    LegalBasisEndIn,
    LegalBasisIn,
    LegalBasisOut,
    LegalBasisRuleOut,
    ResidentIn,
    ResidentOut,
    ResidentPatch,
    ResidentStatusIn,
)
from domain import audit, autocommit, events
from domain.access import (
    Principal,
    assigned_to,
    consent_record_covers,
    may_manage_residents,
    may_read_assignments,
    may_read_consents,
    may_see_emergency_contacts,
    record_is_active,
    resident_fields_for,
    visible_parameters,
    visible_residents,
    visible_residents_bound,
)
from domain.clock import utcnow
from domain.enums import (
    AssignmentRole,
    ConsentRecipient,
    ConsentStatus,
    ResidentStatus,
    RiskLevel,
    VisitStatus,
)
from domain.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from domain.i18n import register
from domain.legal_bases import LEGAL_BASES, basis_covers
from domain.models import (
    Assignment,
    Consent,
    EmergencyContact,
    LegalBasisRecord,
    Resident,
    User,
    Visit,
    VisitPlan,
)
from domain.principals import principal_of

register(
    {
        "field.unknown_user": {
            "ja": "この組織の有効な利用者ではありません。",
            "en": "Not an active user of this organisation.",
        },
        "field.unknown_contact": {
            "ja": "この対象者の緊急連絡先ではありません: {id}",
            "en": "Not an emergency contact of this resident: {id}",
        },
        "field.reason_required": {
            "ja": "休止・終了には理由が必要です。",
            "en": "A reason is required to pause or end.",
        },
        "field.same_user": {
            "ja": "引継ぎ元と引継ぎ先が同じです。",
            "en": "The outgoing and incoming user are the same.",
        },
        "field.expires_before_given": {
            "ja": "有効期限が同意日より前です。",
            "en": "The expiry date is before the date of consent.",
        },
        "error.already_assigned": {
            "ja": "この利用者は既にこの対象者の担当です。",
            "en": "This user is already assigned to this resident.",
        },
        "error.primary_exists": {
            "ja": "この対象者には既に主担当がいます。先に終了するか、副担当として割り当ててください。",
            "en": "This resident already has a primary watcher. End that assignment first or assign as backup.",
        },
        "error.assignment_ended": {
            "ja": "この担当は既に終了しています。",
            "en": "This assignment has already ended.",
        },
        "error.resident_ended": {
            "ja": "見守りが終了した対象者です。",
            "en": "Watching over this resident has ended.",
        },
        "field.basis_does_not_cover": {
            "ja": "法的根拠「{basis}」は提供先「{recipient}」を対象にできません（対象: {covers}）。",
            "en": "The legal basis {basis} cannot cover the recipient {recipient} (it covers: {covers}).",
        },
        "error.legal_basis_active": {
            "ja": "この法的根拠は既にこの提供先について記録されています。",
            "en": "This legal basis is already recorded for this recipient.",
        },
        "error.legal_basis_ended": {
            "ja": "この法的根拠の記録は既に終了しています。",
            "en": "This legal basis record has already ended.",
        },
        "error.no_consent_record": {
            "ja": "この対象者にはこの提供先の同意記録がありません。",
            "en": "There is no consent record for this recipient.",
        },
        "error.consent_not_given": {
            "ja": "この提供先への同意は「同意あり」として記録されていないため、撤回できません。",
            "en": "Consent for this recipient is not recorded as given, so it cannot be withdrawn.",
        },
    }
)

ALL_RESIDENT_FIELDS = frozenset(ResidentOut.model_fields)
LIST_HIDDEN = frozenset({"emergency_contacts"})  # lists are for finding people; details for helping


def _require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


# --- reading ----------------------------------------------------------------------------------------


async def get_visible(
    session: AsyncSession, principal: Principal, resident_id: str, *, lock: bool = False
) -> Resident:
    """The resident if this principal may see it, else NotFound (even if it exists elsewhere).
    `lock` holds the row until commit (PostgreSQL), serialising changes to one resident."""
    if not is_id(resident_id):
        raise NotFound()
    query = select(Resident).where(Resident.id == resident_id, visible_residents(principal))
    resident = await session.scalar(query.with_for_update(of=Resident) if lock else query)
    if resident is None:
        raise NotFound()
    return resident


def _search_variants(text: str) -> set[str]:
    """Name or kana, as typed: full-width/half-width folded (NFKC), hiragana and katakana both,
    spaces ignored, case-insensitive."""
    folded = (
        unicodedata.normalize("NFKC", strip_control(text))
        .strip()
        .lower()
        .replace(" ", "")
        .replace("\u3000", "")
    )
    katakana = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in folded)
    hiragana = "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in folded)
    return {v for v in (folded, katakana, hiragana) if v}


def _squashed(column: ColumnElement[str]) -> ColumnElement[str]:
    return func.replace(func.replace(func.lower(column), " ", ""), "\u3000", "")


@dataclass(frozen=True)
class ResidentFilter:
    district_id: str | None = None
    risk_level: RiskLevel | None = None
    status: ResidentStatus | None = None
    assignee_id: str | None = None
    q: str | None = None


def _filtered(principal: Principal, f: ResidentFilter, *columns: Any) -> Select[Any]:
    """The residents matching `f` that `principal` may see: whole residents, or only `columns`."""
    query = select(*(columns or (Resident,))).where(visible_residents(principal))
    if f.district_id:
        query = query.where(Resident.district_id == f.district_id)
    if f.risk_level:
        query = query.where(Resident.risk_level == f.risk_level)
    if f.status:
        query = query.where(Resident.status == f.status)
    if f.assignee_id:
        query = query.where(assigned_to(f.assignee_id))
    if f.q and (variants := _search_variants(f.q)):
        name, kana = _squashed(Resident.name), _squashed(Resident.kana)
        query = query.where(
            or_(*(c.contains(v, autoescape=True) for v in sorted(variants) for c in (name, kana)))
        )
    return query


def _out(
    resident: Resident, fields: frozenset[str] | None, contacts: Sequence[EmergencyContact] | None
) -> ResidentOut:
    out = ResidentOut.model_validate(
        {
            **{name: getattr(resident, name) for name in ALL_RESIDENT_FIELDS - {"emergency_contacts"}},
            "emergency_contacts": (
                [EmergencyContactOut.model_validate(c) for c in contacts] if contacts is not None else None
            ),
        }
    )
    return out.restrict(fields)


async def list_residents(
    session: AsyncSession,
    principal: Principal,
    f: ResidentFilter,
    offset: int,
    limit: int | None,
    *,
    purpose: str = "list",
) -> tuple[list[ResidentOut], int]:
    """A page (`limit=None`: every row, for an export; `purpose` names the audit action)."""
    query = _filtered(principal, f)
    # The total rides on the page's rows (a window is counted before OFFSET/LIMIT): one round trip.
    # Only a page past the end, which has no row to carry it, counts on its own.
    page = (
        await session.execute(
            query.add_columns(func.count().over())
            .order_by(Resident.kana, Resident.name, Resident.id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
    rows = [resident for resident, _ in page]
    if page:
        total = int(page[0][1])
    elif offset == 0:
        total = 0
    else:
        total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    fields = (resident_fields_for(principal) or ALL_RESIDENT_FIELDS) - LIST_HIDDEN
    audit.record(
        session, principal, purpose, "resident", None, fields=fields, resident_ids=[r.id for r in rows]
    )
    return [_out(r, fields, None) for r in rows], total


# The columns of a list page per set of visible fields, in ResidentOut's order (the JSON's order).
_LIST_COLUMNS: dict[frozenset[str], tuple[str, ...]] = {}
_PAGE_STATEMENTS: dict[tuple[str, bool, tuple[str, ...]], Select[Any]] = {}


def _list_columns(fields: frozenset[str]) -> tuple[str, ...]:
    names = _LIST_COLUMNS.get(fields)
    if names is None:
        names = _LIST_COLUMNS[fields] = tuple(n for n in ResidentOut.model_fields if n in fields)
    return names


async def resident_page(
    session: AsyncSession, principal: Principal, f: ResidentFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The API's list page: the same residents, order, total and audit event as `list_residents`,
    but each resident as a plain dict of the fields the caller may see, read as columns. Building
    ORM objects and a validated ResidentOut per row cost more than the rest of the request; the
    JSON is the same, since the columns hold what ResidentOut would serialise (enums as their
    string values, datetimes and floats as they are)."""
    fields = (resident_fields_for(principal) or ALL_RESIDENT_FIELDS) - LIST_HIDDEN
    names = _list_columns(fields)
    # Plain rows, without the ORM's result machinery.
    if f == ResidentFilter():  # the usual page: a statement built once per shape
        key = (principal.role, bool(principal.district_ids), names)
        statement = _PAGE_STATEMENTS.get(key)
        if statement is None:
            statement = _PAGE_STATEMENTS[key] = (
                select(*(Resident.__table__.c[n] for n in names), func.count().over())
                .where(visible_residents_bound(principal.role, bool(principal.district_ids)))
                .order_by(Resident.kana, Resident.name, Resident.id)
                .offset(bindparam("offset", type_=Integer))
                .limit(bindparam("limit", type_=Integer))
            )
        parameters = {**visible_parameters(principal), "offset": offset, "limit": limit}
        asyncpg = autocommit.driver(session)
        if asyncpg is not None and autocommit.runs(statement):
            # The route's autocommit unit: straight to the driver (domain/autocommit.py).
            del parameters["v_district_ids"]
            page = await autocommit.fetch(asyncpg, statement, session.get_bind().dialect, parameters)
        else:
            page = (await (await session.connection()).execute(statement, parameters)).all()
    else:
        query = _filtered(principal, f, *(Resident.__table__.c[n] for n in names))
        page = (
            await (await session.connection()).execute(
                query.add_columns(func.count().over())
                .order_by(Resident.kana, Resident.name, Resident.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
    rows = [dict(zip(names, row, strict=False)) for row in page]  # stops before the count
    if page:
        total = int(page[0][-1])
    elif offset == 0:
        total = 0
    else:
        counted = _filtered(principal, f, Resident.id).subquery()
        total = await session.scalar(select(func.count()).select_from(counted)) or 0
    await audit.record_read(
        session, principal, "list", "resident", None, fields=fields, resident_ids=[r["id"] for r in rows]
    )
    return rows, total


async def _contacts(session: AsyncSession, resident_id: str) -> list[EmergencyContact]:
    rows = await session.scalars(
        select(EmergencyContact)
        .where(EmergencyContact.resident_id == resident_id, EmergencyContact.deleted_at.is_(None))
        .order_by(EmergencyContact.priority, EmergencyContact.created_at, EmergencyContact.id)
    )
    return list(rows.all())


def _detail_fields(principal: Principal) -> frozenset[str]:
    fields = resident_fields_for(principal) or ALL_RESIDENT_FIELDS
    if not may_see_emergency_contacts(principal):
        fields = fields - {"emergency_contacts"}
    return fields


async def _detail(session: AsyncSession, principal: Principal, resident: Resident) -> ResidentOut:
    fields = _detail_fields(principal)
    contacts = await _contacts(session, resident.id) if "emergency_contacts" in fields else None
    return _out(resident, fields, contacts)


async def read_resident(session: AsyncSession, principal: Principal, resident_id: str) -> ResidentOut:
    resident = await get_visible(session, principal, resident_id)
    out = await _detail(session, principal, resident)
    audit.record(session, principal, "read", "resident", resident.id, fields=_detail_fields(principal))
    return out


# --- writing ----------------------------------------------------------------------------------------


def _require_manager(principal: Principal) -> None:
    _require(may_manage_residents(principal))


async def _apply_contacts(
    session: AsyncSession, principal: Principal, resident: Resident, wanted: Sequence[EmergencyContactIn]
) -> list[str]:
    """Make the resident's emergency contacts equal to `wanted`; returns the fields that changed."""
    existing = {c.id: c for c in await _contacts(session, resident.id)}
    changed: set[str] = set()
    kept: set[str] = set()
    for index, item in enumerate(wanted):
        values = item.model_dump(exclude={"id"})
        if item.id is not None:
            contact = existing.get(item.id)
            if contact is None:
                raise InvalidInput.field(
                    f"emergency_contacts.{index}.id", "field.unknown_contact", id=item.id
                )
            kept.add(contact.id)
            for name, value in values.items():
                if getattr(contact, name) != value:
                    setattr(contact, name, value)
                    changed.add(name)
        else:
            session.add(EmergencyContact(org_id=resident.org_id, resident_id=resident.id, **values))
            changed.update(values)
    now = utcnow()
    for contact_id, contact in existing.items():
        if contact_id not in kept:
            contact.deleted_at = now  # tombstone: phones that hold it are told to drop it
            changed.add("deleted")
    if changed:
        audit.record(session, principal, "update", "emergency_contact", resident.id, fields=changed)
    return sorted(changed)


async def create_resident(session: AsyncSession, principal: Principal, data: ResidentIn) -> ResidentOut:
    _require_manager(principal)
    await check_districts(session, principal.org_id, [data.district_id], "district_id")
    values = data.model_dump(exclude={"emergency_contacts"})
    values["name"] = values["name"].strip()
    resident = Resident(org_id=principal.org_id, **values)
    session.add(resident)
    await session.flush()
    audit.record(session, principal, "create", "resident", resident.id, fields=sorted(values))
    if data.emergency_contacts:
        await _apply_contacts(session, principal, resident, data.emergency_contacts)
    await session.flush()
    return await _detail(session, principal, resident)


async def update_resident(
    session: AsyncSession, principal: Principal, resident_id: str, data: ResidentPatch
) -> ResidentOut:
    _require_manager(principal)
    resident = await get_visible(session, principal, resident_id)
    sent = data.model_fields_set - {"emergency_contacts"}
    for required in ("name", "district_id", "household", "risk_level"):
        if required in sent and getattr(data, required) is None:
            raise InvalidInput.field(required, "field.required")
    if "district_id" in sent and data.district_id != resident.district_id:
        await check_districts(session, principal.org_id, [data.district_id or ""], "district_id")
    changed: list[str] = []
    for name in sorted(sent):
        value = getattr(data, name)
        if name in ("kana", "address", "support_needs") and value is None:
            value = ""
        if getattr(resident, name) != value:
            setattr(resident, name, value)
            changed.append(name)
    if changed:
        audit.record(session, principal, "update", "resident", resident.id, fields=changed)
    if "district_id" in changed:  # other commissioners now hold the resident
        await events.sight_changed(session, resident_ids=[resident.id])
    if data.emergency_contacts is not None:
        await _apply_contacts(session, principal, resident, data.emergency_contacts)
    await session.flush()
    return await _detail(session, principal, resident)


async def change_status(
    session: AsyncSession, principal: Principal, resident_id: str, data: ResidentStatusIn
) -> ResidentOut:
    """active / paused (hospital, staying away) / ended. Ending takes the resident off every
    non-coordinator's list and phone (visibility excludes ended residents)."""
    _require_manager(principal)
    resident = await get_visible(session, principal, resident_id)
    reason = (data.reason or "").strip() or None
    if data.status != ResidentStatus.ACTIVE and reason is None:
        raise InvalidInput.field("reason", "field.reason_required")
    changed = resident.status != data.status
    resident.status = data.status
    resident.status_reason = reason if data.status != ResidentStatus.ACTIVE else None
    audit.record(
        session, principal, "change_status", "resident", resident.id, fields=["status", "status_reason"]
    )
    if changed:  # visits ahead are cancelled (or planned again) in this transaction
        await events.resident_status_changed(session, resident)
    await session.flush()
    return await _detail(session, principal, resident)


# --- consent ----------------------------------------------------------------------------------------


def _consent_out(consent: Consent, today: date, bases: Sequence[LegalBasisRecord]) -> ConsentOut:
    mine = [b for b in bases if b.recipient == consent.recipient and record_is_active(b)]
    return ConsentOut.model_validate(
        {
            **{k: getattr(consent, k) for k in ConsentOut.model_fields if k not in ("covers", "legal_bases")},
            "covers": consent_record_covers(consent, today, mine),
            "legal_bases": sorted({b.basis for b in mine}),
        }
    )


async def _active_bases(session: AsyncSession, resident_id: str) -> list[LegalBasisRecord]:
    rows = await session.scalars(
        select(LegalBasisRecord).where(
            LegalBasisRecord.resident_id == resident_id,
            LegalBasisRecord.ended_at.is_(None),
            LegalBasisRecord.deleted_at.is_(None),
        )
    )
    return list(rows.all())


async def list_consents(session: AsyncSession, principal: Principal, resident_id: str) -> list[ConsentOut]:
    _require(may_read_consents(principal))
    resident = await get_visible(session, principal, resident_id)
    rows = (
        await session.scalars(
            select(Consent)
            .where(Consent.resident_id == resident.id, Consent.deleted_at.is_(None))
            .order_by(Consent.recipient)
        )
    ).all()
    audit.record(session, principal, "read", "consent", resident.id, recipients=[c.recipient for c in rows])
    bases = await _active_bases(session, resident.id)
    today = principal.today()
    return [_consent_out(c, today, bases) for c in rows]


async def _consent_for(
    session: AsyncSession, resident: Resident, recipient: ConsentRecipient
) -> Consent | None:
    return await session.scalar(
        select(Consent).where(Consent.resident_id == resident.id, Consent.recipient == recipient)
    )


async def set_consent(
    session: AsyncSession,
    principal: Principal,
    resident_id: str,
    recipient: ConsentRecipient,
    data: ConsentIn,
) -> ConsentOut:
    _require_manager(principal)
    resident = await get_visible(session, principal, resident_id)
    today = principal.today()  # the organisation's calendar day, not UTC's
    given_on = data.given_on
    if data.status == ConsentStatus.GIVEN and given_on is None:
        given_on = today
    if given_on and given_on > today:  # a consent not yet given would share at once
        raise InvalidInput.field("given_on", "field.date_in_future")
    if given_on and data.expires_on and data.expires_on < given_on:
        raise InvalidInput.field("expires_on", "field.expires_before_given")
    consent = await _consent_for(session, resident, recipient)
    values = {
        "status": data.status,
        "purpose": data.purpose,
        "given_on": given_on,
        "expires_on": data.expires_on,
        "recorded_by": principal.user_id,
    }
    if consent is None:
        consent = Consent(org_id=resident.org_id, resident_id=resident.id, recipient=recipient, **values)
        session.add(consent)
        changed = sorted(values)
        action = "create"
    else:
        changed = sorted(k for k, v in values.items() if getattr(consent, k) != v)
        for k, v in values.items():
            setattr(consent, k, v)
        consent.deleted_at = None
        action = "update"
    await session.flush()
    audit.record(
        session,
        principal,
        action,
        "consent",
        consent.id,
        fields=changed,
        resident_id=resident.id,
        recipient=str(recipient),
    )
    await events.sight_changed(session, resident_ids=[resident.id])
    return _consent_out(consent, today, await _active_bases(session, resident.id))


async def withdraw_consent(
    session: AsyncSession,
    principal: Principal,
    resident_id: str,
    recipient: ConsentRecipient,
    data: ConsentWithdrawIn,
) -> ConsentOut:
    """A withdrawal withdraws: sharing under this consent stops at once, the resident leaves the
    lists of the people it covered, and their phones purge it at the next sync. Only a legal basis
    record of its own (recorded and ended separately) can still allow sharing."""
    _require_manager(principal)
    resident = await get_visible(session, principal, resident_id)
    consent = await _consent_for(session, resident, recipient)
    if consent is None or consent.deleted_at is not None:
        raise NotFound("error.no_consent_record")
    if consent.status != ConsentStatus.GIVEN:
        # "Not given" (never asked, or declined) is another legal fact than "withdrawn" (given,
        # then taken back); a second withdrawal withdraws nothing.
        raise Conflict("error.consent_not_given")
    consent.status = ConsentStatus.WITHDRAWN
    consent.recorded_by = principal.user_id
    await session.flush()
    audit.record(
        session,
        principal,
        "withdraw",
        "consent",
        consent.id,
        fields=["status"],
        resident_id=resident.id,
        recipient=str(recipient),
    )
    await events.sight_changed(session, resident_ids=[resident.id])
    return _consent_out(consent, principal.today(), await _active_bases(session, resident.id))


# --- legal bases ------------------------------------------------------------------------------------


def legal_basis_catalogue(principal: Principal) -> list[LegalBasisRuleOut]:
    """The fixed list of legal bases and the recipient kinds each can cover."""
    lang = "en" if principal.locale.startswith("en") else "ja"
    return [
        LegalBasisRuleOut(
            basis=rule.basis, label=rule.label[lang], law=rule.law[lang], covers=sorted(rule.covers)
        )
        for rule in LEGAL_BASES.values()
    ]


def _basis_out(record: LegalBasisRecord) -> LegalBasisOut:
    return LegalBasisOut.model_validate(
        {
            **{k: getattr(record, k) for k in LegalBasisOut.model_fields if k != "active"},
            "active": record_is_active(record),
        }
    )


async def list_legal_bases(
    session: AsyncSession, principal: Principal, resident_id: str
) -> list[LegalBasisOut]:
    """Every legal basis recorded for the resident, active and ended (the history)."""
    _require_manager(principal)
    resident = await get_visible(session, principal, resident_id)
    rows = (
        await session.scalars(
            select(LegalBasisRecord)
            .where(LegalBasisRecord.resident_id == resident.id, LegalBasisRecord.deleted_at.is_(None))
            .order_by(LegalBasisRecord.recorded_at.desc(), LegalBasisRecord.id)
        )
    ).all()
    audit.record(session, principal, "read", "legal_basis", resident.id)
    return [_basis_out(r) for r in rows]


async def record_legal_basis(
    session: AsyncSession, principal: Principal, resident_id: str, data: LegalBasisIn
) -> LegalBasisOut:
    """Record that a legal basis allows sharing the resident with one kind of recipient without
    consent. Refused (422) when the basis cannot cover that recipient; one active record per
    resident, basis and recipient (409)."""
    _require_manager(principal)
    if not basis_covers(data.basis, data.recipient):
        # Well-formed but against the rules: 422, naming the basis and what it can cover.
        covers = ", ".join(sorted(LEGAL_BASES[data.basis].covers))
        reason = FieldError(
            "recipient",
            "field.basis_does_not_cover",
            {"basis": str(data.basis), "recipient": str(data.recipient), "covers": covers},
        )
        raise InvalidInput(errors=[reason], status=422)
    # Locked: two coordinators recording the same basis at once must not make two active records.
    resident = await get_visible(session, principal, resident_id, lock=True)
    if resident.status == ResidentStatus.ENDED:
        raise Conflict("error.resident_ended")
    existing = await session.scalar(
        select(LegalBasisRecord.id).where(
            LegalBasisRecord.resident_id == resident.id,
            LegalBasisRecord.basis == data.basis,
            LegalBasisRecord.recipient == data.recipient,
            LegalBasisRecord.ended_at.is_(None),
            LegalBasisRecord.deleted_at.is_(None),
        )
    )
    if existing is not None:
        raise Conflict("error.legal_basis_active")
    record = LegalBasisRecord(
        org_id=resident.org_id,
        resident_id=resident.id,
        basis=data.basis,
        recipient=data.recipient,
        note=data.note.strip(),
        recorded_by=principal.user_id,
        recorded_at=utcnow(),
    )
    session.add(record)
    await session.flush()
    audit.record(
        session,
        principal,
        "create",
        "legal_basis",
        record.id,
        fields=["basis", "recipient", "note"],
        resident_id=resident.id,
        recipient=str(data.recipient),
        basis=str(data.basis),
    )
    # A basis can let an assigned person see the resident again: orphaned visits go back to them.
    await events.sight_changed(session, resident_ids=[resident.id])
    return _basis_out(record)


async def end_legal_basis(
    session: AsyncSession, principal: Principal, resident_id: str, record_id: str, data: LegalBasisEndIn
) -> LegalBasisOut:
    """End a legal basis: the sharing it allowed stops at once (lists now, phones at their next
    sync); the record stays in the history."""
    _require_manager(principal)
    resident = await get_visible(session, principal, resident_id)
    if not is_id(record_id):
        raise NotFound()
    record = await session.scalar(
        select(LegalBasisRecord).where(
            LegalBasisRecord.id == record_id,
            LegalBasisRecord.resident_id == resident.id,
            LegalBasisRecord.deleted_at.is_(None),
        )
    )
    if record is None:
        raise NotFound()
    if record.ended_at is not None:
        raise Conflict("error.legal_basis_ended")
    record.ended_at = utcnow()
    record.ended_by = principal.user_id
    record.end_reason = data.reason.strip()
    await session.flush()
    audit.record(
        session,
        principal,
        "end",
        "legal_basis",
        record.id,
        fields=["ended_at", "end_reason"],
        resident_id=resident.id,
        recipient=str(record.recipient),
        basis=str(record.basis),
    )
    # Ending a basis can take the resident out of an assignee's sight: their visits move on.
    await events.sight_changed(session, resident_ids=[resident.id])
    return _basis_out(record)


# --- assignments ------------------------------------------------------------------------------------


async def list_assignments(session: AsyncSession, principal: Principal, resident_id: str) -> AssignmentsOut:
    _require(may_read_assignments(principal))
    resident = await get_visible(session, principal, resident_id)
    rows = (
        await session.scalars(
            select(Assignment)
            .where(Assignment.resident_id == resident.id, Assignment.deleted_at.is_(None))
            .order_by(Assignment.started_at.desc(), Assignment.id)
        )
    ).all()
    audit.record(session, principal, "read", "assignment", resident.id)
    return AssignmentsOut(
        current=[AssignmentOut.model_validate(a) for a in rows if a.ended_at is None],
        history=[AssignmentOut.model_validate(a) for a in rows if a.ended_at is not None],
    )


async def _org_user(session: AsyncSession, principal: Principal, user_id: str, field: str) -> User:
    user = await session.scalar(
        select(User).where(User.id == user_id, User.org_id == principal.org_id, User.active.is_(True))
    )
    if user is None:
        raise InvalidInput.field(field, "field.unknown_user")
    return user


async def _visible_to(session: AsyncSession, user: User, resident_id: str) -> bool:
    viewer = await principal_of(session, user)
    found = await session.scalar(
        select(Resident.id).where(Resident.id == resident_id, visible_residents(viewer))
    )
    return found is not None


async def create_assignment(
    session: AsyncSession, principal: Principal, resident_id: str, data: AssignmentIn
) -> AssignmentCreatedOut:
    _require_manager(principal)
    # Locked: two coordinators assigning at once must not both make a primary.
    resident = await get_visible(session, principal, resident_id, lock=True)
    if resident.status == ResidentStatus.ENDED:
        raise Conflict("error.resident_ended")
    user = await _org_user(session, principal, data.user_id, "user_id")
    current = (
        await session.scalars(
            select(Assignment).where(
                Assignment.resident_id == resident.id,
                Assignment.ended_at.is_(None),
                Assignment.deleted_at.is_(None),
            )
        )
    ).all()
    if any(a.user_id == user.id for a in current):
        raise Conflict("error.already_assigned")
    if data.role == AssignmentRole.PRIMARY and any(a.role == AssignmentRole.PRIMARY for a in current):
        raise Conflict("error.primary_exists")
    assignment = Assignment(
        org_id=resident.org_id,
        resident_id=resident.id,
        user_id=user.id,
        role=data.role,
        started_at=utcnow(),
        created_by=principal.user_id,
    )
    session.add(assignment)
    await session.flush()
    audit.record(
        session,
        principal,
        "create",
        "assignment",
        assignment.id,
        fields=["user_id", "role"],
        resident_id=resident.id,
    )
    await events.sight_changed(session, resident_ids=[resident.id])  # may close `nobody_can_visit`
    return AssignmentCreatedOut.model_validate(
        {
            **AssignmentOut.model_validate(assignment).model_dump(),
            "visible_to_assignee": await _visible_to(session, user, resident.id),
        }
    )


async def end_assignment(
    session: AsyncSession, principal: Principal, assignment_id: str, data: AssignmentEndIn
) -> AssignmentOut:
    _require_manager(principal)
    if not is_id(assignment_id):
        raise NotFound()
    assignment = await session.scalar(
        select(Assignment).where(
            Assignment.id == assignment_id,
            Assignment.org_id == principal.org_id,
            Assignment.deleted_at.is_(None),
        )
    )
    if assignment is None:
        raise NotFound()
    if assignment.ended_at is not None:
        raise Conflict("error.assignment_ended")
    _end(assignment, principal, data.reason)
    await session.flush()
    audit.record(
        session,
        principal,
        "end",
        "assignment",
        assignment.id,
        fields=["ended_at", "end_reason"],
        resident_id=assignment.resident_id,
    )
    await events.sight_changed(session, resident_ids=[assignment.resident_id])
    return AssignmentOut.model_validate(assignment)


def _end(assignment: Assignment, principal: Principal, reason: str) -> None:
    assignment.ended_at = utcnow()
    assignment.ended_by = principal.user_id
    assignment.end_reason = reason.strip()


async def hand_over(session: AsyncSession, principal: Principal, data: HandOverIn) -> HandOverOut:
    """All of one person's residents to another, in one transaction: the old assignments end with
    the reason (the outgoing phone purges them at its next sync), new ones start with the same role
    (an incoming backup of a resident whose primary leaves becomes the primary, so that nobody is
    left without one), and the outgoing person's visit plans and future planned visits follow.
    The outgoing person's assignments of ended residents end too, and are handed to nobody."""
    _require_manager(principal)
    if data.from_user_id == data.to_user_id:
        raise InvalidInput.field("to_user_id", "field.same_user")
    source = await session.scalar(
        select(User).where(User.id == data.from_user_id, User.org_id == principal.org_id)
    )
    if source is None:  # the outgoing person may already be inactive; they must be of this org
        raise InvalidInput.field("from_user_id", "field.unknown_user")
    target = await _org_user(session, principal, data.to_user_id, "to_user_id")
    outgoing = (
        await session.scalars(
            select(Assignment)
            .where(
                Assignment.org_id == principal.org_id,
                Assignment.user_id == source.id,
                Assignment.ended_at.is_(None),
                Assignment.deleted_at.is_(None),
            )
            .order_by(Assignment.resident_id)
            .with_for_update()
        )
    ).all()
    locked = sorted({a.resident_id for a in outgoing})
    # The same per-resident lock as a single assignment, so the two cannot both add a primary.
    watched = (
        set(
            (
                await session.scalars(
                    select(Resident.id)
                    .where(
                        Resident.id.in_(locked),
                        Resident.deleted_at.is_(None),
                        Resident.status != ResidentStatus.ENDED,
                    )
                    .order_by(Resident.id)
                    .with_for_update()
                )
            ).all()
        )
        if locked
        else set()
    )
    # An ended (or deleted) resident is handed to nobody, as nobody is newly assigned to one: the
    # outgoing assignment just ends (the history keeps it).
    resident_ids = [rid for rid in locked if rid in watched]
    closed = [rid for rid in locked if rid not in watched]
    # What the incoming person already holds for these residents.
    held = (
        {
            a.resident_id: a
            for a in (
                await session.scalars(
                    select(Assignment).where(
                        Assignment.user_id == target.id,
                        Assignment.resident_id.in_(resident_ids),
                        Assignment.ended_at.is_(None),
                        Assignment.deleted_at.is_(None),
                    )
                )
            ).all()
        }
        if resident_ids
        else {}
    )
    created = 0
    ended = len(outgoing)
    now = utcnow()
    for old in outgoing:
        _end(old, principal, data.reason)
        if old.resident_id not in watched:
            continue
        mine = held.get(old.resident_id)
        if mine is not None:
            if not (old.role == AssignmentRole.PRIMARY and mine.role == AssignmentRole.BACKUP):
                continue  # the incoming person already watches this resident in that role or above
            # The backup becomes primary: end the backup, start a primary (the history says so).
            _end(mine, principal, data.reason)
            ended += 1
        new = Assignment(
            org_id=old.org_id,
            resident_id=old.resident_id,
            user_id=target.id,
            role=old.role,
            started_at=now,
            created_by=principal.user_id,
        )
        session.add(new)
        held[old.resident_id] = new
        created += 1
    plans = (
        await session.scalars(
            select(VisitPlan).where(VisitPlan.org_id == principal.org_id, VisitPlan.assignee_id == source.id)
        )
    ).all()
    for plan in plans:
        plan.assignee_id = target.id
    visits = (
        await session.scalars(
            select(Visit).where(
                Visit.org_id == principal.org_id,
                Visit.assignee_id == source.id,
                Visit.status == VisitStatus.PLANNED,
                Visit.due_end >= now,
                Visit.deleted_at.is_(None),
            )
        )
    ).all()
    for visit in visits:
        visit.assignee_id = target.id
    await session.flush()
    viewer = await principal_of(session, target)
    reachable = (
        set(
            (
                await session.scalars(
                    select(Resident.id).where(Resident.id.in_(resident_ids), visible_residents(viewer))
                )
            ).all()
        )
        if resident_ids
        else set()
    )
    audit.record(
        session,
        principal,
        "hand_over",
        "assignment",
        None,
        fields=["user_id"],
        from_user_id=source.id,
        to_user_id=target.id,
        resident_ids=resident_ids,
        ended_resident_ids=closed,
    )
    # The incoming person may not see every resident (consent, or a district the outgoing person
    # saw by district, not by assignment): the plans and visits of those move on again.
    moved = {p.resident_id for p in plans} | {v.resident_id for v in visits}
    await events.sight_changed(session, resident_ids=sorted(set(resident_ids) | moved))
    return HandOverOut(
        residents=resident_ids,
        assignments_ended=ended,
        assignments_created=created,
        plans_moved=len(plans),
        visits_moved=len(visits),
        not_visible_to_assignee=[rid for rid in resident_ids if rid not in reachable],
    )
