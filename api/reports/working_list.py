"""The working list: residents not contacted within their risk level's limit (or within N days).

* Who: active residents the caller may see (`domain.access.visible_residents`, exactly as
  GET /residents), optionally of one district, one watcher (any active assignment) or one risk level.
* "Not contacted within N days" counts the organisation's local calendar days: a resident is listed
  when N or more local days have passed since the day of their last contact (today counts as day 0),
  i.e. when no contact fell on any of the last N local days. N is the organisation's
  `contact_gap_days` for the resident's risk level (the same limits as the contact-gap alert), or the
  `days` the caller asks for. A resident never reached counts from the day they were registered.
* A contact is a note in which the person was reached (`Resident.last_contact_at`: `no_answer` and
  `away` are attempts). Its method is shown when the caller may read that note.
* "Not contacted" vs "not synced": whether the primary watcher's phone has synced since the last
  contact. If not, a contact may be sitting on the phone unreported.

Every page read is an audit event naming the residents listed (a read of personal data).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.reports.schemas import AssigneeOut, WorkingListRow
from domain import audit
from domain.access import Principal, assigned_to, visible_notes, visible_residents
from domain.clock import utcnow
from domain.db import READ_ONLY
from domain.enums import AssignmentRole, ContactMethod, ContactOutcome, ResidentStatus, RiskLevel
from domain.models import Assignment, ContactNote, Device, District, Organisation, Resident, User
from domain.org_settings import rules_for

NOT_REACHED = (ContactOutcome.NO_ANSWER, ContactOutcome.AWAY)  # attempts (as schedules/contacts.py)
ROW_FIELDS = frozenset(WorkingListRow.model_fields)
DETAIL_BATCH = 1000


class WorkingState(StrEnum):
    NOT_CONTACTED = "not_contacted"  # the watcher's phone synced since the last contact: nobody went
    NOT_SYNCED = "not_synced"  # it has not: a contact may be on the phone, unreported
    UNASSIGNED = "unassigned"  # nobody is the primary watcher


@dataclass(frozen=True)
class WorkingListFilter:
    days: int | None = None
    district_id: str | None = None
    assignee_id: str | None = None
    risk_level: RiskLevel | None = None
    newest_first: bool = False


@dataclass(frozen=True)
class Cutoffs:
    """Residents whose last contact (or registration) is before `before[risk]` are listed."""

    today: date
    limits: dict[RiskLevel, int]
    before: dict[RiskLevel, datetime]


def cutoffs(
    principal: Principal, org: Organisation, days: int | None, now: datetime | None = None
) -> Cutoffs:
    today = principal.today(now)
    limits = {risk: days for risk in RiskLevel} if days is not None else dict(rules_for(org).contact_gap_days)
    before = {
        # Listed when the last contact's local day is at least `limit` days before today: before
        # the local midnight that starts day (today - limit + 1).
        risk: datetime.combine(today - timedelta(days=limit - 1), time(0), tzinfo=principal.zone).astimezone(
            UTC
        )
        for risk, limit in limits.items()
    }
    return Cutoffs(today, limits, before)


def _basis() -> ColumnElement[datetime]:
    return func.coalesce(Resident.last_contact_at, Resident.created_at)


def overdue_query(principal: Principal, f: WorkingListFilter, cut: Cutoffs) -> Select[tuple[Resident]]:
    basis = _basis()
    overdue = or_(*(and_(Resident.risk_level == risk, basis < moment) for risk, moment in cut.before.items()))
    query = select(Resident).where(
        visible_residents(principal, cut.today), Resident.status == ResidentStatus.ACTIVE, overdue
    )
    if f.district_id:
        query = query.where(Resident.district_id == f.district_id)
    if f.risk_level:
        query = query.where(Resident.risk_level == f.risk_level)
    if f.assignee_id:
        query = query.where(assigned_to(f.assignee_id))
    return query


def _ordered(query: Select[tuple[Resident]], newest_first: bool) -> Select[tuple[Resident]]:
    never = Resident.last_contact_at.is_(None)
    if newest_first:  # most recently contacted first; never contacted last
        return query.order_by(never, Resident.last_contact_at.desc(), Resident.kana, Resident.id)
    return query.order_by(never.desc(), Resident.last_contact_at, Resident.kana, Resident.id)


def page_parts(
    query: Select[tuple[Resident]], newest_first: bool, cut: Cutoffs
) -> list[Select[tuple[Resident]]]:
    """The list in `_ordered`'s order as two parts read one after the other: the residents never
    reached (by kana) and those reached (by last contact, then kana). Each part is a range of the
    index on (org_id, last_contact_at), so a page is read in order and the read stops at the page's
    end, instead of sorting every listed resident to keep fifty. A listed resident reached was
    last reached before the latest cut-off: the range ends there (newest first starts there
    rather than at the residents reached today)."""
    never = query.where(Resident.last_contact_at.is_(None)).order_by(Resident.kana, Resident.id)
    at = Resident.last_contact_at.desc() if newest_first else Resident.last_contact_at
    reached = query.where(Resident.last_contact_at < max(cut.before.values())).order_by(
        at, Resident.kana, Resident.id
    )
    return [reached, never] if newest_first else [never, reached]


async def _page(
    session: AsyncSession,
    query: Select[tuple[Resident]],
    f: WorkingListFilter,
    cut: Cutoffs,
    never_reached: int,
    total: int,
    offset: int | None,
    limit: int | None,
) -> list[Resident]:
    """Rows `offset`..`offset + limit` of the list, from the parts that hold them."""
    parts = page_parts(query, f.newest_first, cut)
    sizes = (
        [total - never_reached, never_reached] if f.newest_first else [never_reached, total - never_reached]
    )
    skip = offset or 0
    residents: list[Resident] = []
    for part, size in zip(parts, sizes, strict=True):
        if skip >= size:
            skip -= size
            continue
        wanted = None if limit is None else limit - len(residents)
        if wanted is not None and wanted <= 0:
            break
        part = part.offset(skip) if skip else part
        residents += (await session.scalars(part if wanted is None else part.limit(wanted))).all()
        skip = 0
    return residents


async def working_list(
    session: AsyncSession,
    principal: Principal,
    f: WorkingListFilter,
    offset: int | None,
    limit: int | None,
    *,
    purpose: str = "list",
) -> tuple[list[WorkingListRow], int, Cutoffs]:
    """One page (or, with `limit=None`, all) of the working list, its total and the cut-offs."""
    org = await session.get_one(Organisation, principal.org_id)
    cut = cutoffs(principal, org, f.days, utcnow())
    query = overdue_query(principal, f, cut)
    counts = query.with_only_columns(
        func.count(), func.count(Resident.last_contact_at), maintain_column_froms=True
    )
    total, reached = (await session.execute(counts)).one()
    residents = await _page(session, query, f, cut, total - reached, total, offset, limit)
    rows = await _rows(session, principal, residents, cut)
    audit.record(
        session,
        principal,
        purpose,
        "resident",
        None,
        fields=ROW_FIELDS,
        resident_ids=[r.id for r in residents],
        report="working_list",
    )
    return rows, total, cut


async def export_plan(
    session: AsyncSession, principal: Principal, f: WorkingListFilter
) -> tuple[list[str], Cutoffs]:
    """Who a whole-list export will hold, in file order, recorded as the export's audit event in
    the request's session (committed before the file starts). Only ids are held: the rows are
    built batch by batch as the file is sent (`export_rows`)."""
    org = await session.get_one(Organisation, principal.org_id)
    cut = cutoffs(principal, org, f.days, utcnow())
    query = _ordered(overdue_query(principal, f, cut), f.newest_first).with_only_columns(Resident.id)
    ids = list((await session.scalars(query)).all())
    audit.record(
        session,
        principal,
        "export",
        "resident",
        None,
        fields=ROW_FIELDS,
        resident_ids=ids,
        report="working_list",
    )
    return ids, cut


async def export_rows(
    config: SQLAlchemyAsyncConfig, principal: Principal, ids: list[str], cut: Cutoffs
) -> AsyncIterator[list[WorkingListRow]]:
    """The planned residents' rows, DETAIL_BATCH at a time. Runs after the handler returned, when
    the request's session is closed: each batch reads in a session of its own (short, read-only,
    so a slow reader holds no connection or lock between batches)."""
    for start in range(0, len(ids), DETAIL_BATCH):
        batch = ids[start : start + DETAIL_BATCH]
        async with config.get_session() as session:
            await session.connection(execution_options=READ_ONLY)
            found = {r.id: r for r in await session.scalars(select(Resident).where(Resident.id.in_(batch)))}
            residents = [found[i] for i in batch if i in found]
            yield await _rows(session, principal, residents, cut)


async def _rows(
    session: AsyncSession, principal: Principal, residents: Sequence[Resident], cut: Cutoffs
) -> list[WorkingListRow]:
    ids = [r.id for r in residents]
    if not ids:
        return []
    districts = dict(
        (await session.execute(select(District.id, District.name).where(District.org_id == principal.org_id)))
        .tuples()
        .all()
    )
    methods: dict[str, ContactMethod] = {}
    primaries: dict[str, User] = {}
    # An export holds every listed resident: ask in slices (PostgreSQL takes at most 32,767
    # parameters a statement).
    for start in range(0, len(residents), DETAIL_BATCH):
        batch = residents[start : start + DETAIL_BATCH]
        methods |= await _last_methods(session, principal, batch, cut.today)
        primaries |= await _primaries(session, [r.id for r in batch])
    syncs = await _last_syncs(session, {user.id for user in primaries.values()})
    rows = []
    for resident in residents:
        basis = resident.last_contact_at or resident.created_at
        watcher = primaries.get(resident.id)
        synced = syncs.get(watcher.id) if watcher else None
        if watcher is None:
            state = WorkingState.UNASSIGNED
        elif synced is not None and synced > basis:
            state = WorkingState.NOT_CONTACTED
        else:
            state = WorkingState.NOT_SYNCED
        rows.append(
            WorkingListRow(
                resident_id=resident.id,
                name=resident.name,
                kana=resident.kana,
                address=resident.address,
                district_id=resident.district_id,
                district_name=districts.get(resident.district_id, ""),
                risk_level=resident.risk_level,
                limit_days=cut.limits[RiskLevel(resident.risk_level)],
                last_contact_at=resident.last_contact_at,
                last_contact_method=methods.get(resident.id),
                days_without_contact=(cut.today - basis.astimezone(principal.zone).date()).days,
                assignee=AssigneeOut(id=watcher.id, display_name=watcher.display_name) if watcher else None,
                assignee_last_sync_at=synced,
                synced_since_last_contact=synced is not None and synced > basis,
                state=state,
            )
        )
    return rows


async def _last_methods(
    session: AsyncSession, principal: Principal, residents: Sequence[Resident], today: date
) -> dict[str, ContactMethod]:
    """The method of each resident's last contact, from the notes the caller may read."""
    wanted = {r.id: r.last_contact_at for r in residents if r.last_contact_at is not None}
    if not wanted:
        return {}
    notes = await session.execute(
        select(ContactNote.resident_id, ContactNote.occurred_at, ContactNote.method)
        .join(Resident, Resident.id == ContactNote.resident_id)
        .where(
            ContactNote.resident_id.in_(sorted(wanted)),
            ContactNote.occurred_at == Resident.last_contact_at,  # only the last contact's notes
            ContactNote.outcome.not_in(NOT_REACHED),
            visible_notes(principal, today),
        )
        .order_by(ContactNote.resident_id, ContactNote.occurred_at.desc(), ContactNote.id)
    )
    found: dict[str, ContactMethod] = {}
    for resident_id, occurred_at, method in notes.tuples():
        if resident_id not in found and occurred_at == wanted[resident_id]:
            found[resident_id] = ContactMethod(method)
    return found


async def _primaries(session: AsyncSession, resident_ids: list[str]) -> dict[str, User]:
    rows = await session.execute(
        select(Assignment.resident_id, User)
        .join(User, User.id == Assignment.user_id)
        .where(
            Assignment.resident_id.in_(resident_ids),
            Assignment.role == AssignmentRole.PRIMARY,
            Assignment.ended_at.is_(None),
            Assignment.deleted_at.is_(None),
        )
        .order_by(Assignment.started_at, Assignment.id)
    )
    return {resident_id: user for resident_id, user in rows.tuples()}


async def _last_syncs(session: AsyncSession, user_ids: set[str]) -> dict[str, datetime]:
    """When each user's phone (any not revoked) last synced."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Device.user_id, func.max(Device.last_sync_at))
        .where(Device.user_id.in_(sorted(user_ids)), Device.revoked_at.is_(None))
        .group_by(Device.user_id)
    )
    return {user_id: at for user_id, at in rows.tuples() if at is not None}
