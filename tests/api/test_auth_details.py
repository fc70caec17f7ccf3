"""What an app needs to react to authentication answers: expired vs invalid tokens, the RFC 6750
challenge on every 401, Retry-After on every 429, and a coordinator's unlock of a slowed user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from api.auth import throttle
from api.errors import exception_handlers
from domain.clock import clock, utcnow
from domain.enums import Role
from domain.errors import RateLimited
from domain.models import AuditEvent
from tests.factories import PASSWORD, login, make_org, make_user


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    holds: list[float] = []

    async def record(seconds: float) -> None:
        holds.append(seconds)

    monkeypatch.setattr(throttle, "pause", record, raising=False)
    return holds


async def _people(db) -> dict[str, str]:
    async with db() as session:
        org = await make_org(session)
        other = await make_org(session, "別の市")
        coordinator = await make_user(session, org, Role.COORDINATOR, "coord")
        volunteer = await make_user(session, org, Role.VOLUNTEER, "vol")
        await make_user(session, other, Role.COORDINATOR, "other-coord")
        return {"coord": coordinator.id, "vol": volunteer.id}


async def _sign_in(client, login_name: str, password: str = PASSWORD):
    return await client.post(
        "/api/v1/auth/login",
        json={"login": login_name, "password": password, "device": {"id": "phone-1", "platform": "android"}},
    )


async def test_an_expired_token_is_told_apart_from_a_bad_one(client, db) -> None:
    await _people(db)
    headers = await login(client, "vol")
    clock.set(utcnow() + timedelta(minutes=16))
    expired = await client.get("/api/v1/me", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["code"] == "error.token_expired"
    assert expired.json()["title"] == "認証の有効期限が切れました。更新してください。"
    challenge = expired.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge and "expired" in challenge

    garbage = await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401
    assert garbage.json()["code"] == "error.token_invalid"
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]
    assert "expired" not in garbage.headers["www-authenticate"]


async def test_every_401_carries_a_bearer_challenge(client, db) -> None:
    await _people(db)
    none = await client.get("/api/v1/me")
    assert none.status_code == 401
    # No credentials at all: a bare challenge, no error code (RFC 6750 §3.1).
    assert none.headers["www-authenticate"] == 'Bearer realm="mimamori"'
    wrong = await _sign_in(client, "vol", "wrong-password-1")
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer ")
    bad_refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 40})
    assert bad_refresh.status_code == 401
    assert 'error="invalid_token"' in bad_refresh.headers["www-authenticate"]


async def test_every_429_says_when_to_retry() -> None:
    @get("/busy")
    async def busy() -> None:
        raise RateLimited()  # a cause that names no wait of its own

    app = Litestar([busy], exception_handlers=exception_handlers)
    async with AsyncTestClient(app) as client:
        response = await client.get("/busy")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    assert response.json()["retry_after"] == 60


async def test_a_coordinator_unlocks_a_slowed_user_at_once(client, db, held) -> None:
    people = await _people(db)
    for _ in range(6):
        await _sign_in(client, "vol", "wrong-guess-123")
    refused = await _sign_in(client, "vol")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1

    coordinator = await login(client, "coord", device_id="office")
    response = await client.post(f"/api/v1/users/{people['vol']}/unlock", headers=coordinator)
    assert response.status_code == 200, response.text
    assert response.json()["counters_cleared"] >= 2

    held.clear()
    signed_in = await _sign_in(client, "vol")  # the right password, no wait
    assert signed_in.status_code == 200
    assert held == []
    async with db() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "unlock"))).all()
    assert [(e.entity, e.entity_id, e.actor_id) for e in events] == [("user", people["vol"], people["coord"])]


async def test_only_a_coordinator_of_the_same_organisation_unlocks(client, db) -> None:
    people = await _people(db)
    other = await login(client, "other-coord", device_id="elsewhere")
    response = await client.post(f"/api/v1/users/{people['vol']}/unlock", headers=other)
    assert response.status_code == 404
    volunteer = await login(client, "vol")
    response = await client.post(f"/api/v1/users/{people['coord']}/unlock", headers=volunteer)
    assert response.status_code == 403
