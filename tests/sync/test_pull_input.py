"""Finding 14 of the hardening review: `migration=` nested 5,000 deep made json.loads recurse past
Python's limit (RecursionError, answered 500). Bad cursors answer 400 too."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.sync.conftest import Town, phone


@pytest.mark.parametrize(
    "query",
    [
        "migration=" + quote("[" * 5000 + "]" * 5000),
        "migration=" + quote("[" * 3000 + "]" * 3000),  # short enough to parse: json.loads recurses out
        "migration=" + quote('{"from":1,"tables":' + "[" * 900 + "]" * 900 + "}"),
        "migration=" + quote('{"from":1,"tables":[' + ",".join(['"residents"'] * 2000) + "]}"),
        "last_pulled_at=" + quote("²"),
        "last_pulled_at=" + "1" * 5000,
    ],
    ids=["nested-5000", "nested-3000", "nested-900", "too-long", "superscript-cursor", "5000-digit-cursor"],
)
async def test_hostile_pull_parameters_are_a_clear_400(client, town: Town, query: str) -> None:
    device = await phone(client, "vol")
    response = await client.get(
        f"/api/v1/sync/pull?{query}", headers={**device.headers, "Accept-Language": "en"}
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"].startswith("error.sync.bad_") or problem["code"] == "error.sync.unknown_table"
    assert problem["title"]


async def test_pull_with_its_real_parameters_works_and_an_unknown_one_is_refused(client, town: Town) -> None:
    device = await phone(client, "vol")
    first = await client.get(
        "/api/v1/sync/pull?last_pulled_at=null&schema_version=1&migration=null", headers=device.headers
    )
    assert first.status_code == 200, first.text
    cursor = first.json()["timestamp"]
    again = await client.get(f"/api/v1/sync/pull?last_pulled_at={cursor}", headers=device.headers)
    assert again.status_code == 200, again.text

    typo = await client.get(
        "/api/v1/sync/pull?last_pulled=0&schema_version=1&turbo=true",
        headers={**device.headers, "Accept-Language": "en"},
    )
    assert typo.status_code == 400, typo.text
    problem = typo.json()
    assert problem["unknown_parameters"] == ["last_pulled", "turbo"]
    assert problem["allowed_parameters"] == ["last_pulled_at", "migration", "schema_version"]
    assert "last_pulled, turbo" in problem["title"]
