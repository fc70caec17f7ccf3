"""A resident whose watching has ended (moved away, died) holds nobody back: their assignment does
not block deactivating the volunteer, is not counted among the person's current assignments, and a
hand-over does not pass it on. The assignment ends with a reason, readable in the history."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.enums import ConsentRecipient, Role
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user


async def _town(db):
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        volunteer = await make_user(s, org, Role.VOLUNTEER, "vol")
        successor = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[district])
        ids = {"vol": volunteer.id, "comm": successor.id}
        for key, name in (("moving", "山田 花子"), ("staying", "佐藤 一郎")):
            resident = await make_resident(s, org, district, name=name)
            for recipient in ConsentRecipient:
                await give_consent(s, resident, recipient)
            await assign(s, resident, volunteer)
            ids[key] = resident.id
        # Removed from the register (deleted): assigned to the volunteer all the same.
        gone = await make_resident(
            s, org, district, name="削除 済子", deleted_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
        await assign(s, gone, volunteer)
    return ids


async def _end_watching(client, coord, resident_id: str) -> None:
    ended = await client.post(
        f"/api/v1/residents/{resident_id}/status",
        json={"status": "ended", "reason": "転居のため終了"},
        headers=coord,
    )
    assert ended.status_code == 200, ended.text


async def test_deactivation_is_refused_only_for_residents_still_watched(client, db) -> None:
    ids = await _town(db)
    coord = await login(client, "coord")
    await _end_watching(client, coord, ids["moving"])
    user = (await client.get(f"/api/v1/users/{ids['vol']}", headers=coord)).json()
    assert user["current_assignments"] == 1  # 佐藤 一郎 only

    refused = await client.patch(f"/api/v1/users/{ids['vol']}", json={"active": False}, headers=coord)
    assert refused.status_code == 409 and refused.json()["current_assignments"] == 1, refused.text

    await _end_watching(client, coord, ids["staying"])
    off = await client.patch(f"/api/v1/users/{ids['vol']}", json={"active": False}, headers=coord)
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False and off.json()["current_assignments"] == 0

    # The history still says who watched 山田 花子, until when and why it ended.
    history = (await client.get(f"/api/v1/residents/{ids['moving']}/assignments", headers=coord)).json()
    assert history["current"] == []
    (ended,) = history["history"]
    assert ended["user_id"] == ids["vol"] and ended["ended_at"] is not None
    assert ended["end_reason"] == "担当者の無効化（見守り終了済みの方の担当）"


async def test_a_hand_over_passes_on_only_residents_still_watched(client, db) -> None:
    ids = await _town(db)
    coord = await login(client, "coord")
    await _end_watching(client, coord, ids["moving"])
    direct = await client.post(
        f"/api/v1/residents/{ids['moving']}/assignments",
        json={"user_id": ids["comm"], "role": "primary"},
        headers=coord,
    )
    assert direct.status_code == 409  # the rule: nobody is newly assigned to an ended resident

    handed = await client.post(
        "/api/v1/assignments/hand-over",
        json={"from_user_id": ids["vol"], "to_user_id": ids["comm"], "reason": "退任"},
        headers=coord,
    )
    assert handed.status_code == 200, handed.text
    body = handed.json()
    assert body["residents"] == [ids["staying"]]
    assert (body["assignments_ended"], body["assignments_created"]) == (3, 1)
    successor = (await client.get(f"/api/v1/users/{ids['comm']}", headers=coord)).json()
    assert successor["current_assignments"] == 1
    leaving = (await client.get(f"/api/v1/users/{ids['vol']}", headers=coord)).json()
    assert leaving["current_assignments"] == 0

    moving = (await client.get(f"/api/v1/residents/{ids['moving']}/assignments", headers=coord)).json()
    assert moving["current"] == []
    assert [(a["user_id"], a["end_reason"]) for a in moving["history"]] == [(ids["vol"], "退任")]
    staying = (await client.get(f"/api/v1/residents/{ids['staying']}/assignments", headers=coord)).json()
    assert [a["user_id"] for a in staying["current"]] == [ids["comm"]]

    off = await client.patch(f"/api/v1/users/{ids['vol']}", json={"active": False}, headers=coord)
    assert off.status_code == 200, off.text
