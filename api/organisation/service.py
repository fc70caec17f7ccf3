"""Districts, users and devices: the organisation's people and their phones.

Every function takes the principal and reaches only its organisation; another organisation's ids
are simply not found (404), never forbidden (which would tell that they exist).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import throttle
from api.auth.passwords import new_code_and_hash
from api.auth.sessions import end_user_sessions
from api.organisation.schemas import (
    ActivationCodeOut,
    DeviceOut,
    DeviceRevokedOut,
    DistrictIn,
    DistrictOut,
    DistrictPatch,
    UserAdminOut,
    UserCreatedOut,
    UserIn,
    UserPatch,
    UserUnlockedOut,
    UserUpdatedOut,
    is_id,
    strip_control,
)
from domain import audit, events
from domain.access import Principal, may_manage_users, may_see_district_counts
from domain.clock import utcnow
from domain.enums import ResidentStatus, Role
from domain.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from domain.i18n import register
from domain.models import Assignment, Device, District, RefreshToken, Resident, User, UserDistrict
from domain.settings import Settings

register(
    {
        "error.district_name_taken": {
            "ja": "同じ名前の地区が既にあります。",
            "en": "A district with this name already exists.",
        },
        "error.login_unavailable": {
            "ja": "このログインIDは使えません。別のID（例: 組織名や地区名を付けたもの）にしてください。",
            "en": "This login cannot be used. Please choose another (e.g. with your organisation's or district's name).",
        },
        "field.unknown_district": {
            "ja": "この組織にない地区です: {ids}",
            "en": "Not a district of this organisation: {ids}",
        },
        "error.user_has_assignments": {
            "ja": "この利用者には現在{count}件の担当があります。無効にする前に担当を引き継いでください。",
            "en": "This user still has {count} current assignments. Hand them over before deactivating.",
        },
        "error.user_inactive": {
            "ja": "無効になっている利用者です。先に有効にしてください。",
            "en": "This user is deactivated. Reactivate them first.",
        },
        "error.own_account": {
            "ja": "自分自身のアカウントは無効にできません。",
            "en": "You cannot deactivate your own account.",
        },
    }
)


def _require_manager(principal: Principal) -> None:
    if not may_manage_users(principal):
        raise Forbidden()


# --- districts ------------------------------------------------------------------------------------


async def list_districts(session: AsyncSession, principal: Principal) -> list[DistrictOut]:
    rows = (
        await session.scalars(
            select(District).where(District.org_id == principal.org_id).order_by(District.name)
        )
    ).all()
    out = [DistrictOut.model_validate(d) for d in rows]
    if may_see_district_counts(principal) and out:
        residents = dict(
            (
                await session.execute(
                    select(Resident.district_id, func.count())
                    .where(
                        Resident.org_id == principal.org_id,
                        Resident.deleted_at.is_(None),
                        Resident.status != ResidentStatus.ENDED,
                    )
                    .group_by(Resident.district_id)
                )
            ).all()
        )
        watchers = dict(
            (
                await session.execute(
                    select(UserDistrict.district_id, func.count())
                    .join(User, User.id == UserDistrict.user_id)
                    .where(
                        UserDistrict.org_id == principal.org_id,
                        User.active.is_(True),
                        # Who watches a district as such (the coverage report counts the same):
                        # a volunteer holding it still sees only the residents assigned to them.
                        User.role == Role.COMMISSIONER,
                    )
                    .group_by(UserDistrict.district_id)
                )
            ).all()
        )
        for d in out:
            d.residents = residents.get(d.id, 0)
            d.watchers = watchers.get(d.id, 0)
    return out


async def _name_free(session: AsyncSession, org_id: str, name: str, except_id: str | None = None) -> None:
    query = select(District.id).where(District.org_id == org_id, District.name == name)
    if except_id:
        query = query.where(District.id != except_id)
    if await session.scalar(query) is not None:
        raise Conflict("error.district_name_taken")


async def create_district(session: AsyncSession, principal: Principal, data: DistrictIn) -> DistrictOut:
    _require_manager(principal)
    name = data.name.strip()
    await _name_free(session, principal.org_id, name)
    district = District(org_id=principal.org_id, name=name, code=data.code)
    session.add(district)
    await session.flush()
    audit.record(session, principal, "create", "district", district.id, fields=sorted(data.model_fields_set))
    return DistrictOut.model_validate(district)


async def get_district(session: AsyncSession, principal: Principal, district_id: str) -> District:
    if not is_id(district_id):
        raise NotFound()
    district = await session.scalar(
        select(District).where(District.id == district_id, District.org_id == principal.org_id)
    )
    if district is None:
        raise NotFound()
    return district


async def update_district(
    session: AsyncSession, principal: Principal, district_id: str, data: DistrictPatch
) -> DistrictOut:
    _require_manager(principal)
    district = await get_district(session, principal, district_id)
    if data.name is not None:
        await _name_free(session, principal.org_id, data.name.strip(), except_id=district.id)
        district.name = data.name.strip()
    if "code" in data.model_fields_set:
        district.code = data.code
    await session.flush()
    audit.record(session, principal, "update", "district", district.id, fields=sorted(data.model_fields_set))
    return DistrictOut.model_validate(district)


async def check_districts(session: AsyncSession, org_id: str, ids: Sequence[str], field: str) -> None:
    """Every id must be a district of this organisation (another org's id reads as unknown)."""
    wanted = set(ids)
    if not wanted:
        return
    # A value that cannot be an id is unknown without asking the database (PostgreSQL refuses NUL).
    possible = sorted(i for i in wanted if is_id(i))
    found = set(
        (
            await session.scalars(
                select(District.id).where(District.org_id == org_id, District.id.in_(possible))
            )
        ).all()
        if possible
        else ()
    )
    missing = sorted(strip_control(i) for i in wanted - found)
    if missing:
        raise InvalidInput.field(field, "field.unknown_district", ids=", ".join(missing))


# --- users ----------------------------------------------------------------------------------------


async def _districts_of(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return result
    rows = await session.execute(
        select(UserDistrict.user_id, UserDistrict.district_id)
        .where(UserDistrict.user_id.in_(user_ids))
        .order_by(UserDistrict.district_id)
    )
    for user_id, district_id in rows.all():
        result[user_id].append(district_id)
    return result


def _watching() -> ColumnElement[bool]:
    """Assignments that still put somebody in the person's care: current, of a resident neither
    ended nor deleted. An ended resident's assignment stays current (the resident may come back,
    the history stays readable) but holds nobody back and is handed to nobody."""
    return (
        Assignment.ended_at.is_(None)
        & Assignment.deleted_at.is_(None)
        & select(Resident.id)
        .where(
            Resident.id == Assignment.resident_id,
            Resident.deleted_at.is_(None),
            Resident.status != ResidentStatus.ENDED,
        )
        .exists()
    )


async def _assignment_counts(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, int]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Assignment.user_id, func.count())
        .where(Assignment.user_id.in_(user_ids), _watching())
        .group_by(Assignment.user_id)
    )
    return dict(rows.all())


