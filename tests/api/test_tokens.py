"""Token lifecycle: expiry, rotation, reuse detection, sign-out, device revocation, rate limits,
activation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.auth.passwords import hash_secret
from domain.clock import clock, utcnow
from domain.enums import Role
from domain.models import Device, User
from tests.factories import PASSWORD, make_org, make_user


async def _setup(db, login_name: str = "kanda") -> None:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COMMISSIONER, login_name)


async def _login(client, login_name: str = "kanda", password: str = PASSWORD, device: str = "phone-1"):
    return await client.post(
        "/api/v1/auth/login",
        json={"login": login_name, "password": password, "device": {"id": device, "platform": "android"}},
    )


def _bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_login_returns_the_documented_shape(client, db) -> None:
    await _setup(db)
    response = await _login(client)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"]["login"] == "kanda" and body["user"]["role"] == "commissioner"
    assert body["access_token"] and body["refresh_token"]


async def test_wrong_password_is_401_in_japanese_by_default(client, db) -> None:
    await _setup(db)
    response = await _login(client, password="wrong-password")
    assert response.status_code == 401
    assert response.json()["title"] == "ログインIDまたはパスワードが正しくありません。"
    unknown = await _login(client, login_name="nobody")
    assert unknown.status_code == 401
    assert unknown.json()["code"] == response.json()["code"]  # unknown accounts look the same


async def test_access_token_expires(client, db) -> None:
    await _setup(db)
    tokens = (await _login(client)).json()
    assert (await client.get("/api/v1/me", headers=_bearer(tokens))).status_code == 200
    clock.set(utcnow() + timedelta(minutes=16))
    expired = await client.get("/api/v1/me", headers=_bearer(tokens))
    assert expired.status_code == 401
    assert expired.json()["code"] == "error.token_expired"


async def test_refresh_rotates_and_reuse_ends_the_session(client, db) -> None:
    await _setup(db)
    first = (await _login(client)).json()
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/me", headers=_bearer(second))).status_code == 200

    clock.advance(timedelta(seconds=61))
    # The old refresh token again, after the retry allowance (60 s): somebody replayed it. The whole
    # device session ends.
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "error.refresh_reused"
    newest = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert newest.status_code == 401
    assert (await client.get("/api/v1/me", headers=_bearer(second))).status_code == 401
    # Signing in again works.
    assert (await _login(client)).status_code == 200


async def test_a_refresh_sent_twice_keeps_the_phone_signed_in(client, db) -> None:
    """The network duplicates the request, or the answer is lost and the phone retries: the same
    refresh token arrives twice within a minute. The retry gets the same new refresh token (one chain),
    and the phone goes on with whichever answer reached it."""
    await _setup(db)
    first = (await _login(client)).json()
    refresh = {"refresh_token": first["refresh_token"]}
    lost = await client.post("/api/v1/auth/refresh", json=refresh)
    clock.advance(timedelta(seconds=20))
    retried = await client.post("/api/v1/auth/refresh", json=refresh)
    assert (lost.status_code, retried.status_code) == (200, 200), retried.text
    assert retried.json()["refresh_token"] == lost.json()["refresh_token"]
    assert (await client.get("/api/v1/me", headers=_bearer(retried.json()))).status_code == 200
    onward = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": retried.json()["refresh_token"]}
    )
    assert onward.status_code == 200
    assert (await client.get("/api/v1/me", headers=_bearer(onward.json()))).status_code == 200


async def test_a_thief_replaying_within_the_minute_is_caught_at_the_next_refresh(client, db) -> None:
    """A copy of a just-used refresh token gets the successor the phone already holds, no chain of
    its own: whichever of the two rotates it second ends the session, the thief's access included."""
    await _setup(db)
    first = (await _login(client)).json()
    phone = (await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    clock.advance(timedelta(seconds=30))
    thief = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert thief.status_code == 200 and thief.json()["refresh_token"] == phone["refresh_token"]
    clock.advance(timedelta(minutes=5))
    onward = await client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert onward.status_code == 200
    clock.advance(timedelta(minutes=2))  # the thief's next refresh: not within the phone's minute
    stolen = await client.post("/api/v1/auth/refresh", json={"refresh_token": thief.json()["refresh_token"]})
    assert stolen.status_code == 401 and stolen.json()["code"] == "error.refresh_reused"
    for tokens in (thief.json(), onward.json()):
        assert (await client.get("/api/v1/me", headers=_bearer(tokens))).status_code == 401


async def test_a_late_copy_from_an_ended_session_leaves_the_new_one_alone(client, db) -> None:
    await _setup(db)
    first = (await _login(client)).json()
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).status_code == 200
    clock.advance(timedelta(seconds=5))
    assert (await client.post("/api/v1/auth/logout", headers=_bearer(first))).status_code in (200, 204)
    clock.advance(timedelta(seconds=1))
    again = (await _login(client)).json()  # the same phone signs in again
    clock.advance(timedelta(seconds=5))
    late = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert late.status_code == 401 and late.json()["code"] == "error.token_invalid"
    assert (await client.get("/api/v1/me", headers=_bearer(again))).status_code == 200


