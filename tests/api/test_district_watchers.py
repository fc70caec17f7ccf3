"""The districts list's `watchers`: the commissioners who watch a district, as the coverage report
counts them, not every user given the district (a volunteer sees only residents assigned to them)."""

from __future__ import annotations

from domain.enums import Role
from tests.factories import login, make_district, make_org, make_user


async def test_watchers_count_the_districts_commissioners_only(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        central = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord", districts=[central])
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[central])
        await make_user(s, org, Role.COMMISSIONER, "gone", districts=[central], active=False)
        await make_user(s, org, Role.VOLUNTEER, "vol", districts=[central])
    coord = await login(client, "coord")
    (row,) = (await client.get("/api/v1/districts", headers=coord)).json()
    assert row["watchers"] == 1, row  # 'comm': not the coordinator, the volunteer or the inactive one
    coverage = (await client.get("/api/v1/reports/coverage", headers=coord)).json()
    assert [len(d["commissioners"]) for d in coverage["districts"]] == [row["watchers"]], coverage
