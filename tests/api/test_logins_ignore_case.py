"""A login that differs from a taken one only in case cannot be used for a second account: the
sign-in throttle and the reserved names already treat logins case-insensitively."""

from __future__ import annotations

import pytest

from domain.enums import Role
from tests.factories import login, make_org, make_user


@pytest.mark.parametrize("taken", ["Coord", "COORD", "Elsewhere"])
async def test_a_login_differing_only_in_case_is_refused(client, db, taken) -> None:
    async with db() as s:
        org = await make_org(s)
        await make_user(s, org, Role.COORDINATOR, "coord")
        other = await make_org(s, "別の市")
        await make_user(s, other, Role.VOLUNTEER, "elsewhere")
    coord = await login(client, "coord")
    created = await client.post(
        "/api/v1/users",
        json={"login": taken, "display_name": "別人 太郎", "role": "volunteer"},
        headers=coord,
    )
    assert created.status_code == 409, created.text
    body = created.json()
    # The same neutral answer as for a taken or reserved login: nothing about who holds it.
    assert body["code"] == "error.login_unavailable"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("login", "error.login_unavailable")]
    listed = (await client.get("/api/v1/users", params={"q": "別人"}, headers=coord)).json()
    assert listed["total"] == 0
