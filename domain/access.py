"""The one place where permissions are decided. The API, sync and jobs all ask here.

* coordinators: everything in their organisation (the municipality's own duty, not consent: every
  read is audited);
* commissioners: residents of their districts, or assigned to them, whose consent is given and not
  expired, or whose active legal basis record covers the district commissioner; not ended;
* volunteers: only residents actively assigned to them whose consent covers volunteers (no legal
  basis can), not ended, and only the fields they need.

"Expired" and "today" are judged in the organisation's calendar (`Principal.today`), never UTC's.
Restricted contact notes reach only their author, the district's commissioners and coordinators.
Emergency contacts (family phone numbers) reach coordinators and commissioners, screens and phones
alike, for the residents they may see; never volunteers.
Nothing ever crosses organisations: every clause starts with the principal's org_id.
The rule set for app teams and administrators: docs/privacy.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    event,
    exists,
    false,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from domain.clock import local_today, zone_named
from domain.enums import (
    AlertStatus,
    ConsentRecipient,
    ConsentStatus,
    NoteVisibility,
    ResidentStatus,
    Role,
    VisitStatus,
)
from domain.errors import Forbidden
from domain.i18n import register
from domain.legal_bases import bases_for_recipient, basis_covers
from domain.models import (
    Alert,
    Assignment,
    CommissionerActivity,
    Consent,
    ContactNote,
    EmergencyContact,
    LegalBasisRecord,
    Notification,
    Organisation,
    Resident,
    User,
    UserDistrict,
    Visit,
)


@dataclass(frozen=True)
class Principal:
    """Who is asking: the signed-in user on one device."""

    user_id: str
    org_id: str
    role: Role
    district_ids: frozenset[str] = field(default_factory=frozenset)
    device_id: str | None = None
    locale: str = "ja"
    # The organisation's time zone (IANA name): every calendar rule (consent expiry, "today", the
    # phone's scope day) is judged in it, never in UTC. Loaded wherever principals are built
    # (`domain.principals`).
    timezone: str = "Asia/Tokyo"

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def today(self, now: datetime | None = None) -> date:
        """The organisation's calendar day at `now` (default: the service clock)."""
        return local_today(self.zone, now)


def _zone(name: str) -> ZoneInfo:
    return zone_named(name)


RECIPIENT_FOR_ROLE = {
    Role.COMMISSIONER: ConsentRecipient.DISTRICT_COMMISSIONER,
    Role.VOLUNTEER: ConsentRecipient.VOLUNTEERS,
    Role.COORDINATOR: ConsentRecipient.COUNCIL_STAFF,
}

# What a volunteer's phone and screens get of a resident: enough to find and help the person.
VOLUNTEER_RESIDENT_FIELDS = frozenset(
    {
        "id",
        "name",
        "kana",
        "address",
        "latitude",
        "longitude",
        "phone",
        "risk_level",
        "support_needs",
        "status",
        "district_id",
        "household",
    }
)


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden()


def consent_covers(recipient: ConsentRecipient, today: date) -> ColumnElement[bool]:
    """EXISTS a consent for `recipient` that is given and not expired on `today` (the
    organisation's calendar day, see `Principal.today`), OR an active legal basis record that
    covers `recipient` (`domain.legal_bases`). A withdrawn consent never shares by itself."""
    consent = exists(
        select(Consent.id).where(
            Consent.resident_id == Resident.id,
            Consent.recipient == recipient,
            Consent.deleted_at.is_(None),
            Consent.status == ConsentStatus.GIVEN,
            or_(Consent.expires_on.is_(None), Consent.expires_on >= today),
        )
    )
    if not bases_for_recipient(recipient):
        return consent  # no legal basis can cover this recipient: do not even look
    basis = exists(
        select(LegalBasisRecord.id).where(
            LegalBasisRecord.resident_id == Resident.id,
            LegalBasisRecord.recipient == recipient,
            LegalBasisRecord.basis.in_(bases_for_recipient(recipient)),
            LegalBasisRecord.ended_at.is_(None),
            LegalBasisRecord.deleted_at.is_(None),
        )
    )
    return or_(consent, basis)


