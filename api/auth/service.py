"""Sign-in, token rotation, sign-out, activation, and turning a bearer token into a Principal."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import throttle
from api.auth.passwords import hash_secret, normalise_code, verify_secret
from api.auth.schemas import DeviceIn, LoginIn, TokenOut, UserOut
from api.auth.tokens import (
    decode_access_token,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
    refresh_expiry,
)
from domain.access import Principal, principal_for
from domain.clock import to_millis, utcnow
from domain.errors import InvalidInput, Unauthorized
from domain.i18n import register
from domain.models import Device, RefreshToken, User, UserDistrict
from domain.settings import Settings
from notifications.devices import register_push_token

register(
    {
        "error.login_failed": {
            "ja": "ログインIDまたはパスワードが正しくありません。",
            "en": "The login or password is not correct.",
        },
        "error.login_rate_limited": {
            "ja": "ログインの失敗が続いたため一時的に制限しています。約{minutes}分後に再度お試しください。",
            "en": "Too many failed sign-ins. Please try again in about {minutes} minutes.",
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
    session: AsyncSession, settings: Settings, user: User, device: Device, family: str
) -> TokenOut:
    access, expires_in = issue_access_token(
        settings.secret_key,
        user_id=user.id,
        org_id=user.org_id,
        role=user.role,
        device_id=device.id,
        minutes=settings.access_token_minutes,
    )
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            org_id=user.org_id,
            device_id=device.id,
            user_id=user.id,
            family_id=family,
            token_hash=hash_refresh_token(refresh),
            issued_at=utcnow(),
            expires_at=refresh_expiry(settings.refresh_token_days),
        )
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


async def login(
    session: AsyncSession, settings: Settings, payload: LoginIn, client_address: str | None
) -> TokenOut:
    keys = throttle.keys_for(payload.login, client_address)
    window = timedelta(minutes=settings.login_failure_window_minutes)
    await throttle.check(session, keys, max_failures=settings.login_max_failures, window=window)
    user = await session.scalar(select(User).where(User.login == payload.login.strip()))
    # Argon2 is deliberately slow: keep it off the event loop.
    valid = await asyncio.to_thread(verify_secret, user.password_hash if user else None, payload.password)
    if user is None or not valid:
        await throttle.record_failure(session, keys, window=window)
        await session.commit()  # the failure counts even though the answer is an error
        raise Unauthorized("error.login_failed")
    if not user.active:
        raise Unauthorized("error.user_inactive")
    await throttle.clear(session, keys[:1])
    device = await _register_device(session, user, payload.device)
    return await _issue(session, settings, user, device, family=new_refresh_token()[:32])


async def refresh(session: AsyncSession, settings: Settings, token: str) -> TokenOut:
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token))
    )
    if row is None:
        raise Unauthorized("error.token_invalid")
    now = utcnow()
    if row.used_at is not None or row.revoked_at is not None:
        # Reuse of a rotated token: somebody else may hold the chain. End the device's session.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.device_id == row.device_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        device = await session.get(Device, row.device_id)
        if device is not None:
            device.signed_out_at = now
        await session.commit()
        raise Unauthorized("error.refresh_reused")
    if row.expires_at <= now:
        raise Unauthorized("error.token_invalid")
    device = await session.get(Device, row.device_id)
    user = await session.get(User, row.user_id)
    if device is None or device.revoked_at is not None:
        raise Unauthorized("error.device_revoked", extra=WIPE)
    if user is None or not user.active:
        raise Unauthorized("error.user_inactive")
    row.used_at = now
    device.last_seen_at = now
    return await _issue(session, settings, user, device, family=row.family_id)


async def logout(session: AsyncSession, principal: Principal) -> None:
    now = utcnow()
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.device_id == principal.device_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    device = await session.get(Device, principal.device_id)
    if device is not None:
        device.signed_out_at = now


async def activate(
    session: AsyncSession, settings: Settings, login_name: str, code: str, password: str
) -> None:
    keys = throttle.keys_for(f"activate:{login_name}", None)
    window = timedelta(minutes=settings.login_failure_window_minutes)
    await throttle.check(session, keys, max_failures=settings.login_max_failures, window=window)
    user = await session.scalar(select(User).where(User.login == login_name.strip()))
    ok = (
        user is not None
        and user.activation_code_hash is not None
        and user.activation_expires_at is not None
        and user.activation_expires_at > utcnow()
    )
    ok = ok and await asyncio.to_thread(verify_secret, user.activation_code_hash, normalise_code(code))  # type: ignore[union-attr]
    if not ok or user is None:
        await throttle.record_failure(session, keys, window=window)
        await session.commit()
        raise InvalidInput("error.activation_failed")
    user.password_hash = await asyncio.to_thread(hash_secret, password)
    user.activation_code_hash = None
    user.activation_expires_at = None
    user.active = True


async def authenticate(session: AsyncSession, settings: Settings, authorization: str | None) -> Principal:
    """Bearer token → Principal, checking the user is active and the device neither revoked nor
    signed out. A revoked device is told to wipe its local data."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized()
    claims = decode_access_token(settings.secret_key, authorization[7:].strip())
    device = await session.get(Device, claims.device_id)
    if device is None or device.user_id != claims.user_id:
        raise Unauthorized("error.token_invalid")
    if device.revoked_at is not None:
        raise Unauthorized("error.device_revoked", extra=WIPE)
    if device.signed_out_at is not None and claims.issued_at_ms <= (to_millis(device.signed_out_at) or 0):
        raise Unauthorized("error.token_invalid")
    user = await session.get(User, claims.user_id)
    if user is None or not user.active or user.org_id != claims.org_id:
        raise Unauthorized("error.user_inactive")
    return principal_for(user, await user_districts(session, user.id), device.id)
