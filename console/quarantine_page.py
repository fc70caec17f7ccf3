"""Quarantine review: records phones sent that the server held back (coordinators).

Listing and resolving go through `sync.quarantine` — `list_held` and `resolve`, the services behind
GET /api/v1/sync/quarantine and POST …/{id}/resolve — so only coordinators get in (commissioners
are refused there, 403), only their organisation's records are found, a held contact note is
written by `sync.push.apply_held_note` as its author's, and the same audit events are left. The
reasons are worded by `sync.wording`, as the API words them.

A correction form shows the note's fields as the phone sent them; only the fields the coordinator
changed (or that cannot be read as sent) are passed on as corrections. Resolving twice is refused
by the service ("already resolved"), which the page says in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas import strip_control
from console.filters import Pager, link
from console.views import page_locale, render
from domain.access import Principal, require_role
from domain.enums import ContactMethod, ContactOutcome, NoteVisibility, Role
from domain.errors import Conflict, DomainError, InvalidInput, NotFound
from domain.i18n import translate
from domain.models import Device, QuarantinedRecord, Resident, User
from sync import quarantine, schema, wording
from sync.notes import NOTE_FIELDS, read_note
from sync.validation import Refused

PATH = "/console/quarantine"
PAGE_SIZE = 20
Status = Literal["open", "applied", "discarded"]
NOTICES = ("applied", "discarded")
CHOICES: dict[str, list[str]] = {
    "method": [m.value for m in ContactMethod],
    "outcome": [o.value for o in ContactOutcome],
    "visibility": [v.value for v in NoteVisibility],
}
# Words for the choices: the outcome words of the Today page, the method words of the CSV files.
VALUE_PREFIX = {
    "method": "value.method.",
    "outcome": "console.outcome.",
    "visibility": "console.quarantine.visibility.",
}
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


@dataclass(frozen=True)
class Field:
    """One editable field of a held note, as the form shows it."""

    name: str
    value: str  # what the form shows (for a time, local to the organisation)
    valid: bool  # the value as sent passes the API's own rule


@dataclass(frozen=True)
class HeldRecord:
    entry: dict[str, Any]  # `quarantine.describe`, as the API answers it
    author: str
    device: str
    resident: str
    received_at: datetime
    resolved_at: datetime | None
    resolved_by: str
    sent: list[tuple[str, str]]  # (field in words, value as sent)
    fields: dict[str, Field]  # editable fields; empty when only discarding is possible


def _valid(name: str, raw: Any) -> bool:
    try:
        read_note({name: raw}, schema.LATEST_VERSION, creating=False)
    except Refused:
        return False
    return True


def _local(millis: Any, principal: Principal) -> str:
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        return ""
    try:
        moment = datetime.fromtimestamp(millis / 1000, tz=principal.zone)
    except (OverflowError, OSError, ValueError):
        return ""
    return moment.strftime(LOCAL_INPUT)


def form_fields(record: dict[str, Any], principal: Principal) -> dict[str, Field]:
    """The note's editable fields as the form shows them."""
    fields: dict[str, Field] = {}
    for name in ("method", "outcome", "visibility"):
        raw = record.get(name, "team" if name == "visibility" else None)
        fields[name] = Field(name, raw if isinstance(raw, str) else "", _valid(name, raw))
    occurred = record.get("occurred_at")
    fields["occurred_at"] = Field("occurred_at", _local(occurred, principal), _valid("occurred_at", occurred))
    body = record.get("body", "")
    fields["body"] = Field("body", body if isinstance(body, str) else "", _valid("body", body))
    follow = record.get("follow_up_needed", False)
    fields["follow_up_needed"] = Field(
        "follow_up_needed", "on" if follow is True else "", _valid("follow_up_needed", follow)
    )
    return fields


