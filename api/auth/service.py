"""Sign-in, token rotation, sign-out, activation, and turning a bearer token into a Principal."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import throttle
from api.auth.passwords import check_password_policy, hash_secret, normalise_code, verify_secret
from api.auth.schemas import DeviceIn, LoginIn, TokenOut, UserOut
from api.auth.sessions import end_device_session, end_user_sessions
from api.auth.tokens import (
    decode_access_token,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
    refresh_expiry,
    successor_token,
)
from domain import audit, autocommit
from domain.access import Principal, principal_for
from domain.clock import to_millis, utcnow
from domain.db import READ_ONLY
from domain.errors import InvalidInput, Unauthorized
from domain.i18n import register
from domain.models import Device, Organisation, RefreshToken, User, UserDistrict
from domain.principals import zone_or_default
from domain.settings import Settings
from notifications.devices import register_push_token

register(
    {
        "error.login_failed": {
            "ja": "ログインIDまたはパスワードが正しくありません。",
            "en": "The login or password is not correct.",
        },
        "error.login_rate_limited": {
            "ja": "ログインの失敗が続いたため、{seconds}秒後に再度お試しください。",
            "en": "Too many failed sign-ins. Please try again in {seconds} seconds.",
        },
        "error.activation_failed": {
            "ja": "利用開始コードが正しくないか、期限切れです。コーディネーターに再発行を依頼してください。",
            "en": "The activation code is wrong or expired. Ask your coordinator for a new one.",
        },
        "error.refresh_reused": {
            "ja": "使用済みの更新トークンが使われたため、この端末のセッションを終了しました。再度ログインしてください。",
            "en": "A used refresh token was presented; this device's session was ended. Please sign in again.",
        },
    }
)

WIPE = {"wipe": True, "action": "wipe_local_data"}


async def user_districts(session: AsyncSession, user_id: str) -> list[str]:
    rows = await session.scalars(select(UserDistrict.district_id).where(UserDistrict.user_id == user_id))
    return sorted(rows.all())


async def user_out(session: AsyncSession, user: User) -> UserOut:
    out = UserOut.model_validate(user)
    out.district_ids = await user_districts(session, user.id)
    return out


async def _issue(
    session: AsyncSession,
    settings: Settings,
    user: User,
    device: Device,
    family: str,
    started: datetime,
    refresh: str | None = None,
) -> TokenOut:
    """A new refresh token in `family` (random at sign-in; derived from its predecessor when rotated)
    and an access token with it."""
    refresh = refresh or new_refresh_token()
    session.add(
        RefreshToken(
            org_id=user.org_id,
            device_id=device.id,
            user_id=user.id,
            family_id=family,
            token_hash=hash_refresh_token(refresh),
            issued_at=utcnow(),
            # Never past the session's absolute end: the chain cannot rotate forever.
            expires_at=min(
                refresh_expiry(settings.refresh_token_days),
                started + timedelta(days=settings.session_max_days),
            ),
            session_started_at=started,
        )
    )
    return await _answer(session, settings, user, device, refresh)


async def _answer(
    session: AsyncSession, settings: Settings, user: User, device: Device, refresh: str
) -> TokenOut:
    access, expires_in = issue_access_token(
        settings.secret_key,
        user_id=user.id,
        org_id=user.org_id,
        role=user.role,
        device_id=device.id,
        minutes=settings.access_token_minutes,
    )
    return TokenOut(
        access_token=access, refresh_token=refresh, expires_in=expires_in, user=await user_out(session, user)
    )


async def _register_device(session: AsyncSession, user: User, payload: DeviceIn) -> Device:
    device = await session.scalar(
        select(Device).where(Device.user_id == user.id, Device.client_id == payload.id)
    )
    now = utcnow()
    if device is None:
        device = Device(org_id=user.org_id, user_id=user.id, client_id=payload.id, platform=payload.platform)
        session.add(device)
    elif device.revoked_at is not None:
        # A revoked installation stays cut off: the app wipes itself and comes back with a new id.
        raise Unauthorized("error.device_revoked", extra=WIPE)
    device.platform = payload.platform
    device.name = payload.name or device.name
    device.app_version = payload.app_version or device.app_version
    device.last_seen_at = now
    if payload.push_token:
        await register_push_token(session, device, payload.push_token)
    await session.flush()
    return device


async def _read_only(session: AsyncSession) -> None:
    """Begin the first look as a read-only transaction (see domain/db.py), unless the caller (a CLI
    command, a test) already opened one."""
    if not session.in_transaction():
        await session.connection(execution_options=READ_ONLY)


async def login(
    session: AsyncSession, settings: Settings, payload: LoginIn, client_address: str | None
) -> TokenOut:
    """Sign in on a phone: check the password (`check_credentials`), then register the device and
    issue its tokens."""
    user = await check_credentials(session, settings, payload.login, payload.password, client_address)
    device = await _register_device(session, user, payload.device)
    audit.record(
        session, None, "sign_in", "user", user.id, org_id=user.org_id, actor_id=user.id, device_id=device.id
    )
    return await _issue(session, settings, user, device, family=new_refresh_token()[:32], started=utcnow())


async def check_credentials(
    session: AsyncSession, settings: Settings, login: str, password: str, client_address: str | None
) -> User:
    """The one password check, for the phones' sign-in and the console's: the same throttle and
    the same answers. Three short transactions: read (throttle and account), then Argon2 with none
    open (on SQLite a transaction holds the write lock), then write. A deactivated account, an
    unknown login and a wrong password all answer the same and count the same."""
    login_name = login.strip()
    keys = throttle.keys_for(login_name, client_address)
    await _read_only(session)
    assessment = await throttle.assess(session, settings, keys)
    user = await session.scalar(select(User).where(User.login == login_name))
    password_hash = user.password_hash if user is not None and user.active else None
    await session.commit()
    await throttle.take_turn(session, assessment)
    if assessment.hold:
        await throttle.pause(assessment.hold)
    # Argon2 is deliberately slow: off the event loop, and outside any transaction.
    valid = await asyncio.to_thread(verify_secret, password_hash, password)
    if valid and user is not None:
        # The password or the account may have changed while Argon2 ran (a reset, a deactivation).
        user = await session.scalar(
            select(User).where(User.id == user.id).execution_options(populate_existing=True)
        )
        valid = user is not None and user.active and user.password_hash == password_hash
    if not valid or user is None:
        await throttle.record_failure(session, settings, keys)
        await session.commit()  # the failure counts even though the answer is an error
        await throttle.purge_expired(session, settings)
        await session.commit()
        raise Unauthorized("error.login_failed")
    await throttle.clear(session, keys)
    return user


async def refresh(session: AsyncSession, settings: Settings, token: str) -> TokenOut:
    """Rotate a refresh token. Its successor is derived from it (`successor_token`), so a retried or
    duplicated refresh — the answer lost on a bad network — is answered with the same successor while
    that is unused, within `refresh_retry_seconds`: one chain only, and whoever rotates the successor
    second is caught as reuse. Any other use of a used token ends the device's session."""
    row = await _locked(session, hash_refresh_token(token))
    if row is None:
        raise Unauthorized("error.token_invalid")
    device = await session.get(Device, row.device_id)
    if device is None or device.revoked_at is not None:
        raise Unauthorized("error.device_revoked", extra=WIPE)  # before anything else: the phone must wipe
    if row.revoked_at is not None:
        # Ended with its session (sign-out, password reset, an earlier reuse): that family is dead
        # already, and the device may have signed in again since — a late copy must not end that.
        raise Unauthorized("error.token_invalid")
    now = utcnow()
    successor = successor_token(settings.secret_key, token)
    retried: RefreshToken | None = None
    if row.used_at is not None:
        retried = await _unused_successor(session, settings, row, successor, now)
        if retried is None:
            # Reuse of a rotated token: somebody else may hold the chain. End the device's session.
            await end_device_session(session, row.device_id)
            await session.commit()
            raise Unauthorized("error.refresh_reused")
    started = row.session_started_at or row.issued_at
    if row.expires_at <= now or started + timedelta(days=settings.session_max_days) <= now:
        raise Unauthorized("error.token_invalid")
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized("error.user_inactive")
    device.last_seen_at = now
    if retried is not None:
        audit.record(
            session, None, "refresh_retry", "device", device.id, org_id=user.org_id, actor_id=user.id
        )
        return await _answer(session, settings, user, device, successor)
    row.used_at = now
    return await _issue(
        session, settings, user, device, family=row.family_id, started=started, refresh=successor
    )


