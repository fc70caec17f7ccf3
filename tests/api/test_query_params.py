"""Unknown query parameters on a GET under /api/ are refused with a 400 that names them, instead of
a 200 with the whole, unfiltered list (issue #11: `?last_contact_before=` and `?sort=` on
/residents were silently ignored)."""

from __future__ import annotations

import pytest

from domain.enums import ConsentRecipient, Role
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user


@pytest.fixture
async def town(db):
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        for name, district in (("東 一", east), ("西 二", west)):
            resident = await make_resident(s, org, district, name=name, kana=name)
            await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        return {"east": east.id, "west": west.id}


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        (
            "/api/v1/residents?last_contact_before=2026-01-01&sort=last_contact_at",
            ["last_contact_before", "sort"],
        ),
        ("/api/v1/residents?export=csv", ["export"]),
        ("/api/v1/users?rol=volunteer", ["rol"]),
        ("/api/v1/districts?page=1", ["page"]),
        ("/api/v1/alerts?status=open&assignee=me", ["assignee"]),
        ("/api/v1/audit?entity=resident&from=2026-01-01", ["from"]),
        ("/api/v1/plans?resident=abc", ["resident"]),
        ("/api/v1/me/notifications?unread=true&all=1", ["all"]),
        ("/api/v1/me?debug=1", ["debug"]),
    ],
)
async def test_unknown_query_parameters_are_refused_by_name(
    client, town, path: str, unknown: list[str]
) -> None:
    headers = await login(client, "coord")
    response = await client.get(path, headers={**headers, "Accept-Language": "en"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "error.unknown_query_parameters"
    assert problem["unknown_parameters"] == unknown
    assert [e["field"] for e in problem["errors"]] == unknown
    assert ", ".join(unknown) in problem["title"]


async def test_the_refusal_is_japanese_by_default_and_lists_what_is_accepted(client, town) -> None:
    headers = await login(client, "coord")
    response = await client.get("/api/v1/residents?last_contact_before=2026-01-01", headers=headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"].startswith("使用できないクエリパラメータがあります: last_contact_before")
    assert {"district_id", "risk_level", "status", "assignee_id", "q", "page", "page_size"} <= set(
        problem["allowed_parameters"]
    )


async def test_declared_parameters_still_filter(client, town) -> None:
    headers = await login(client, "coord")
    response = await client.get(
        f"/api/v1/residents?district_id={town['east']}&page=1&page_size=10&q=東", headers=headers
    )
    assert response.status_code == 200, response.text
    assert [r["name"] for r in response.json()["items"]] == ["東 一"]
    plain = await client.get("/api/v1/residents", headers=headers)
    assert plain.status_code == 200 and plain.json()["total"] == 2


async def test_writes_and_pages_outside_the_api_are_not_affected(client, town) -> None:
    assert (await client.get("/healthz?probe=1")).status_code == 200
    headers = await login(client, "coord")
    created = await client.post(
        "/api/v1/residents?dry=1",
        json={"name": "南 三", "kana": "ミナミ サン", "district_id": town["east"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
