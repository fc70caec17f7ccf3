"""Issue 15 (hardening review), findings 3, 4, 7, 9, 10, 11, 12, 13: what a lost phone, a departed
volunteer, a curious account or the internet can no longer do. Each test reproduces the finding."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import sqlite3
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from litestar import Request
from litestar.testing import AsyncTestClient
from pydantic import ValidationError
from sqlalchemy import make_url, select, text

from api.auth import passwords, service, throttle
from api.auth.passwords import hash_secret
from api.auth.schemas import DeviceIn, LoginIn
from domain.clock import clock, utcnow
from domain.db import create_db_config, session_scope
from domain.enums import Role
from domain.errors import RateLimited, Unauthorized
from domain.models import Device, LoginThrottle, User
from domain.settings import Settings, get_settings
from tests.factories import PASSWORD, login, make_org, make_user

NEW_PASSWORD = "shiroi-neko-to-kuroi-inu"


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the server's sign-in holds instead of sleeping through them."""
    holds: list[float] = []

    async def record(seconds: float) -> None:
        holds.append(seconds)

    monkeypatch.setattr(throttle, "pause", record, raising=False)
    return holds


async def _people(db) -> dict[str, str]:
    async with db() as session:
        org = await make_org(session)
        coordinator = await make_user(session, org, Role.COORDINATOR, "coord")
        volunteer = await make_user(session, org, Role.VOLUNTEER, "vol")
        return {"org": org.id, "coord": coordinator.id, "vol": volunteer.id}


async def _sign_in(client, login_name: str, password: str = PASSWORD, device: str = "phone-1", **extra):
    return await client.post(
        "/api/v1/auth/login",
        json={
            "login": login_name,
            "password": password,
            "device": {"id": device, "platform": "android", **extra},
        },
    )


async def _activate(client, login_name: str, code: str, password: str = NEW_PASSWORD):
    return await client.post(
        "/api/v1/auth/activate", json={"login": login_name, "code": code, "password": password}
    )


def _bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


# --- finding 3: a deactivated user reactivates themselves -------------------------------------------