def _admin_out(user: User, districts: list[str], assignments: int) -> dict[str, object]:
    return {
        "id": user.id,
        "login": user.login,
        "display_name": user.display_name,
        "role": user.role,
        "locale": user.locale,
        "active": user.active,
        "activated": user.password_hash is not None,
        "activation_expires_at": user.activation_expires_at,
        "district_ids": districts,
        "current_assignments": assignments,
        "created_at": user.created_at,
    }


async def _user_out(session: AsyncSession, user: User) -> dict[str, object]:
    districts = await _districts_of(session, [user.id])
    counts = await _assignment_counts(session, [user.id])
    return _admin_out(user, districts[user.id], counts.get(user.id, 0))


async def get_user(session: AsyncSession, principal: Principal, user_id: str) -> User:
    if not is_id(user_id):
        raise NotFound()
    user = await session.scalar(select(User).where(User.id == user_id, User.org_id == principal.org_id))
    if user is None:
        raise NotFound()
    return user


async def _new_code(session: AsyncSession) -> tuple[str, str]:
    """A new code and its hash, made before anything is written: the transaction that checked the
    caller's token is ended first, so no lock (SQLite's write lock) is held while Argon2 runs."""
    await session.commit()
    return await asyncio.to_thread(new_code_and_hash)


def _set_code(user: User, settings: Settings, code_hash: str) -> None:
    user.activation_code_hash = code_hash
    user.activation_expires_at = utcnow() + timedelta(hours=settings.activation_code_hours)


# Logins are unique across the service (sign-in carries no organisation). Whether a login is taken
# in this organisation, in another one, or is reserved, the answer is the same neutral "cannot be
# used": a coordinator learns nothing about other organisations (their own people they can list).
RESERVED_LOGINS = frozenset({"admin", "administrator", "root", "system", "support", "mimamori", "test"})
RESERVED_PREFIXES = ("demo-",)  # demo accounts share a published password


async def _login_available(session: AsyncSession, login: str) -> bool:
    lowered = login.lower()
    if lowered in RESERVED_LOGINS or lowered.startswith(RESERVED_PREFIXES):
        return False
    # Case aside, a login is taken: "Tanaka" beside "tanaka" would share the sign-in throttle (which
    # lower-cases) and be told apart by nobody reading a list.
    return await session.scalar(select(User.id).where(func.lower(User.login) == lowered).limit(1)) is None


