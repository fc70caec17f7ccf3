"""安否確認: a safety-check campaign asks for contact with every resident of chosen districts now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.clock import clock
from domain.enums import ConsentRecipient, ContactMethod, ContactOutcome, ResidentStatus, Role
from domain.models import Alert, Notification
from schedules import jobs
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

NOW = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # 22:00 JST: an earthquake at night


async def test_safety_check_campaign_progress_and_alerts(client, db, db_config) -> None:
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        south = await make_district(session, org, "南地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[north])
        vol = await make_user(session, org, Role.VOLUNTEER, "vol")
        a = await make_resident(session, org, north, name="住民A")
        b = await make_resident(session, org, north, name="住民B")
        c = await make_resident(session, org, north, name="住民C")  # nobody assigned
        await make_resident(session, org, north, name="入院中", status=ResidentStatus.PAUSED)
        await make_resident(session, org, south, name="南の人")
        for r in (a, b, c):  # the district commissioner may see them (consent)
            await give_consent(session, r, ConsentRecipient.DISTRICT_COMMISSIONER)
        for r in (a, b):
            await give_consent(session, r, ConsentRecipient.VOLUNTEERS)
            await assign(session, r, vol)
    volunteer = await login(client, "vol", device_id="v-phone")
    body = {"title": "地震 安否確認", "district_ids": [north.id], "hours": 6}
    assert (await client.post("/api/v1/safety-checks", json=body, headers=volunteer)).status_code == 403
    commissioner = await login(client, "comm", device_id="c-phone")
    south_only = await client.post(
        "/api/v1/safety-checks", json={**body, "district_ids": [south.id]}, headers=commissioner
    )
    assert south_only.status_code == 403
    started = await client.post("/api/v1/safety-checks", json=body, headers=commissioner)
    assert started.status_code == 201, started.text
    campaign = started.json()
    assert campaign["progress"]["total"] == 3 and campaign["progress"]["not_reached"] == 3
    async with db() as session:
        told = {
            (n.user_id, n.urgent, n.body)
            for n in await session.scalars(
                select(Notification).where(Notification.kind == "visit.safety_check")
            )
        }
    # At once, through quiet hours: the volunteer for their two, the commissioner for the unassigned one.
    assert {(u, urgent) for u, urgent, _ in told} == {(vol.id, True), (comm.id, True)}
    assert any("2名" in text for u, _, text in told if u == vol.id)

    clock.set(NOW + timedelta(hours=1))
    async with db() as session:
        await record_note(session, a, vol, NOW + timedelta(minutes=40), ContactOutcome.MET_WELL)
        await record_note(
            session, b, vol, NOW + timedelta(minutes=50), ContactOutcome.EMERGENCY, ContactMethod.PHONE
        )
    coordinator = await login(client, "coord", device_id="k-phone")
    progress = (await client.get(f"/api/v1/safety-checks/{campaign['id']}", headers=coordinator)).json()[
        "progress"
    ]
    assert (progress["reached"], progress["not_reached"], progress["outcomes"]) == (
        2,
        1,
        {"met_well": 1, "emergency": 1},
    )
    assert progress["not_reached_resident_ids"] == [c.id]

    # The deadline passes: the resident not reached raises an alert at once (no grace).
    clock.set(NOW + timedelta(hours=6, minutes=1))
    await jobs.sweep_visits(db_config)
    await jobs.sweep_visits(db_config)
    async with db() as session:
        alerts = sorted((x.kind, x.resident_id) for x in await session.scalars(select(Alert)))
    assert alerts == sorted([("safety_check_missed", c.id), ("emergency", b.id)])
    coordinator = await login(client, "coord", device_id="k-phone")
    progress = (await client.get(f"/api/v1/safety-checks/{campaign['id']}", headers=coordinator)).json()[
        "progress"
    ]
    assert progress["missed"] == 1


async def test_nobody_answering_the_door_is_not_reached_and_alerts_at_the_deadline(
    client, db, db_config
) -> None:
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
        await make_user(session, org, Role.COMMISSIONER, "comm", districts=[north])
        vol = await make_user(session, org, Role.VOLUNTEER, "vol")
        a = await make_resident(session, org, north, name="住民A")
        await give_consent(session, a, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(session, a, ConsentRecipient.VOLUNTEERS)
        await assign(session, a, vol)
    commissioner = await login(client, "comm", device_id="c-phone")
    body = {"title": "地震 安否確認", "district_ids": [north.id], "hours": 6}
    campaign = (await client.post("/api/v1/safety-checks", json=body, headers=commissioner)).json()
    # The volunteer knocks: nobody answers.
    clock.set(NOW + timedelta(hours=1))
    async with db() as session:
        await record_note(session, a, vol, NOW + timedelta(minutes=40), ContactOutcome.NO_ANSWER)
    coordinator = await login(client, "coord", device_id="k-phone")
    url = f"/api/v1/safety-checks/{campaign['id']}"
    progress = (await client.get(url, headers=coordinator)).json()["progress"]
    assert (progress["reached"], progress["not_reached"]) == (0, 1)
    assert progress["not_reached_resident_ids"] == [a.id]
    # The same words as the final tally will use.
    tried = {"confirmed_safe": 0, "needs_help": 0, "unreachable": 1, "not_checked": 0}
    assert progress["categories"] == tried
    # The deadline passes with nobody having seen her: the district is told.
    clock.set(NOW + timedelta(hours=6, minutes=1))
    await jobs.sweep(db_config)
    async with db() as session:
        alerts = [(x.kind, x.resident_id) for x in await session.scalars(select(Alert))]
    assert ("safety_check_missed", a.id) in alerts
    # The second try, before the deadline, found her well: synced late, it answers the check.
    clock.set(NOW + timedelta(hours=7))
    async with db() as session:
        await record_note(session, a, vol, NOW + timedelta(hours=5, minutes=30), ContactOutcome.MET_WELL)
    coordinator = await login(client, "coord", device_id="k-phone")
    progress = (await client.get(url, headers=coordinator)).json()["progress"]
    assert (progress["reached"], progress["not_reached_resident_ids"]) == (1, [])
    assert progress["categories"] == {**tried, "unreachable": 0, "confirmed_safe": 1}
    async with db() as session:
        statuses = {x.kind: x.status for x in await session.scalars(select(Alert))}
    assert statuses["safety_check_missed"] == "resolved"


async def test_a_reached_note_corrected_to_nobody_answering_reopens_the_check(client, db, db_config) -> None:
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
        vol = await make_user(session, org, Role.VOLUNTEER, "vol")
        a = await make_resident(session, org, north, name="住民A")
        await give_consent(session, a, ConsentRecipient.VOLUNTEERS)
        await assign(session, a, vol)
    coordinator = await login(client, "coord", device_id="k-phone")
    body = {"title": "地震 安否確認", "district_ids": [north.id], "hours": 6}
    campaign = (await client.post("/api/v1/safety-checks", json=body, headers=coordinator)).json()
    url = f"/api/v1/safety-checks/{campaign['id']}"
    clock.set(NOW + timedelta(hours=1))
    async with db() as session:
        note = await record_note(session, a, vol, NOW + timedelta(minutes=40), ContactOutcome.MET_WELL)
    coordinator = await login(client, "coord", device_id="k-phone")
    assert (await client.get(url, headers=coordinator)).json()["progress"]["reached"] == 1
    # The volunteer calls the office: she was not at home after all.
    corrected = await client.patch(
        f"/api/v1/contact-notes/{note.id}",
        json={"outcome": "no_answer", "reason": "不在"},
        headers=coordinator,
    )
    assert corrected.status_code == 200, corrected.text
    progress = (await client.get(url, headers=coordinator)).json()["progress"]
    assert (progress["reached"], progress["not_reached_resident_ids"]) == (0, [a.id])
    clock.set(NOW + timedelta(hours=6, minutes=1))
    await jobs.sweep(db_config)
    async with db() as session:
        alerts = [(x.kind, x.resident_id) for x in await session.scalars(select(Alert))]
    assert ("safety_check_missed", a.id) in alerts
