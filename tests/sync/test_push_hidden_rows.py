"""A push about a row the phone's user cannot see is refused the same way whatever it says, so the
answer never tells what the hidden row contains."""

from __future__ import annotations

from domain.enums import Role
from tests.factories import login, make_district, make_org, make_resident, make_user


async def test_push_to_a_hidden_resident_answers_the_same_whatever_the_values(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        south = await make_district(session, org, "南地区")
        await make_user(session, org, Role.VOLUNTEER, "vol")
        await make_user(session, org, Role.COMMISSIONER, "comm", districts=[north])
        hidden = await make_resident(session, org, south, name="秘密 太郎", risk_level="high")
    for login_name in ("vol", "comm"):
        headers = await login(client, login_name, device_id=f"{login_name}-phone")
        answers = []
        for guess in ("秘密 太郎", "違う 名前"):
            for cursor in (99_999_999_999, 0):
                response = await client.post(
                    f"/api/v1/sync/push?last_pulled_at={cursor}",
                    json={
                        "residents": {
                            "created": [],
                            "updated": [{"id": hidden.id, "name": guess}],
                            "deleted": [],
                        }
                    },
                    headers=headers,
                )
                body = response.json()
                answers.append((response.status_code, [q["reason"] for q in body.get("quarantined", [])]))
        assert len(set(map(repr, answers))) == 1, (login_name, answers)
        status, reasons = answers[0]
        assert status == 200 and reasons == ["sync.refused.forbidden"]