async def create_user(
    session: AsyncSession, principal: Principal, settings: Settings, data: UserIn
) -> UserCreatedOut:
    _require_manager(principal)
    code, code_hash = await _new_code(session)
    login = data.login.strip()
    if not await _login_available(session, login):
        raise Conflict("error.login_unavailable", errors=[FieldError("login", "error.login_unavailable")])
    await check_districts(session, principal.org_id, data.district_ids, "district_ids")
    user = User(
        org_id=principal.org_id,
        login=login,
        display_name=data.display_name.strip(),
        role=data.role,
        locale=data.locale,
        active=True,
    )
    _set_code(user, settings, code_hash)
    session.add(user)
    await session.flush()
    for district_id in sorted(set(data.district_ids)):
        session.add(UserDistrict(org_id=principal.org_id, user_id=user.id, district_id=district_id))
    await session.flush()
    audit.record(session, principal, "create", "user", user.id, fields=sorted(data.model_fields_set))
    return UserCreatedOut(**await _user_out(session, user), activation_code=code)  # type: ignore[arg-type]


async def reissue_activation_code(
    session: AsyncSession, principal: Principal, settings: Settings, user_id: str
) -> ActivationCodeOut:
    """A new code replaces the old one; also how a forgotten password is reset: the old password
    stops working at once and every session the person had ends (tokens, pushes)."""
    _require_manager(principal)
    code, code_hash = await _new_code(session)
    user = await get_user(session, principal, user_id)
    if not user.active:  # activation refuses them: a code would only mislead the person
        raise Conflict("error.user_inactive")
    _set_code(user, settings, code_hash)
    user.password_hash = None
    await end_user_sessions(session, user.id)
    audit.record(session, principal, "reissue_activation_code", "user", user.id)
    assert user.activation_expires_at is not None
    return ActivationCodeOut(
        user_id=user.id, activation_code=code, activation_expires_at=user.activation_expires_at
    )


async def unlock_user(session: AsyncSession, principal: Principal, user_id: str) -> UserUnlockedOut:
    """Let a person who is being slowed after failed sign-ins (or activations) try again at once,
    from any address. The password and sessions are untouched; the unlock is audited."""
    _require_manager(principal)
    user = await get_user(session, principal, user_id)
    cleared = await throttle.unlock(session, user.login)
    audit.record(session, principal, "unlock", "user", user.id, counters_cleared=cleared)
    return UserUnlockedOut(user_id=user.id, counters_cleared=cleared)


