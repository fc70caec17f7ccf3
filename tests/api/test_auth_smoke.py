from __future__ import annotations

from domain.enums import Role
from tests.factories import login, make_org, make_user


async def test_login_and_me(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COORDINATOR, "coord")
    headers = await login(client, "coord")
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "coordinator"


async def test_me_without_token_is_401_problem(client) -> None:
    response = await client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "You need to sign in."
