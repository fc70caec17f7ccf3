"""The people page and deactivation: a person whose only resident has ended (moved away) can be
deactivated there; a deactivated person gets no activation code (the button is not offered, and a
posted request is refused with the reason)."""

from __future__ import annotations

from tests.console.conftest import csrf_from, sign_in
from tests.factories import login

PEOPLE = "/console/people"


async def test_a_deactivated_person_gets_no_activation_code(client, world) -> None:
    coord = await login(client, "coord", device_id="c-phone")
    off = await client.patch(f"/api/v1/users/{world.commissioner.id}", json={"active": False}, headers=coord)
    assert off.status_code == 200, off.text
    await sign_in(client, "coord")
    page = await client.get(PEOPLE)
    assert f"/console/people/{world.commissioner.id}/activation-code" not in page.text
    token = await csrf_from(client, PEOPLE)
    answer = await client.post(
        f"{PEOPLE}/{world.commissioner.id}/activation-code", data={"_csrf": token}, follow_redirects=False
    )
    assert answer.status_code == 409, answer.text
    assert "無効になっている利用者です。先に有効にしてください。" in answer.text
    assert 'id="activation-code"' not in answer.text


async def test_a_volunteer_whose_resident_has_ended_can_be_deactivated(client, world) -> None:
    coord = await login(client, "coord", device_id="c-phone")
    ended = await client.post(
        f"/api/v1/residents/{world.resident.id}/status",
        json={"status": "ended", "reason": "逝去"},
        headers=coord,
    )
    assert ended.status_code == 200, ended.text
    await sign_in(client, "coord")
    token = await csrf_from(client, PEOPLE)
    answer = await client.post(
        f"{PEOPLE}/{world.volunteer.id}/deactivate", data={"_csrf": token}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text  # was 409: 「現在1件の担当があります」
    volunteer = (await client.get(f"/api/v1/users/{world.volunteer.id}", headers=coord)).json()
    assert volunteer["active"] is False and volunteer["current_assignments"] == 0