def consent_record_covers(
    consent: Consent | None,
    today: date,
    legal_bases: Iterable[LegalBasisRecord] = (),
    recipient: ConsentRecipient | None = None,
) -> bool:
    """The same rule as `consent_covers`, for loaded records: the consent (if any) is given and
    not expired on `today`, or one of `legal_bases` is active and covers the recipient."""
    recipient = recipient or (consent.recipient if consent is not None else None)
    if consent is not None and consent.deleted_at is None and consent.status == ConsentStatus.GIVEN:
        if consent.expires_on is None or consent.expires_on >= today:
            return True
    return any(
        record.recipient == recipient
        and record_is_active(record)
        and basis_covers(record.basis, record.recipient)
        for record in legal_bases
    )


def record_is_active(record: LegalBasisRecord) -> bool:
    return record.ended_at is None and record.deleted_at is None


def assigned_to(user_id: str) -> ColumnElement[bool]:
    return exists(
        select(Assignment.id).where(
            Assignment.resident_id == Resident.id,
            Assignment.user_id == user_id,
            Assignment.ended_at.is_(None),
            Assignment.deleted_at.is_(None),
        )
    )


def visible_residents(principal: Principal, today: date | None = None) -> ColumnElement[bool]:
    """WHERE clause on `Resident` for the residents this principal may see on `today` (default:
    the organisation's calendar day now)."""
    today = today or principal.today()
    districts = principal.district_ids or None
    return _visible(principal.role, principal.org_id, principal.user_id, districts, today)


def visible_residents_bound(role: Role, has_districts: bool) -> ColumnElement[bool]:
    """The same rule as `visible_residents`, with the principal's values as bind parameters
    (`visible_parameters`): a hot read builds its statement once per shape and SQLAlchemy
    memoises its cache key, instead of building both on every request."""
    districts = bindparam("v_district_ids", expanding=True) if has_districts else None
    return _visible(role, bindparam("v_org_id"), bindparam("v_user_id"), districts, bindparam("v_today"))


def visible_parameters(principal: Principal, today: date | None = None) -> dict[str, Any]:
    """The values for `visible_residents_bound(principal.role, bool(principal.district_ids))`."""
    return {
        "v_org_id": principal.org_id,
        "v_user_id": principal.user_id,
        "v_district_ids": sorted(principal.district_ids),
        "v_today": today or principal.today(),
    }


def _visible(role: Role, org_id: Any, user_id: Any, district_ids: Any, today: Any) -> ColumnElement[bool]:
    """`district_ids`: None when the principal has none."""
    in_org = and_(Resident.org_id == org_id, Resident.deleted_at.is_(None))
    if role == Role.COORDINATOR:
        return in_org
    not_ended = Resident.status != ResidentStatus.ENDED
    recipient = RECIPIENT_FOR_ROLE[role]
    if role == Role.COMMISSIONER:
        in_districts = Resident.district_id.in_(district_ids) if district_ids is not None else false()
        reach = or_(in_districts, assigned_to(user_id))
        return and_(in_org, not_ended, reach, consent_covers(recipient, today))
    if role == Role.VOLUNTEER:
        return and_(in_org, not_ended, assigned_to(user_id), consent_covers(recipient, today))
    return false()


def visible_notes(principal: Principal, today: date | None = None) -> ColumnElement[bool]:
    """WHERE clause on `ContactNote` (joined or correlated with `Resident`)."""
    base = and_(
        ContactNote.org_id == principal.org_id,
        ContactNote.deleted_at.is_(None),
        ContactNote.resident_id == Resident.id,
        visible_residents(principal, today),
    )
    if principal.role == Role.COORDINATOR:
        return base
    own = ContactNote.author_id == principal.user_id
    team = ContactNote.visibility == NoteVisibility.TEAM
    if principal.role == Role.COMMISSIONER:
        district = Resident.district_id.in_(principal.district_ids) if principal.district_ids else false()
        return and_(base, or_(team, own, district))
    return and_(base, or_(team, own))