async def test_a_deactivated_user_cannot_come_back_with_the_code_they_still_hold(client, db) -> None:
    await _people(db)
    coordinator = await login(client, "coord")
    created = await client.post(
        "/api/v1/users",
        json={"login": "new-vol", "display_name": "新人", "role": "volunteer"},
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    user_id, code = created.json()["id"], created.json()["activation_code"]
    off = await client.patch(f"/api/v1/users/{user_id}", json={"active": False}, headers=coordinator)
    assert off.status_code == 200

    again = await _activate(client, "new-vol", code)
    assert again.status_code == 400 and again.json()["code"] == "error.activation_failed"
    assert (await _sign_in(client, "new-vol", NEW_PASSWORD)).status_code == 401
    shown = await client.get(f"/api/v1/users/{user_id}", headers=coordinator)
    assert shown.json()["active"] is False


async def test_activation_never_turns_an_account_on(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        user = await make_user(session, org, Role.VOLUNTEER, "gone", active=False)
        user.activation_code_hash = hash_secret("ABCD-EFGH")
        user.activation_expires_at = utcnow() + timedelta(hours=72)
    assert (await _activate(client, "gone", "ABCD-EFGH")).status_code == 400
    async with db() as session:
        assert (await session.scalar(select(User).where(User.login == "gone"))).active is False
    assert (await _sign_in(client, "gone", NEW_PASSWORD)).status_code == 401


async def test_deactivation_ends_tokens_refresh_and_pushes(client, db) -> None:
    people = await _people(db)
    coordinator = await login(client, "coord")
    tokens = (await _sign_in(client, "vol", push_token="token-vol")).json()
    off = await client.patch(f"/api/v1/users/{people['vol']}", json={"active": False}, headers=coordinator)
    assert off.status_code == 200
    assert (await client.get("/api/v1/me", headers=_bearer(tokens))).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    async with db() as session:
        device = await session.scalar(select(Device).where(Device.user_id == people["vol"]))
        assert device.push_token is None


# --- finding 4: a password reset ends no session ------------------------------------------------------


async def test_a_password_reset_ends_the_old_password_and_every_session(client, db) -> None:
    people = await _people(db)
    coordinator = await login(client, "coord")
    phone = (await _sign_in(client, "vol", device="phone-1")).json()
    tablet = (await _sign_in(client, "vol", device="tablet-1")).json()
    clock.advance(timedelta(seconds=1))

    reset = await client.post(f"/api/v1/users/{people['vol']}/activation-code", headers=coordinator)
    assert reset.status_code == 201
    assert (await _sign_in(client, "vol")).status_code == 401  # the old password is gone at once
    for tokens in (phone, tablet):
        assert (await client.get("/api/v1/me", headers=_bearer(tokens))).status_code == 401
        refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 401

    clock.advance(timedelta(seconds=1))
    assert (await _activate(client, "vol", reset.json()["activation_code"])).status_code == 204
    assert (await _sign_in(client, "vol", NEW_PASSWORD)).status_code == 200
    assert (await _sign_in(client, "vol", PASSWORD, device="phone-2")).status_code == 401


async def test_a_refresh_chain_ends_at_the_absolute_session_lifetime(client, db) -> None:
    await _people(db)
    tokens = (await _sign_in(client, "vol")).json()
    for _ in range(3):  # rotating every 25 days keeps the session alive…
        clock.advance(timedelta(days=25))
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert response.status_code == 200
        tokens = response.json()
    clock.advance(timedelta(days=16))  # …but not past 90 days after the sign-in
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401
    assert (await _sign_in(client, "vol")).status_code == 200


# --- finding 7: throttling without lock-out, proxy trust, Argon2 outside transactions, races -----


async def _service_login(settings, login_name: str, password: str, address: str):
    config = create_db_config(settings)
    try:
        async with session_scope(config) as session:
            payload = LoginIn(
                login=login_name, password=password, device=DeviceIn(id=f"d-{address}", platform="web")
            )
            return await service.login(session, settings, payload, address)
    finally:
        await config.get_engine().dispose()


async def test_the_real_user_signs_in_while_somebody_guesses_from_elsewhere(db, settings, held) -> None:
    await _people(db)
    refused = 0
    for _ in range(12):
        try:
            await _service_login(settings, "vol", "wrong-guess-123", "203.0.113.9")
        except RateLimited as exc:
            refused += 1
            clock.advance(timedelta(seconds=exc.extra["retry_after"]))
        except Unauthorized:
            pass
    assert refused > 0  # the guesser waits longer and longer
    clock.advance(timedelta(seconds=60))
    with pytest.raises(Unauthorized):
        await _service_login(settings, "vol", "wrong-guess-123", "203.0.113.9")
    tokens = await _service_login(settings, "vol", PASSWORD, "198.51.100.7")  # right after a guess
    assert tokens.access_token
    assert held and 0 < held[-1] <= settings.login_max_delay_seconds  # slowed, never refused


async def test_a_town_hall_behind_one_address_is_slowed_not_blocked(client, db, held) -> None:
    await _people(db)
    for index in range(30):  # many people at one NAT address mistype their logins
        assert (await _sign_in(client, f"guess-{index}", "wrong-guess-123")).status_code == 401
    assert (await _sign_in(client, "vol")).status_code == 200
    assert held and max(held) <= 30


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": headers,
            "client": (peer, 1234),
            "query_string": b"",
            "app": None,
            "state": {},
        }
    )