def _shown(name: str, raw: Any, principal: Principal, locale: str, residents: dict[str, str]) -> str:
    """A sent value for reading: a time in the organisation's zone, a known choice in words, the
    resident by name; anything the server could not read exactly as it came."""
    if name == "occurred_at" and (local := _local(raw, principal)):
        return local.replace("T", " ")
    if name in VALUE_PREFIX and isinstance(raw, str) and raw in CHOICES[name]:
        return translate(VALUE_PREFIX[name] + raw, locale)
    if name == "resident_id" and isinstance(raw, str) and raw in residents:
        return residents[raw]
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else str(raw)


def corrections_from(form: Any, record: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """What the coordinator changed, in the phone's wire form: a field goes in when its submitted
    value differs from what the form showed, or when the value as sent cannot be read."""
    shown = form_fields(record, principal)
    out: dict[str, Any] = {}
    for name, field in shown.items():
        value = form.get(name)
        submitted = value if isinstance(value, str) else ""
        if submitted == field.value and field.valid:
            continue
        if name == "occurred_at":
            out[name] = _millis(submitted, principal)
        elif name == "follow_up_needed":
            out[name] = submitted == "on"
        else:
            out[name] = submitted
    return out


def _millis(text: str, principal: Principal) -> int:
    try:
        moment = datetime.strptime(text, LOCAL_INPUT).replace(tzinfo=principal.zone)
    except ValueError:
        raise InvalidInput.field("occurred_at", "field.type.datetime") from None
    return int(moment.timestamp() * 1000)


async def _names(
    session: AsyncSession, principal: Principal, rows: list[QuarantinedRecord]
) -> dict[str, str]:
    ids = sorted({r.user_id for r in rows} | {r.resolved_by for r in rows if r.resolved_by})
    if not ids:
        return {}
    found = await session.execute(
        select(User.id, User.display_name).where(User.id.in_(ids), User.org_id == principal.org_id)
    )
    return dict(found.tuples().all())


async def _devices(
    session: AsyncSession, principal: Principal, rows: list[QuarantinedRecord]
) -> dict[str, str]:
    ids = sorted({r.device_id for r in rows if r.device_id})
    if not ids:
        return {}
    found = await session.execute(
        select(Device.id, Device.name, Device.platform).where(
            Device.id.in_(ids), Device.org_id == principal.org_id
        )
    )
    return {i: name or platform for i, name, platform in found.tuples().all()}


async def _residents(
    session: AsyncSession, principal: Principal, rows: list[QuarantinedRecord]
) -> dict[str, str]:
    ids = sorted(
        {str(r.record.get("resident_id")) for r in rows if isinstance(r.record.get("resident_id"), str)}
    )
    if not ids:
        return {}
    found = await session.execute(
        select(Resident.id, Resident.name).where(
            Resident.id.in_(ids), Resident.org_id == principal.org_id, Resident.deleted_at.is_(None)
        )
    )
    return dict(found.tuples().all())


def _editable(entry: QuarantinedRecord) -> bool:
    return (
        entry.status == quarantine.OPEN
        and entry.table_name == "contact_notes"
        and entry.operation != "deleted"
    )


async def held_records(
    session: AsyncSession, principal: Principal, locale: str, status: Status, page: int
) -> tuple[list[HeldRecord], int]:
    rows, total = await quarantine.list_held(  # coordinators only (403); audited as the API audits
        session, principal, status=status, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    names = await _names(session, principal, rows)
    devices = await _devices(session, principal, rows)
    residents = await _residents(session, principal, rows)
    out = []
    for row in rows:
        resident_id = row.record.get("resident_id")
        out.append(
            HeldRecord(
                entry=quarantine.describe(row, locale),
                author=names.get(row.user_id, ""),
                device=devices.get(row.device_id or "", ""),
                resident=residents.get(resident_id, "") if isinstance(resident_id, str) else "",
                received_at=row.received_at,
                resolved_at=row.resolved_at,
                resolved_by=names.get(row.resolved_by or "", ""),
                sent=[
                    (wording.field_word(k, locale), _shown(k, v, principal, locale, residents))
                    for k, v in row.record.items()
                    if k in NOTE_FIELDS or row.table_name != "contact_notes"
                ],
                fields=form_fields(row.record, principal) if _editable(row) else {},
            )
        )
    return out, total


async def _entry(session: AsyncSession, principal: Principal, entry_id: str) -> QuarantinedRecord:
    require_role(principal, Role.COORDINATOR)  # the rule `quarantine.resolve` applies (403)
    entry = await session.scalar(
        select(QuarantinedRecord).where(
            QuarantinedRecord.id == entry_id, QuarantinedRecord.org_id == principal.org_id
        )
    )
    if entry is None:
        raise NotFound()
    return entry


def _text(form: Any, name: str, max_length: int) -> str:
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    if len(text) > max_length:
        raise InvalidInput.field(name, "field.too_long", max=max_length)
    if strip_control(text) != text:  # the API's rule for every text (PostgreSQL refuses NUL)
        raise InvalidInput.field(name, "field.invalid")
    return text


class QuarantineController(Controller):
    path = "/"

    async def _page(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        *,
        status: Status = "open",
        page: int = 1,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        locale = page_locale(request, principal)
        records, total = await held_records(session, principal, locale, status, page)
        return render(
            request,
            "quarantine.html.j2",
            principal,
            status_code=status_code,
            active="quarantine",
            records=records,
            status=status,
            statuses=["open", "applied", "discarded"],
            choices=CHOICES,
            value_prefix=VALUE_PREFIX,
            zone=principal.timezone,
            pager=Pager(page, total, PATH, {"status": status}, PAGE_SIZE),
            **context,
        )

    @get("/quarantine", name="console.quarantine")
    async def list_page(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[Status] = "open",
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        notice: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        return await self._page(
            request,
            principal,
            db_session,
            status=status,
            page=page,
            notice_code=f"console.quarantine.{notice}_flash" if notice in NOTICES else None,
        )

    async def _resolve(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        entry_id: str,
        action: str,
    ) -> Response[Any]:
        form = await request.form()
        try:
            entry = await _entry(session, principal, entry_id)
            if action == "discard":
                note = _text(form, "note", 500).strip()
                if not note:
                    raise InvalidInput.field("note", "field.reason_required")
                await quarantine.resolve(session, principal, entry.id, action="discard", note=note)
            else:
                corrections = corrections_from(form, entry.record, principal) if action == "correct" else {}
                await quarantine.resolve(
                    session, principal, entry.id, action="apply", corrections=corrections
                )
        except (Conflict, InvalidInput) as refusal:  # already resolved; a field still wrong
            return await self._refused(request, principal, session, entry_id, refusal)
        await session.commit()  # a redirect: the autocommit hook would not commit it
        done = "discarded" if action == "discard" else "applied"
        return Redirect(link(PATH, {"notice": done}), status_code=303)

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        entry_id: str,
        refusal: DomainError,
    ) -> Template:
        await session.rollback()
        locale = page_locale(request, principal)
        page = await self._page(
            request,
            principal,
            session,
            status_code=refusal.status,
            error_entry=entry_id,
            error_code=refusal.code,
            error_params=refusal.params,
            field_errors=[(wording.field_word(e.field, locale), e.code, e.params) for e in refusal.errors],
        )
        await session.commit()  # the listing's audit event stands, whatever the answer
        return page

    @post("/quarantine/{entry_id:str}/apply", status_code=303)
    async def apply(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        entry_id: FromPath[str],
    ) -> Response[Any]:
        """As the phone sent it."""
        return await self._resolve(request, principal, db_session, entry_id, "apply")

    @post("/quarantine/{entry_id:str}/correct", status_code=303)
    async def correct(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        entry_id: FromPath[str],
    ) -> Response[Any]:
        """With the fields the coordinator corrected."""
        return await self._resolve(request, principal, db_session, entry_id, "correct")

    @post("/quarantine/{entry_id:str}/discard", status_code=303)
    async def discard(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        entry_id: FromPath[str],
    ) -> Response[Any]:
        return await self._resolve(request, principal, db_session, entry_id, "discard")