def may_manage_residents(principal: Principal) -> bool:
    """Create and edit residents, consent and assignments: coordinators."""
    return principal.role == Role.COORDINATOR


def may_plan_for_district(principal: Principal, district_id: str) -> bool:
    """Visit plans: coordinators, and commissioners in their own districts."""
    if principal.role == Role.COORDINATOR:
        return True
    return principal.role == Role.COMMISSIONER and district_id in principal.district_ids


def plannable_residents(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause on `Resident`: residents whose visit plans this principal manages —
    coordinators: the organisation; commissioners: the residents of their districts that they may
    see (consent or legal basis)."""
    if principal.role == Role.COORDINATOR:
        return visible_residents(principal)
    if principal.role == Role.COMMISSIONER and principal.district_ids:
        return and_(visible_residents(principal), Resident.district_id.in_(principal.district_ids))
    return false()


def may_handle_alerts(principal: Principal) -> bool:
    return principal.role in (Role.COORDINATOR, Role.COMMISSIONER)


def visible_alerts(principal: Principal, today: date | None = None) -> ColumnElement[bool]:
    """WHERE clause on `Alert`: alerts about residents this principal may see (same rules as the
    resident; a volunteer sees only alerts about residents assigned to them)."""
    return and_(
        Alert.org_id == principal.org_id,
        Alert.deleted_at.is_(None),
        exists(
            select(Resident.id)
            .where(Resident.id == Alert.resident_id, visible_residents(principal, today))
            .correlate_except(Resident)  # callers may join Resident themselves
        ),
    )


def resident_fields_for(principal: Principal) -> frozenset[str] | None:
    """None means every field."""
    return VOLUNTEER_RESIDENT_FIELDS if principal.role == Role.VOLUNTEER else None


def may_manage_users(principal: Principal) -> bool:
    """Create users, hand out activation codes, revoke devices, edit districts: coordinators."""
    return principal.role == Role.COORDINATOR


def may_see_emergency_contacts(principal: Principal) -> bool:
    """Family phone numbers are for the people who act in an emergency, not for volunteers."""
    return principal.role in (Role.COORDINATOR, Role.COMMISSIONER)


def may_read_consents(principal: Principal) -> bool:
    """Consent and assignment records of a visible resident: coordinators and commissioners."""
    return principal.role in (Role.COORDINATOR, Role.COMMISSIONER)


def may_read_assignments(principal: Principal) -> bool:
    return principal.role in (Role.COORDINATOR, Role.COMMISSIONER)


def may_read_audit(principal: Principal) -> bool:
    return principal.role == Role.COORDINATOR


def may_see_district_counts(principal: Principal) -> bool:
    """Residents and watchers per district: coverage figures for coordinators."""
    return principal.role == Role.COORDINATOR


def may_export(principal: Principal) -> bool:
    """Files that leave the service (CSV): coordinators and commissioners, each within what they
    may read; volunteers export nothing."""
    return principal.role in (Role.COORDINATOR, Role.COMMISSIONER)


def coverage_districts(principal: Principal) -> frozenset[str] | None:
    """Districts whose coverage figures (counts and caseloads, no resident named) the principal may
    read: None means every district of the organisation (coordinators); commissioners their own
    districts; volunteers none (Forbidden). The counts include residents whose consent keeps them
    from the commissioner: knowing *how many* cannot be visited is the point of the figure."""
    if principal.role == Role.COORDINATOR:
        return None
    if principal.role == Role.COMMISSIONER:
        return principal.district_ids
    raise Forbidden()


# --- What a phone holds (sync scope) --------------------------------------------------------------
# A phone is a copy that can be lost: it holds only what its user needs in the field.
PHONE_VISITS_BACK = timedelta(days=30)
PHONE_VISITS_AHEAD = timedelta(days=60)
PHONE_NOTES_BACK = timedelta(days=180)
PHONE_ALERTS_RESOLVED_BACK = timedelta(days=30)
PHONE_NOTIFICATIONS_BACK = timedelta(days=30)


def _reach(principal: Principal) -> ColumnElement[bool] | None:
    """The same residents as `visible_residents` narrows to, as an id list the database can probe
    by index (an OR of district and assignment would scan every resident of the town)."""
    assignments = Assignment.__table__
    assigned = select(assignments.c.resident_id).where(
        assignments.c.org_id == principal.org_id,
        assignments.c.user_id == principal.user_id,
        assignments.c.ended_at.is_(None),
        assignments.c.deleted_at.is_(None),
    )
    if principal.role == Role.VOLUNTEER:
        return Resident.id.in_(assigned)
    if principal.role == Role.COMMISSIONER:
        residents = Resident.__table__.alias("reach")
        in_districts = select(residents.c.id).where(
            residents.c.org_id == principal.org_id, residents.c.district_id.in_(principal.district_ids)
        )
        return Resident.id.in_(in_districts.union(assigned))
    return None


def phone_residents(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """WHERE clause on `Resident`: the residents a phone of this principal holds."""
    reach = _reach(principal)
    visible = visible_residents(principal, principal.today(now))
    return visible if reach is None else and_(reach, visible)


def phone_visits(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """WHERE clause on `Visit` correlated with `Resident`: visits of held residents within the
    horizon (30 days back, 60 ahead); a volunteer holds only the visits assigned to them."""
    clause = and_(
        Visit.org_id == principal.org_id,
        Visit.deleted_at.is_(None),
        Visit.resident_id == Resident.id,
        Visit.due_start >= now - PHONE_VISITS_BACK,
        Visit.due_start <= now + PHONE_VISITS_AHEAD,
        phone_residents(principal, now),
    )
    if principal.role == Role.VOLUNTEER:
        clause = and_(clause, Visit.assignee_id == principal.user_id)
    return clause


def phone_notes(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """WHERE clause on `ContactNote` correlated with `Resident`: visible notes of held residents
    that occurred within 180 days."""
    clause = and_(
        visible_notes(principal, principal.today(now)), ContactNote.occurred_at >= now - PHONE_NOTES_BACK
    )
    reach = _reach(principal)
    return clause if reach is None else and_(reach, clause)


def phone_alerts(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """WHERE clause on `Alert` correlated with `Resident`: alerts of held residents for those who
    handle alerts (coordinators, commissioners), unresolved or resolved within 30 days."""
    if not may_handle_alerts(principal):
        return false()
    return and_(
        Alert.org_id == principal.org_id,
        Alert.deleted_at.is_(None),
        Alert.resident_id == Resident.id,
        or_(Alert.status != AlertStatus.RESOLVED, Alert.resolved_at >= now - PHONE_ALERTS_RESOLVED_BACK),
        phone_residents(principal, now),
    )


def phone_emergency_contacts(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """WHERE clause on `EmergencyContact` correlated with `Resident`: the contacts of held
    residents, for those who may see emergency contacts at all (the rule of the resident details
    screen, `may_see_emergency_contacts`). Leaves the phone with its resident, or with the right."""
    if not may_see_emergency_contacts(principal):
        return false()
    return and_(
        EmergencyContact.org_id == principal.org_id,
        EmergencyContact.deleted_at.is_(None),
        EmergencyContact.resident_id == Resident.id,
        phone_residents(principal, now),
    )


def phone_notifications(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """WHERE clause on `Notification`: the user's own inbox of the last 30 days, without the
    messages naming a resident the phone does not hold (they come back when the resident does)."""
    return and_(
        Notification.org_id == principal.org_id,
        Notification.user_id == principal.user_id,
        Notification.deleted_at.is_(None),
        Notification.created_at >= now - PHONE_NOTIFICATIONS_BACK,
        names_only(phone_residents(principal, now)),
    )


# The commissioners' activity record: a commissioner's own activities stay on their own phone for
# a little over a year (the month under review and the year before it).
PHONE_ACTIVITIES_BACK = timedelta(days=400)


def phone_activities(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """WHERE clause on `CommissionerActivity`: a commissioner's own activities of the last 400
    local days. Nobody else's phone holds them (volunteers and coordinators record none)."""
    if principal.role != Role.COMMISSIONER:
        return false()
    return and_(
        CommissionerActivity.org_id == principal.org_id,
        CommissionerActivity.commissioner_id == principal.user_id,
        CommissionerActivity.deleted_at.is_(None),
        CommissionerActivity.activity_date >= principal.today(now) - PHONE_ACTIVITIES_BACK,
    )


def may_record_activities(principal: Principal) -> bool:
    """Activities of the activity record (民生委員・児童委員活動記録): commissioners, their own."""
    return principal.role == Role.COMMISSIONER


def may_read_activity_record(principal: Principal, commissioner: User) -> bool:
    """A commissioner's monthly activity record (counts only, no resident named): the commissioner
    and the organisation's coordinators. Volunteers never (`Forbidden` before this is asked)."""
    if commissioner.org_id != principal.org_id:
        return False
    return principal.role == Role.COORDINATOR or commissioner.id == principal.user_id


def may_read_district_activity_total(principal: Principal, district_id: str) -> bool:
    """The district council's (民児協) total of its commissioners' records: coordinators and the
    commissioners of that district."""
    if principal.role == Role.COORDINATOR:
        return True
    return principal.role == Role.COMMISSIONER and district_id in principal.district_ids


# --- Messages follow sight ------------------------------------------------------------------------
# A message that names a resident reaches a person only while that person may see the resident:
# it is filtered when written (outbox), again when pushed (dispatcher), and the inbox and the phone
# show it only while the resident is visible, so that it leaves with the resident and comes back
# with them.


def names_only(residents: ColumnElement[bool]) -> ColumnElement[bool]:
    """WHERE clause on `Notification`: it names no resident, or one matching `residents` (a clause
    on `Resident`, e.g. `visible_residents(principal)`)."""
    return or_(
        Notification.resident_id.is_(None),
        exists(
            select(Resident.id)
            .where(Resident.id == Notification.resident_id, residents)
            .correlate_except(Resident)
        ),
    )


def visible_notifications(principal: Principal, today: date | None = None) -> ColumnElement[bool]:
    """WHERE clause on `Notification`: the principal's own inbox, as far as it names residents the
    principal may see now (the API's inbox, unread counts, read marks)."""
    return and_(
        Notification.org_id == principal.org_id,
        Notification.user_id == principal.user_id,
        Notification.deleted_at.is_(None),
        names_only(visible_residents(principal, today)),
    )


class UserFacts(Protocol):
    """What a principal is built from: a `User`, or a row of the same columns (authentication)."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def locale(self) -> str: ...


def principal_for(
    user: UserFacts | User, district_ids: Iterable[str], timezone: str, device_id: str | None = None
) -> Principal:
    """A user as a principal: how sign-in sees them (`domain.principals.principal_of`), and how a
    job judges who may be told. `timezone` is the organisation's: every calendar rule uses it."""
    return Principal(
        user_id=user.id,
        org_id=user.org_id,
        role=Role(user.role),
        district_ids=frozenset(district_ids),
        device_id=device_id,
        locale=user.locale,
        timezone=timezone,
    )


_SIGHT_USERS_PER_STATEMENT = 100

# Why a person may not see a resident, as a refusal states it (e.g. a plan's assignee: 422).
register(
    {
        "sight.user_inactive": {
            "ja": "この担当者のアカウントは無効です。",
            "en": "This person's account is not active.",
        },
        "sight.resident_unknown": {
            "ja": "この担当者にはこの対象者が見えません。",
            "en": "This person may not see this resident.",
        },
        "sight.resident_ended": {
            "ja": "見守りが終了した対象者は担当できません。",
            "en": "Watching over this resident has ended.",
        },
        "sight.not_assigned": {
            "ja": "この担当者はこの対象者の担当として割り当てられていないため、対象者を閲覧できません。",
            "en": "This person may not see the resident: they are not assigned to them.",
        },
        "sight.other_district": {
            "ja": "対象者は担当者の担当地区外で、担当としての割り当てもないため、閲覧できません。",
            "en": "This person may not see the resident: the resident lives outside their districts "
            "and is not assigned to them.",
        },
        "sight.no_consent": {
            "ja": "この担当者の立場への同意（または法令上の根拠）がないため、対象者を閲覧できません。",
            "en": "This person may not see the resident: no consent (or legal basis) covers people "
            "in their role.",
        },
    }
)


async def who_may_see(
    session: AsyncSession, pairs: Iterable[tuple[str, str]], today: date | None = None
) -> set[tuple[str, str]]:
    """Of the (user id, resident id) pairs, those where the user — active, of the resident's
    organisation, judged by `visible_residents` exactly as when they sign in — may see the resident
    now. Two round trips (one more per hundred users); the rule itself is never restated.

    Answers are remembered within the unit of work until it writes anything (pending changes, flush,
    DML, commit, rollback), so that a job choosing a visitor and then writing the message asks
    once."""
    if session.new or session.dirty or session.deleted:
        session.info.pop(_SIGHT_MEMO, None)  # unflushed writes may change sight: ask the database
    memo: dict[tuple[str, str, date | None], bool] = session.info.setdefault(_SIGHT_MEMO, {})
    asked = {(user_id, resident_id) for user_id, resident_id in pairs if user_id and resident_id}
    seen = {pair for pair in asked if memo.get((*pair, today))}
    wanted: dict[str, set[str]] = defaultdict(set)
    for user_id, resident_id in asked:
        if (user_id, resident_id, today) not in memo:
            wanted[user_id].add(resident_id)
    if not wanted:
        return seen
    users: dict[str, User] = {}
    zones: dict[str, str] = {}
    districts: dict[str, set[str]] = defaultdict(set)
    for user, district_id, zone in (
        await session.execute(
            select(User, UserDistrict.district_id, Organisation.timezone)
            .join(Organisation, Organisation.id == User.org_id)
            .outerjoin(UserDistrict, UserDistrict.user_id == User.id)
            .where(User.id.in_(wanted), User.active.is_(True))
        )
    ).tuples():
        users[user.id] = user
        zones[user.id] = zone
        if district_id is not None:
            districts[user.id].add(district_id)
    found: set[tuple[str, str]] = set()
    ordered = sorted(users)
    for start in range(0, len(ordered), _SIGHT_USERS_PER_STATEMENT):
        parts = []
        for user_id in ordered[start : start + _SIGHT_USERS_PER_STATEMENT]:
            principal = principal_for(users[user_id], districts[user_id], zones[user_id])
            parts.append(
                select(literal(user_id).label("user_id"), Resident.id.label("resident_id")).where(
                    Resident.id.in_(sorted(wanted[user_id])), visible_residents(principal, today)
                )
            )
        statement = parts[0] if len(parts) == 1 else union_all(*parts)
        found |= set((await session.execute(statement)).tuples())
    for user_id, resident_ids in wanted.items():
        for resident_id in resident_ids:
            memo[(user_id, resident_id, today)] = (user_id, resident_id) in found
    return seen | found


_SIGHT_MEMO = "mimamori_sight_memo"


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_sight(session: Session, *_: Any) -> None:
    session.info.pop(_SIGHT_MEMO, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_sight_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info.pop(_SIGHT_MEMO, None)


async def why_hidden(session: AsyncSession, user: User, resident: Resident) -> str:
    """Which part of the rule keeps `resident` from `user` (for a refusal that says why): a message
    code. Only asked after `who_may_see` said no."""
    if not user.active:
        return "sight.user_inactive"
    if resident.deleted_at is not None or resident.org_id != user.org_id:
        return "sight.resident_unknown"
    role = Role(user.role)
    if role == Role.COORDINATOR:
        return "sight.resident_unknown"
    if resident.status == ResidentStatus.ENDED:
        return "sight.resident_ended"
    assigned = await session.scalar(
        select(Resident.id).where(Resident.id == resident.id, assigned_to(user.id))
    )
    if role == Role.VOLUNTEER and assigned is None:
        return "sight.not_assigned"
    if role == Role.COMMISSIONER and assigned is None:
        in_district = await session.scalar(
            select(UserDistrict.user_id).where(
                UserDistrict.user_id == user.id, UserDistrict.district_id == resident.district_id
            )
        )
        if in_district is None:
            return "sight.other_district"
    return "sight.no_consent"


# What a phone may change of a visit it holds. Fulfilment by a note is decided by the server from
# the note's occurred_at; the phone may still mark a visit done (or undo that) and coordinators may
# also cancel or reassign.
_VISIT_FIELDS_FIELD_WORKER = frozenset({"status", "completed_at"})
_VISIT_FIELDS_COORDINATOR = frozenset({"status", "completed_at", "assignee_id"})
_VISIT_STATUSES_FIELD_WORKER = frozenset({VisitStatus.PLANNED, VisitStatus.DONE})


def visit_fields_phone_may_change(principal: Principal, visit: Visit) -> frozenset[str]:
    if principal.role == Role.COORDINATOR:
        return _VISIT_FIELDS_COORDINATOR
    if principal.role == Role.VOLUNTEER and visit.assignee_id != principal.user_id:
        return frozenset()
    return _VISIT_FIELDS_FIELD_WORKER


def visit_status_phone_may_set(principal: Principal, status: str) -> bool:
    if principal.role == Role.COORDINATOR:
        return status in set(VisitStatus)
    return status in _VISIT_STATUSES_FIELD_WORKER


def may_edit_note(principal: Principal, note: ContactNote) -> bool:
    """Contact notes are append-only for everybody but their author."""
    return note.author_id == principal.user_id and note.org_id == principal.org_id


def may_correct_note(principal: Principal, note: ContactNote) -> bool:
    """Correcting a note after the fact (the office's REST endpoint, within the organisation's
    correction window): its author, or a coordinator of its organisation."""
    return may_edit_note(principal, note) or (
        principal.role == Role.COORDINATOR and note.org_id == principal.org_id
    )


def may_read_note_history(principal: Principal, note: ContactNote) -> bool:
    """A note's earlier versions (what a correction replaced): its author and coordinators."""
    return may_correct_note(principal, note)


__all__ = [
    "Principal",
    "assigned_to",
    "consent_covers",
    "consent_record_covers",
    "coverage_districts",
    "may_correct_note",
    "may_edit_note",
    "may_export",
    "may_handle_alerts",
    "may_manage_residents",
    "may_manage_users",
    "may_plan_for_district",
    "may_read_assignments",
    "may_read_audit",
    "may_read_consents",
    "may_read_note_history",
    "may_see_district_counts",
    "may_see_emergency_contacts",
    "names_only",
    "phone_alerts",
    "phone_emergency_contacts",
    "phone_notes",
    "phone_notifications",
    "phone_residents",
    "phone_visits",
    "principal_for",
    "require_role",
    "resident_fields_for",
    "true",
    "visible_alerts",
    "visible_notes",
    "visible_notifications",
    "visible_residents",
    "visit_fields_phone_may_change",
    "visit_status_phone_may_set",
    "who_may_see",
    "why_hidden",
]
