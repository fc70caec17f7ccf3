"""Request size is bounded (settings.max_request_bytes) for the import as for every endpoint."""

from __future__ import annotations

import pytest

from domain.enums import Role
from domain.settings import Settings
from tests.factories import login, make_district, make_org, make_user
from tests.imports.csv_samples import GOOD_ROWS, csv_bytes


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_request_bytes": 4096})


@pytest.mark.parametrize("as_form", [False, True])
async def test_an_oversized_file_is_413(client, db, as_form: bool) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_district(session, org, "中央地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
    headers = await login(client, "coord")
    data = csv_bytes(GOOD_ROWS[1:2] * 80)
    assert len(data) > 4096
    if as_form:
        response = await client.post(
            "/api/v1/residents/import", files={"file": ("a.csv", data, "text/csv")}, headers=headers
        )
    else:
        response = await client.post(
            "/api/v1/residents/import", content=data, headers={**headers, "Content-Type": "text/csv"}
        )
    assert response.status_code == 413
    assert response.json()["code"] == "error.too_large"