def test_x_forwarded_for_counts_only_from_trusted_proxies(tmp_path: Path) -> None:
    from api.proxy import client_address

    nobody = Settings(environment="test", data_dir=tmp_path, secret_key="x" * 40)
    assert client_address(_request("127.0.0.1", "1.2.3.4"), nobody) == "127.0.0.1"
    proxies = Settings(
        environment="test", data_dir=tmp_path, secret_key="x" * 40, trusted_proxies="10.0.0.0/8"
    )
    assert client_address(_request("10.0.0.5", "6.6.6.6, 198.51.100.7"), proxies) == "198.51.100.7"
    assert client_address(_request("10.0.0.5", "198.51.100.7, 10.0.0.9"), proxies) == "198.51.100.7"
    assert client_address(_request("192.0.2.1", "198.51.100.7"), proxies) == "192.0.2.1"
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings(environment="test", data_dir=tmp_path, secret_key="x" * 40, trusted_proxies="not-an-address")


def test_serve_does_not_let_a_local_client_choose_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 unless told otherwise: `serve` must tell it."""
    import uvicorn

    from api.cli import main

    captured: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: captured.update(kwargs))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}")
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["serve"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    seen: dict = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"]

    config = uvicorn.Config(app, **{k: v for k, v in captured.items() if k not in ("host", "port")})
    config.load()
    scope = {"type": "http", "client": ("127.0.0.1", 5000), "headers": [(b"x-forwarded-for", b"6.6.6.6")]}
    asyncio.run(config.loaded_app(scope, None, None))
    assert seen["client"][0] == "127.0.0.1"


async def test_argon2_runs_with_no_database_transaction_open(
    client, db, settings, backend, monkeypatch
) -> None:
    await _people(db)
    url = make_url(settings.database_url)
    locked: list[str] = []

    def still_locked() -> str | None:
        if backend == "sqlite":
            other = sqlite3.connect(url.database, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                return str(exc)
            finally:
                other.close()
            return None

        async def open_transactions() -> int:
            import asyncpg

            conn = await asyncpg.connect(
                host=url.host, port=url.port, user=url.username, database=url.database
            )
            try:
                return await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            finally:
                await conn.close()

        count = asyncio.run(open_transactions())
        return f"{count} transactions open" if count else None

    real_verify = service.verify_secret

    def verify(hashed, secret):
        problem = still_locked()
        if problem:
            locked.append(problem)
        return real_verify(hashed, secret)

    monkeypatch.setattr(service, "verify_secret", verify)
    assert (await _sign_in(client, "vol")).status_code == 200
    assert (await _sign_in(client, "vol", "wrong-guess-123")).status_code == 401
    assert (await _activate(client, "vol", "WXYZ-2345")).status_code == 400
    assert locked == []


async def test_concurrent_failures_are_all_counted_without_conflicts(db, settings, held) -> None:
    await _people(db)
    results = await asyncio.gather(
        *(_service_login(settings, "vol", f"wrong-guess-{i:04d}", f"198.51.100.{i}") for i in range(12)),
        return_exceptions=True,
    )
    assert all(isinstance(result, Unauthorized) for result in results), results
    account_key = hashlib.sha256(b"account:vol").hexdigest()
    async with db() as session:
        row = await session.get(LoginThrottle, account_key)
        assert row.failures == 12


async def test_attempts_sent_at_once_by_a_slowed_client_take_one_turn(db, settings, held) -> None:
    await _people(db)
    for index in range(5):
        with pytest.raises(Unauthorized):
            await _service_login(settings, "vol", f"wrong-guess-{index:04d}", "203.0.113.9")
    clock.advance(timedelta(seconds=2))  # the 1-second wait is over: one more try is allowed
    results = await asyncio.gather(
        *(_service_login(settings, "vol", f"wrong-burst-{i:04d}", "203.0.113.9") for i in range(6)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Unauthorized) and not isinstance(r, RateLimited) for r in results) == 1, results
    assert sum(isinstance(r, RateLimited) for r in results) == 5


async def test_a_slowed_client_is_told_when_to_retry(client, db) -> None:
    await _people(db)
    for _ in range(5):
        await _sign_in(client, "vol", "wrong-guess-123")
    early = await _sign_in(client, "vol")
    assert early.status_code == 429
    assert early.headers["retry-after"] == str(early.json()["retry_after"]) == "1"


async def test_two_concurrent_refreshes_of_one_token_leave_one_chain(
    client, db, settings, monkeypatch
) -> None:
    """A duplicated refresh (two at once): both are answered with the same new refresh token (the
    second as a retry of the first's rotation: the row is locked), so only one chain lives on."""
    await _people(db)
    tokens = (await _sign_in(client, "vol")).json()
    real_user_out = service.user_out

    async def slow_user_out(session, user):  # widen the window between reading and committing
        await asyncio.sleep(0.3)
        return await real_user_out(session, user)

    monkeypatch.setattr(service, "user_out", slow_user_out)

    async def refresh():
        config = create_db_config(settings)
        try:
            async with session_scope(config) as session:
                return await service.refresh(session, settings, tokens["refresh_token"])
        finally:
            await config.get_engine().dispose()

    results = await asyncio.gather(refresh(), refresh(), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    kept, duplicate = results
    assert kept.refresh_token == duplicate.refresh_token
    onward = await client.post("/api/v1/auth/refresh", json={"refresh_token": kept.refresh_token})
    assert onward.status_code == 200


async def test_old_counters_are_forgotten_so_random_guesses_cannot_grow_the_table(
    client, db, monkeypatch
) -> None:
    monkeypatch.setattr(throttle, "PURGE_EVERY", 1)  # purge at every failure, not one in twenty
    await _people(db)
    for index in range(10):
        await _sign_in(client, f"random-{index}", "wrong-guess-123")
    async with db() as session:
        assert (
            len((await session.scalars(select(LoginThrottle))).all()) == 21
        )  # 10 × (pair, account) + address
    clock.advance(timedelta(minutes=31))  # two windows later
    await _sign_in(client, "another", "wrong-guess-123")
    async with db() as session:
        assert len((await session.scalars(select(LoginThrottle))).all()) == 3  # only the new attempt's


@pytest.fixture
def live_server(app):
    """The app behind a real uvicorn server (in a thread), so that requests really run at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.mark.postgres_only
async def test_concurrent_wrong_sign_ins_over_http_neither_collide_nor_get_lost(db, live_server) -> None:
    await _people(db)
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    "/api/v1/auth/login",
                    json={
                        "login": "vol",
                        "password": f"wrong-guess-{i:04d}",
                        "device": {"id": "p", "platform": "web"},
                    },
                )
                for i in range(16)
            )
        )
    codes = [r.status_code for r in responses]
    assert set(codes) <= {401, 429}, codes  # never 409 (primary-key collision) or 500
    async with db() as session:
        row = await session.get(LoginThrottle, hashlib.sha256(b"account:vol").hexdigest())
    assert row.failures == codes.count(401)  # every failure counted once


@pytest.mark.postgres_only
async def test_concurrent_refreshes_over_http_are_both_answered_once_each(
    db, live_server, monkeypatch
) -> None:
    await _people(db)
    real_user_out = service.user_out

    async def slow_user_out(session, user):
        await asyncio.sleep(0.3)
        return await real_user_out(session, user)

    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        signed_in = await http.post(
            "/api/v1/auth/login",
            json={"login": "vol", "password": PASSWORD, "device": {"id": "p", "platform": "web"}},
        )
        token = signed_in.json()["refresh_token"]
        monkeypatch.setattr(service, "user_out", slow_user_out)
        first, second = await asyncio.gather(
            http.post("/api/v1/auth/refresh", json={"refresh_token": token}),
            http.post("/api/v1/auth/refresh", json={"refresh_token": token}),
        )
        assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
        # one rotation and one retry of it, never two chains: both answers carry the same token
        assert first.json()["refresh_token"] == second.json()["refresh_token"]
        onward = await http.post(
            "/api/v1/auth/refresh", json={"refresh_token": first.json()["refresh_token"]}
        )
    assert onward.status_code == 200


# --- finding 9: activation timing, deactivated accounts ------------------------------------------------


class _CountingHasher:
    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0

    def hash(self, secret):
        self.calls += 1
        return self.inner.hash(secret)

    def verify(self, hashed, secret):
        self.calls += 1
        return self.inner.verify(hashed, secret)


async def test_activation_does_the_same_hash_work_whether_or_not_a_code_is_pending(
    client, db, monkeypatch
) -> None:
    async with db() as session:
        org = await make_org(session)
        pending = await make_user(session, org, Role.VOLUNTEER, "pending", password_hash=None)
        pending.activation_code_hash = hash_secret("ABCD-EFGH")
        pending.activation_expires_at = utcnow() + timedelta(hours=72)
        await make_user(session, org, Role.VOLUNTEER, "settled")
    work = {}
    for login_name in ("pending", "settled", "nobody"):
        counting = _CountingHasher(passwords._hasher)
        monkeypatch.setattr(passwords, "_hasher", counting)
        response = await _activate(client, login_name, "WXYZ-2345")
        assert response.status_code == 400 and response.json()["code"] == "error.activation_failed"
        work[login_name] = counting.calls
    assert work["pending"] == work["settled"] == work["nobody"] > 0


async def test_a_deactivated_account_with_the_right_password_looks_like_a_wrong_password(client, db) -> None:
    people = await _people(db)
    async with db() as session:
        (await session.get(User, people["vol"])).active = False
    right = await _sign_in(client, "vol", PASSWORD)
    wrong = await _sign_in(client, "coord", "wrong-guess-123")
    assert right.status_code == wrong.status_code == 401
    assert (right.json()["code"], right.json()["title"]) == (wrong.json()["code"], wrong.json()["title"])


# --- finding 10: password policy, production settings, demo data ---------------------------------


async def _pending(db, login_name: str = "new-vol") -> None:
    async with db() as session:
        org = await make_org(session)
        user = await make_user(session, org, Role.VOLUNTEER, login_name, password_hash=None)
        user.activation_code_hash = hash_secret("ABCD-EFGH")
        user.activation_expires_at = utcnow() + timedelta(hours=72)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("12345678", "field.password_too_short"),
        ("123qweasdzxc", "field.password_common"),  # 12 characters, from the shipped list
        ("QWERTY123456", "field.password_common"),  # the list ignores case
        ("aaaaaaaaaaaaaaa", "field.password_common"),
        ("new-vol-is-my-password", "field.password_is_login"),
    ],
)
async def test_weak_passwords_are_refused_naming_the_rule(client, db, password: str, rule: str) -> None:
    await _pending(db)
    response = await _activate(client, "new-vol", "ABCD-EFGH", password)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "error.password_policy"
    assert [e["code"] for e in body["errors"]] == [rule]
    english = await client.post(
        "/api/v1/auth/activate",
        json={"login": "new-vol", "code": "ABCD-EFGH", "password": password},
        headers={"Accept-Language": "en"},
    )
    assert english.json()["errors"][0]["message"] != body["errors"][0]["message"]
    if rule == "field.password_too_short":
        assert "12" in body["errors"][0]["message"] and "12" in english.json()["errors"][0]["message"]
    # Nothing was used up: the code still works with a good password.
    assert (await _activate(client, "new-vol", "ABCD-EFGH", NEW_PASSWORD)).status_code == 204


def test_the_demo_password_meets_the_policy() -> None:
    passwords.check_password_policy(
        Settings(environment="test", secret_key="x" * 40).demo_password, "demo-coordinator"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"secret_key": "secret"}, "too weak"),
        ({"secret_key": "short-key"}, "too weak"),
        ({"secret_key": "ab" * 30}, "too weak"),
        ({"secret_key": "test-secret-key-that-is-long-enough-for-hs256"}, "too weak"),
        ({"password_hash_profile": "fast"}, "fast"),
    ],
)
def test_production_refuses_weak_settings(tmp_path: Path, monkeypatch, changes: dict, message: str) -> None:
    monkeypatch.delenv("MIMAMORI_SECRET_KEY", raising=False)
    good = {"environment": "production", "data_dir": tmp_path, "secret_key": "Zq3" + os.urandom(24).hex()}
    Settings(**good)  # a real key and the standard profile start
    with pytest.raises(ValidationError, match=message):
        Settings(**{**good, **changes})


@pytest.mark.parametrize("command", [["demo"], ["serve", "--demo"]])
def test_demo_data_is_refused_in_production(tmp_path: Path, monkeypatch, command: list[str]) -> None:
    import uvicorn

    from api.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    database = tmp_path / "prod.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MIMAMORI_ENVIRONMENT", "production")
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", "Zq3" + os.urandom(24).hex())
    monkeypatch.setenv("MIMAMORI_PASSWORD_HASH_PROFILE", "standard")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, command, env={"LANG": "en_US.UTF-8"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "production" in result.output
    if database.exists() and database.stat().st_size:
        with sqlite3.connect(database) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "users" in tables:
                assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0


# --- finding 11: security headers ---------------------------------------------------------------------


async def test_token_and_personal_data_responses_are_not_stored_and_not_framed(client, db) -> None:
    await _people(db)
    signed_in = await _sign_in(client, "coord")
    me = await client.get("/api/v1/me", headers=_bearer(signed_in.json()))
    failed = await _sign_in(client, "coord", "wrong-guess-123")
    for response in (signed_in, me, failed):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers  # plain HTTP: HSTS means nothing


async def test_hsts_is_sent_over_https(app, db) -> None:
    await _people(db)
    async with AsyncTestClient(app=app, base_url="https://mimamori.example") as secure:
        response = await secure.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


# --- finding 12: data at rest ---------------------------------------------------------------------------


def test_data_dir_database_and_key_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIMAMORI_SECRET_KEY", raising=False)
    monkeypatch.setattr(Path, "chmod", lambda self, mode, **kw: None)  # a crash before any chmod
    previous = os.umask(0o022)
    try:
        data = tmp_path / "var"
        settings = Settings(environment="development", data_dir=data, database_url="", db_pool_disabled=True)
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600

        async def write() -> None:
            config = create_db_config(settings)
            try:
                async with session_scope(config) as session:
                    await session.execute(text("CREATE TABLE t (x integer)"))
                    await session.execute(text("INSERT INTO t VALUES (1)"))
            finally:
                await config.get_engine().dispose()

        asyncio.run(write())
        files = [data / "mimamori.sqlite3", data / "mimamori.sqlite3-wal", data / "mimamori.sqlite3-shm"]
        for path in files:
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert files[0].exists()
    finally:
        os.umask(previous)


# --- finding 13: logins in other organisations -----------------------------------------------------


async def test_a_coordinator_cannot_tell_that_a_login_exists_in_another_organisation(client, db) -> None:
    await _people(db)
    async with db() as session:
        other = await make_org(session, "別の市")
        await make_user(session, other, Role.VOLUNTEER, "tanaka")
    coordinator = await login(client, "coord")

    async def create(login_name: str):
        return await client.post(
            "/api/v1/users",
            json={"login": login_name, "display_name": "田中", "role": "volunteer"},
            headers=coordinator,
        )

    elsewhere, here, reserved = await create("tanaka"), await create("vol"), await create("admin")
    assert elsewhere.status_code == here.status_code == reserved.status_code == 409
    bodies = [{k: v for k, v in r.json().items() if k != "instance"} for r in (elsewhere, here, reserved)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["code"] == "error.login_unavailable"
    assert "既に使われ" not in bodies[0]["title"]  # does not claim an account exists
    assert (await create("tanaka.minato")).status_code == 201