async def _locked(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    if session.get_bind().dialect.name == "postgresql":
        # Two refreshes of one token queue here and are decided one after the other.
        # SQLite serialises writers already (BEGIN IMMEDIATE).
        query = query.with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def _unused_successor(
    session: AsyncSession, settings: Settings, row: RefreshToken, successor: str, now: datetime
) -> RefreshToken | None:
    """The token `row` rotated into, if the phone can still be given it again: soon after the
    rotation and before anyone used it (then a used token presented again is a retry, not theft)."""
    assert row.used_at is not None
    if now - row.used_at > timedelta(seconds=settings.refresh_retry_seconds):
        return None
    following = await _locked(session, hash_refresh_token(successor))
    if following is None or following.used_at is not None or following.revoked_at is not None:
        return None
    return following


async def logout(session: AsyncSession, principal: Principal) -> None:
    """Tokens stop working and the phone receives no more pushes until somebody signs in again."""
    await end_device_session(session, principal.device_id)
    audit.record(session, principal, "sign_out", "user", principal.user_id)


async def activate(
    session: AsyncSession,
    settings: Settings,
    login_name: str,
    code: str,
    password: str,
    client_address: str | None = None,
) -> None:
    """Set a password with a one-time code. The same Argon2 work is done whether or not the login
    holds a pending code, so timing does not tell; the code never changes `active` (a deactivated
    person cannot turn themselves back on), and every earlier session of the person ends."""
    login_name = login_name.strip()
    check_password_policy(password, login_name)
    keys = throttle.keys_for(f"{throttle.ACTIVATION_PREFIX}{login_name}", client_address)
    await _read_only(session)
    assessment = await throttle.assess(session, settings, keys)
    user = await session.scalar(select(User).where(User.login == login_name))
    now = utcnow()
    code_hash = (
        user.activation_code_hash
        if user is not None
        and user.active
        and user.activation_expires_at is not None
        and user.activation_expires_at > now
        else None
    )
    await session.commit()
    await throttle.take_turn(session, assessment)
    if assessment.hold:
        await throttle.pause(assessment.hold)
    ok = await asyncio.to_thread(verify_secret, code_hash, normalise_code(code))
    new_hash = await asyncio.to_thread(hash_secret, password)  # on failure too: same work either way
    if ok and user is not None:
        # Lock the row and check the code is still the one verified (not used or replaced meanwhile).
        query = select(User).where(User.id == user.id).execution_options(populate_existing=True)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        user = await session.scalar(query)
        ok = (
            user is not None
            and user.active
            and code_hash is not None
            and user.activation_code_hash == code_hash
        )
    if not ok or user is None:
        await throttle.record_failure(session, settings, keys)
        await session.commit()
        await throttle.purge_expired(session, settings)
        await session.commit()
        raise InvalidInput("error.activation_failed")
    user.password_hash = new_hash
    user.activation_code_hash = None
    user.activation_expires_at = None
    await throttle.clear(session, keys)
    await end_user_sessions(session, user.id)
    audit.record(session, None, "activate", "user", user.id, org_id=user.org_id, actor_id=user.id)


# Built once (the device a bound parameter): every request runs it, and a reused statement keeps
# its SQLAlchemy cache key instead of building and hashing the joins again. Columns, not entities:
# loading three ORM objects (identity map, instance state) cost more than the rest of the read,
# and nothing after authentication uses them (the identity map would not keep them anyway).
_AUTHENTICATE = (
    select(
        Device.id.label("device_id"),
        Device.revoked_at,
        Device.signed_out_at,
        User.id,
        User.org_id,
        User.role,
        User.locale,
        User.active,
        Organisation.timezone,
        UserDistrict.district_id,
    )
    .join(User, User.id == Device.user_id)
    .outerjoin(Organisation, Organisation.id == User.org_id)
    .outerjoin(UserDistrict, UserDistrict.user_id == User.id)
    .where(Device.id == bindparam("device_id", type_=Device.id.type))
)


async def authenticate(session: AsyncSession, settings: Settings, authorization: str | None) -> Principal:
    """Bearer token → Principal, checking the user is active and the device neither revoked nor
    signed out. A revoked device is told to wipe its local data.

    Every request comes here, so the device, its user, the organisation and the user's districts
    are read in one statement (one row per district): revocation, sign-out and deactivation take
    effect on the very next request, at the cost of a single round trip."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized()
    claims = decode_access_token(settings.secret_key, authorization[7:].strip())
    binds = {"device_id": claims.device_id}
    asyncpg = autocommit.driver(session)
    if asyncpg is not None:  # a hot route's autocommit unit: straight to the driver (domain/autocommit.py)
        rows = await autocommit.fetch(asyncpg, _AUTHENTICATE, session.get_bind().dialect, binds)
    else:  # on the session's connection, as Core rows: no ORM result loading (see `_AUTHENTICATE`)
        rows = list((await (await session.connection()).execute(_AUTHENTICATE, binds)).all())
    if not rows:  # no such device (or, impossibly, no user behind it)
        raise Unauthorized("error.token_invalid")
    row = rows[0]
    if row.id != claims.user_id:
        raise Unauthorized("error.token_invalid")
    if row.revoked_at is not None:
        raise Unauthorized("error.device_revoked", extra=WIPE)
    if row.signed_out_at is not None and claims.issued_at_ms <= (to_millis(row.signed_out_at) or 0):
        raise Unauthorized("error.token_invalid")
    if not row.active or row.org_id != claims.org_id:
        raise Unauthorized("error.user_inactive")
    districts = sorted({r.district_id for r in rows if r.district_id is not None})
    return principal_for(row, districts, zone_or_default(row.timezone), device_id=row.device_id)
