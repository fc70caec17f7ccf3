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
