"""A contact time past the year 9999 in UTC (a typo, or a far offset: 9999-12-31T23:59-12:00) is
refused naming the field, in the API and on the resident page's note form; before, both answered
500 (and a phone's push with such a time failed whole: tests/sync/test_push_input.py)."""

from __future__ import annotations

import uuid

from tests.console.conftest import csrf_from, sign_in
from tests.factories import login


async def test_the_api_refuses_a_contact_time_past_year_9999(client, world) -> None:
    coord = await login(client, "coord")
    refused = await client.post(
        f"/api/v1/residents/{world.resident.id}/contact-notes",
        json={"method": "phone", "outcome": "met_well", "occurred_at": "9999-12-31T23:59:59-12:00"},
        headers=coord,
    )
    assert refused.status_code == 422, refused.text  # as every other refused note field
    assert [e["field"] for e in refused.json()["errors"]] == ["occurred_at"]


async def test_the_note_form_refuses_a_contact_time_past_year_9999(client, world) -> None:
    await sign_in(client, "coord")
    resident_id = world.resident.id
    refused = await client.post(
        f"/console/residents/{resident_id}/contact-notes",
        data={
            "_csrf": await csrf_from(client, f"/console/residents/{resident_id}"),
            "note_key": uuid.uuid4().hex,
            "method": "phone",
            "outcome": "met_well",
            "occurred_at": "9999-12-31T23:59-12:00",
        },
        follow_redirects=False,
    )
    assert refused.status_code in (400, 422), refused.status_code
    assert "範囲外" in refused.text
