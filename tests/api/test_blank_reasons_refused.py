"""A reason of spaces only (full-width U+3000 included) is missing, not stored empty: ending an
assignment, handing a person's residents over and ending a legal basis answer 400 「必須項目です。」
naming `reason`, and nothing changes."""

from __future__ import annotations

from domain.enums import ConsentRecipient, Role
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

BLANK = " \u3000 "


def _required(response) -> None:
    assert response.status_code == 400, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("reason", "field.required")]
    assert response.json()["errors"][0]["message"] == "必須項目です。"


async def test_blank_reasons_are_refused_and_nothing_changes(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        volunteer = await make_user(s, org, Role.VOLUNTEER, "vol")
        successor = await make_user(s, org, Role.VOLUNTEER, "vol2")
        resident = await make_resident(s, org, district)
        await give_consent(s, resident, ConsentRecipient.VOLUNTEERS)
        assignment = await assign(s, resident, volunteer)
        ids = (resident.id, volunteer.id, successor.id, assignment.id)
    rid, vol_id, successor_id, assignment_id = ids
    coord = await login(client, "coord")

    _required(
        await client.post(f"/api/v1/assignments/{assignment_id}/end", json={"reason": BLANK}, headers=coord)
    )
    _required(
        await client.post(
            "/api/v1/assignments/hand-over",
            json={"from_user_id": vol_id, "to_user_id": successor_id, "reason": BLANK},
            headers=coord,
        )
    )
    current = (await client.get(f"/api/v1/residents/{rid}/assignments", headers=coord)).json()
    assert [(a["id"], a["user_id"]) for a in current["current"]] == [(assignment_id, vol_id)]
    assert current["history"] == []

    url = f"/api/v1/residents/{rid}/legal-bases"
    body = {"basis": "council_confidentiality", "recipient": "district_commissioner"}
    recorded = await client.post(url, json=body, headers=coord)
    assert recorded.status_code == 201, recorded.text
    _required(await client.post(f"{url}/{recorded.json()['id']}/end", json={"reason": BLANK}, headers=coord))
    bases = (await client.get(url, headers=coord)).json()
    assert [(b["active"], b["end_reason"]) for b in bases] == [(True, None)]
