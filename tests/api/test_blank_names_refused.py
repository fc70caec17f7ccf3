"""A name of spaces only is missing, not stored empty: districts, users, residents and emergency
contacts. Full-width spaces (U+3000, what a Japanese input method types) count as spaces; the answer
is 400 naming the field with 「必須項目です。」, and a name with spaces around it is kept trimmed."""

from __future__ import annotations

import pytest

from domain.enums import ConsentRecipient, Role
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user

BLANKS = ["\u3000", " \u3000 ", "\u3000\u3000\t"]


async def _world(db, client):
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord", districts=[district])
        volunteer = await make_user(s, org, Role.VOLUNTEER, "vol", display_name="奉仕 次郎")
        resident = await make_resident(s, org, district, name="山田 花子")
        for recipient in ConsentRecipient:
            await give_consent(s, resident, recipient)
        ids = {"district": district.id, "volunteer": volunteer.id, "resident": resident.id}
    return await login(client, "coord"), ids


def _required(response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, "field.required")]


@pytest.mark.parametrize("blank", BLANKS)
async def test_blank_district_and_user_names_are_refused(client, db, blank) -> None:
    coord, ids = await _world(db, client)
    _required(await client.post("/api/v1/districts", json={"name": blank}, headers=coord), "name")
    _required(
        await client.patch(f"/api/v1/districts/{ids['district']}", json={"name": blank}, headers=coord),
        "name",
    )
    created = await client.post(
        "/api/v1/users",
        json={"login": "tanaka", "display_name": blank, "role": "volunteer"},
        headers=coord,
    )
    _required(created, "display_name")
    renamed = await client.patch(
        f"/api/v1/users/{ids['volunteer']}", json={"display_name": blank}, headers=coord
    )
    _required(renamed, "display_name")
    assert renamed.json()["errors"][0]["message"] == "必須項目です。"

    districts = (await client.get("/api/v1/districts", headers=coord)).json()
    assert [d["name"] for d in districts] == ["中央地区"]
    volunteer = (await client.get(f"/api/v1/users/{ids['volunteer']}", headers=coord)).json()
    assert volunteer["display_name"] == "奉仕 次郎"
    assert (await client.get("/api/v1/users", params={"q": "tanaka"}, headers=coord)).json()["total"] == 0


@pytest.mark.parametrize("blank", BLANKS)
async def test_blank_resident_and_contact_names_are_refused(client, db, blank) -> None:
    coord, ids = await _world(db, client)
    created = await client.post(
        "/api/v1/residents", json={"district_id": ids["district"], "name": blank}, headers=coord
    )
    _required(created, "name")
    renamed = await client.patch(f"/api/v1/residents/{ids['resident']}", json={"name": blank}, headers=coord)
    _required(renamed, "name")
    contact = await client.patch(
        f"/api/v1/residents/{ids['resident']}",
        json={"emergency_contacts": [{"name": blank, "relation": "長男", "phone": "090-1111-2222"}]},
        headers={**coord, "Accept-Language": "en"},
    )
    _required(contact, "emergency_contacts.0.name")
    assert contact.json()["errors"][0]["message"] == "This field is required."

    resident = (await client.get(f"/api/v1/residents/{ids['resident']}", headers=coord)).json()
    assert resident["name"] == "山田 花子" and resident["emergency_contacts"] == []
    listed = (await client.get("/api/v1/residents", headers=coord)).json()
    assert [r["name"] for r in listed["items"]] == ["山田 花子"]


async def test_names_are_kept_without_the_spaces_around_them(client, db) -> None:
    coord, ids = await _world(db, client)
    district = await client.post("/api/v1/districts", json={"name": "\u3000北地区 "}, headers=coord)
    assert district.status_code == 201 and district.json()["name"] == "北地区"
    user = await client.patch(
        f"/api/v1/users/{ids['volunteer']}", json={"display_name": "\u3000奉仕 三郎\u3000"}, headers=coord
    )
    assert user.status_code == 200 and user.json()["display_name"] == "奉仕 三郎"
    resident = await client.patch(
        f"/api/v1/residents/{ids['resident']}",
        json={
            "name": "\u3000山田 花子\u3000",
            "emergency_contacts": [
                {"name": " 山田 一郎\u3000", "relation": "長男", "phone": "090-1111-2222"}
            ],
        },
        headers=coord,
    )
    assert resident.status_code == 200, resident.text
    assert resident.json()["name"] == "山田 花子"
    assert [c["name"] for c in resident.json()["emergency_contacts"]] == ["山田 一郎"]