async def list_users(
    session: AsyncSession,
    principal: Principal,
    *,
    role: Role | None,
    district_id: str | None,
    active: bool | None,
    q: str | None,
    offset: int,
    limit: int,
) -> tuple[list[UserAdminOut], int]:
    _require_manager(principal)
    query = select(User).where(User.org_id == principal.org_id)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if district_id:
        query = query.where(
            select(UserDistrict.user_id)
            .where(UserDistrict.user_id == User.id, UserDistrict.district_id == district_id)
            .exists()
        )
    if q:
        needle = strip_control(q).strip().lower()
        query = query.where(
            func.lower(User.display_name).contains(needle, autoescape=True)
            | func.lower(User.login).contains(needle, autoescape=True)
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = (
        await session.scalars(query.order_by(User.display_name, User.id).offset(offset).limit(limit))
    ).all()
    ids = [u.id for u in users]
    districts = await _districts_of(session, ids)
    counts = await _assignment_counts(session, ids)
    return [UserAdminOut(**_admin_out(u, districts[u.id], counts.get(u.id, 0))) for u in users], total  # type: ignore[arg-type]


async def read_user(session: AsyncSession, principal: Principal, user_id: str) -> UserAdminOut:
    _require_manager(principal)
    user = await get_user(session, principal, user_id)
    return UserAdminOut(**await _user_out(session, user))  # type: ignore[arg-type]


async def update_user(
    session: AsyncSession, principal: Principal, user_id: str, data: UserPatch
) -> UserUpdatedOut:
    _require_manager(principal)
    user = await get_user(session, principal, user_id)
    revoked = 0
    if data.display_name is not None:
        user.display_name = data.display_name.strip()
    if data.locale is not None:
        user.locale = data.locale
    if data.role is not None:
        if user.id == principal.user_id and data.role != Role.COORDINATOR:
            raise InvalidInput.field("role", "field.invalid")
        user.role = data.role
    if data.district_ids is not None:
        await check_districts(session, principal.org_id, data.district_ids, "district_ids")
        current = set((await _districts_of(session, [user.id]))[user.id])
        wanted = set(data.district_ids)
        for district_id in sorted(wanted - current):
            session.add(UserDistrict(org_id=principal.org_id, user_id=user.id, district_id=district_id))
        for district_id in current - wanted:
            link = await session.get(UserDistrict, (user.id, district_id))
            if link is not None:
                await session.delete(link)
    if data.active is False and user.active:
        if user.id == principal.user_id:
            raise Conflict("error.own_account")
        # Nobody falls through the cracks: the residents must have somebody else first.
        count = (await _assignment_counts(session, [user.id])).get(user.id, 0)
        if count:
            raise Conflict("error.user_has_assignments", count=count, extra={"current_assignments": count})
        user.active = False
        await _end_left_over_assignments(session, principal, user)
        # A pending code must not let the person back in, and no session survives.
        user.activation_code_hash = None
        user.activation_expires_at = None
        await end_user_sessions(session, user.id)
        # The person leaves; their phones hold residents' data and must be wiped.
        for device in (
            await session.scalars(
                select(Device).where(Device.user_id == user.id, Device.revoked_at.is_(None))
            )
        ).all():
            await _revoke(session, principal, device)
            revoked += 1
    elif data.active is True:
        user.active = True
    await session.flush()
    audit.record(session, principal, "update", "user", user.id, fields=sorted(data.model_fields_set))
    if {"role", "district_ids", "active"} & data.model_fields_set:
        await events.sight_changed(session, user_ids=[user.id])
    return UserUpdatedOut(**await _user_out(session, user), devices_revoked=revoked)  # type: ignore[arg-type]


# The end reason written into the assignment history when a person leaves while still holding a
# resident whose watching has ended (the stored text is read in the organisation's language).
LEFT_OVER_END_REASON = "担当者の無効化（見守り終了済みの方の担当）"


async def _end_left_over_assignments(session: AsyncSession, principal: Principal, user: User) -> None:
    """The person leaves: their current assignments of ended (or deleted) residents end too, with
    the reason in the history, so that nobody is left assigned to an account that cannot sign in."""
    now = utcnow()
    for assignment in (
        await session.scalars(
            select(Assignment)
            .where(
                Assignment.user_id == user.id,
                Assignment.ended_at.is_(None),
                Assignment.deleted_at.is_(None),
            )
            .order_by(Assignment.resident_id)
        )
    ).all():
        assignment.ended_at = now
        assignment.ended_by = principal.user_id
        assignment.end_reason = LEFT_OVER_END_REASON
        audit.record(
            session,
            principal,
            "end",
            "assignment",
            assignment.id,
            fields=["ended_at", "end_reason"],
            resident_id=assignment.resident_id,
        )


# --- devices --------------------------------------------------------------------------------------


def _device_out(device: Device) -> dict[str, object]:
    return {
        "id": device.id,
        "client_id": device.client_id,
        "platform": device.platform,
        "name": device.name,
        "app_version": device.app_version,
        "has_push_token": device.push_token is not None,
        "last_seen_at": device.last_seen_at,
        "last_sync_at": device.last_sync_at,
        "revoked_at": device.revoked_at,
        "revoked_by": device.revoked_by,
        "created_at": device.created_at,
    }


async def list_devices(session: AsyncSession, principal: Principal, user_id: str) -> list[DeviceOut]:
    _require_manager(principal)
    user = await get_user(session, principal, user_id)
    devices = (
        await session.scalars(
            select(Device).where(Device.user_id == user.id).order_by(Device.created_at, Device.id)
        )
    ).all()
    return [DeviceOut(**_device_out(d)) for d in devices]  # type: ignore[arg-type]


async def _revoke(session: AsyncSession, principal: Principal, device: Device) -> int:
    now = utcnow()
    if device.revoked_at is None:
        device.revoked_at = now
        device.revoked_by = principal.user_id
    device.push_token = None  # no more pushes to a lost phone
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.device_id == device.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def revoke_device(
    session: AsyncSession, principal: Principal, user_id: str, device_id: str
) -> DeviceRevokedOut:
    """Lost phone: its tokens stop working at once; its next request is told to wipe."""
    _require_manager(principal)
    user = await get_user(session, principal, user_id)
    if not is_id(device_id):
        raise NotFound()
    device = await session.scalar(select(Device).where(Device.id == device_id, Device.user_id == user.id))
    if device is None:
        raise NotFound()
    tokens = await _revoke(session, principal, device)
    await session.flush()
    audit.record(session, principal, "revoke", "device", device.id, user_id=user.id)
    return DeviceRevokedOut(**_device_out(device), refresh_tokens_revoked=tokens)  # type: ignore[arg-type]
