"""A commissioner following a safety check sees only the residents they may see."""

from __future__ import annotations

from domain.enums import ConsentRecipient, Role
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user


async def test_safety_check_progress_is_limited_to_the_callers_residents(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        south = await make_district(session, org, "南地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
        await make_user(session, org, Role.COMMISSIONER, "comm", districts=[north])
        mine = await make_resident(session, org, north, name="北 一郎")
        no_consent = await make_resident(session, org, north, name="北 二郎")
        elsewhere = await make_resident(session, org, south, name="南 三郎")
        for resident in (mine, elsewhere):
            await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
    coordinator = await login(client, "coord")
    started = await client.post(
        "/api/v1/safety-checks",
        json={"title": "地震", "district_ids": [north.id, south.id]},
        headers=coordinator,
    )
    assert started.status_code == 201, started.text
    campaign_id = started.json()["id"]
    everything = (await client.get(f"/api/v1/safety-checks/{campaign_id}", headers=coordinator)).json()
    assert set(everything["progress"]["not_reached_resident_ids"]) == {mine.id, no_consent.id, elsewhere.id}

    commissioner = await login(client, "comm", device_id="comm-phone")
    seen = await client.get(f"/api/v1/safety-checks/{campaign_id}", headers=commissioner)
    assert seen.status_code == 200
    progress = seen.json()["progress"]
    assert progress["not_reached_resident_ids"] == [mine.id]
    assert progress["total"] == 1 and set(progress["by_district"]) == {north.id}
    listed = (await client.get("/api/v1/safety-checks", headers=commissioner)).json()
    assert [c["progress"]["not_reached_resident_ids"] for c in listed] == [[mine.id]]