async def test_a_refresh_repeated_after_the_chain_moved_on_is_reuse(client, db) -> None:
    await _setup(db)
    first = (await _login(client)).json()
    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    clock.advance(timedelta(seconds=5))
    third = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    clock.advance(timedelta(seconds=5))
    # within the minute, but the phone already used what the first refresh gave: not a retry
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "error.refresh_reused"
    assert (await client.get("/api/v1/me", headers=_bearer(third.json()))).status_code == 401


async def test_refresh_token_expires(client, db) -> None:
    await _setup(db)
    tokens = (await _login(client)).json()
    clock.set(utcnow() + timedelta(days=31))
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401


async def test_logout_stops_access_and_refresh(client, db) -> None:
    await _setup(db)
    tokens = (await _login(client)).json()
    assert (await client.post("/api/v1/auth/logout", headers=_bearer(tokens))).status_code == 204
    assert (await client.get("/api/v1/me", headers=_bearer(tokens))).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


async def test_revoked_device_is_told_to_wipe(client, db) -> None:
    await _setup(db)
    tokens = (await _login(client)).json()
    other_phone = (await _login(client, device="phone-2")).json()
    async with db() as session:
        device = await session.scalar(select(Device).where(Device.client_id == "phone-1"))
        device.revoked_at = utcnow()

    response = await client.get("/api/v1/me", headers=_bearer(tokens))
    assert response.status_code == 401
    assert response.json()["wipe"] is True
    assert response.json()["code"] == "error.device_revoked"
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401 and refresh.json()["wipe"] is True
    # The same installation cannot sign in again; the user's other phone is untouched.
    again = await _login(client, device="phone-1")
    assert again.status_code == 401 and again.json()["wipe"] is True
    assert (await client.get("/api/v1/me", headers=_bearer(other_phone))).status_code == 200


async def test_failures_from_one_client_make_it_wait_longer_each_time(client, db) -> None:
    await _setup(db)
    for _ in range(5):
        assert (await _login(client, password="wrong-password")).status_code == 401
    waits = []
    for _ in range(6):
        early = await _login(client)  # too early, even with the right password: this client waits
        assert early.status_code == 429
        assert "秒後" in early.json()["title"]
        waits.append(early.json()["retry_after"])
        clock.advance(timedelta(seconds=early.json()["retry_after"]))
        assert (await _login(client, password="wrong-password")).status_code == 401
    assert waits == [1, 2, 4, 8, 16, 30]  # doubling, capped (MIMAMORI_LOGIN_MAX_DELAY_SECONDS)
    clock.advance(timedelta(seconds=30))
    assert (await _login(client)).status_code == 200  # never locked out


async def test_successful_login_clears_the_account_counter(client, db) -> None:
    await _setup(db)
    for _ in range(4):
        await _login(client, password="wrong-password")
    assert (await _login(client)).status_code == 200
    for _ in range(4):
        assert (await _login(client, password="wrong-password")).status_code == 401
    assert (await _login(client)).status_code == 200


async def test_activation_code_sets_the_password_once(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        user = await make_user(session, org, Role.VOLUNTEER, "new-volunteer", password_hash=None)
        user.activation_code_hash = hash_secret("ABCD-EFGH")
        user.activation_expires_at = utcnow() + timedelta(hours=72)
    assert (await _login(client, login_name="new-volunteer", password="anything")).status_code == 401

    wrong = await client.post(
        "/api/v1/auth/activate",
        json={"login": "new-volunteer", "code": "ABCD-XXXX", "password": "a-new-password"},
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "error.activation_failed"
    ok = await client.post(
        "/api/v1/auth/activate",
        json={"login": "new-volunteer", "code": "abcd efgh", "password": "a-new-password"},
    )
    assert ok.status_code == 204
    assert (await _login(client, login_name="new-volunteer", password="a-new-password")).status_code == 200
    reused = await client.post(
        "/api/v1/auth/activate",
        json={"login": "new-volunteer", "code": "ABCD-EFGH", "password": "other-password"},
    )
    assert reused.status_code == 400


async def test_activation_code_expires(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        user = await make_user(session, org, Role.VOLUNTEER, "late", password_hash=None)
        user.activation_code_hash = hash_secret("ABCD-EFGH")
        user.activation_expires_at = utcnow() + timedelta(hours=72)
    clock.set(utcnow() + timedelta(hours=73))
    response = await client.post(
        "/api/v1/auth/activate", json={"login": "late", "code": "ABCD-EFGH", "password": "a-new-password"}
    )
    assert response.status_code == 400


async def test_inactive_user_cannot_sign_in_or_use_tokens(client, db) -> None:
    await _setup(db)
    tokens = (await _login(client)).json()
    async with db() as session:
        user = await session.scalar(select(User).where(User.login == "kanda"))
        user.active = False
    assert (await client.get("/api/v1/me", headers=_bearer(tokens))).status_code == 401
    assert (await _login(client)).status_code == 401
