"""A deactivated person gets no activation code: activation would refuse them anyway, so the
coordinator is told to reactivate them first, and after reactivation a code works again."""

from __future__ import annotations

from domain.enums import Role
from tests.factories import login, make_org, make_user


async def test_no_activation_code_until_the_user_is_reactivated(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        await make_user(s, org, Role.COORDINATOR, "coord")
        leaving_id = (await make_user(s, org, Role.COMMISSIONER, "comm")).id
    coord = await login(client, "coord")
    off = await client.patch(f"/api/v1/users/{leaving_id}", json={"active": False}, headers=coord)
    assert off.status_code == 200, off.text

    refused = await client.post(f"/api/v1/users/{leaving_id}/activation-code", headers=coord)
    assert refused.status_code == 409, refused.text
    assert "activation_code" not in refused.json()
    assert refused.json()["title"] == "無効になっている利用者です。先に有効にしてください。"
    english = await client.post(
        f"/api/v1/users/{leaving_id}/activation-code", headers={**coord, "Accept-Language": "en"}
    )
    assert english.json()["title"] == "This user is deactivated. Reactivate them first."
    listed = (await client.get(f"/api/v1/users/{leaving_id}", headers=coord)).json()
    assert listed["active"] is False and listed["activation_expires_at"] is None

    on = await client.patch(f"/api/v1/users/{leaving_id}", json={"active": True}, headers=coord)
    assert on.status_code == 200, on.text
    issued = await client.post(f"/api/v1/users/{leaving_id}/activation-code", headers=coord)
    assert issued.status_code == 201, issued.text
    used = await client.post(
        "/api/v1/auth/activate",
        json={"login": "comm", "code": issued.json()["activation_code"], "password": "yama-kawa-2026"},
    )
    assert used.status_code == 204, used.text
