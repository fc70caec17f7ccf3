"""The two hot reads (a no-op sync pull, the resident list page) authenticate on every request,
also where PostgreSQL's autocommit unit sends authentication straight to asyncpg
(domain/autocommit.py): a device revoked, a session signed out, a person deactivated or moved to
another organisation is refused on the very next request, after requests that succeeded with the
same token (nothing of the earlier answers is kept)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from domain.clock import clock
from domain.models import Device as DeviceRow
from domain.models import User
from tests.factories import make_org
from tests.sync.conftest import Town, phone
from tests.sync.device import Device


async def _revoke(client: Any, db: Any, town: Town, device: Device) -> None:
    async with db() as s:
        row = await s.scalar(select(DeviceRow).where(DeviceRow.user_id == town.volunteer.id))
        row.revoked_at = clock.now()


async def _sign_out(client: Any, db: Any, town: Town, device: Device) -> None:
    assert (await client.post("/api/v1/auth/logout", headers=device.headers)).status_code == 204


async def _deactivate(client: Any, db: Any, town: Town, device: Device) -> None:
    async with db() as s:
        (await s.get(User, town.volunteer.id)).active = False


async def _move_away(client: Any, db: Any, town: Town, device: Device) -> None:
    async with db() as s:
        other = await make_org(s, name="別の町")
        (await s.get(User, town.volunteer.id)).org_id = other.id


CHANGES: dict[str, tuple[Callable[..., Awaitable[None]], str]] = {
    "revoked": (_revoke, "error.device_revoked"),
    "signed_out": (_sign_out, "error.token_invalid"),
    "deactivated": (_deactivate, "error.user_inactive"),
    "moved_organisation": (_move_away, "error.user_inactive"),
}


@pytest.mark.parametrize("route", ["pull", "list"])
@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_hot_reads_refuse_at_once(client, db, town: Town, route: str, change: str) -> None:
    device = await phone(client, "vol")
    await device.pull()
    url = (
        f"/api/v1/sync/pull?last_pulled_at={device.last_pulled_at}"
        if route == "pull"
        else "/api/v1/residents"
    )
    for _ in range(3):  # the same token, served: statement caches warm
        ok = await client.get(url, headers=device.headers)
        assert ok.status_code == 200, ok.text
    if route == "pull":  # the no-op pull's answer: nothing
        assert not any(c["updated"] or c["deleted"] for c in ok.json()["changes"].values())
    else:
        assert [r["id"] for r in ok.json()["items"]] == [town.shared.id]
    make, code = CHANGES[change]
    await make(client, db, town, device)
    refused = await client.get(url, headers=device.headers)
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == code
    assert refused.json().get("wipe", False) is (change == "revoked")
