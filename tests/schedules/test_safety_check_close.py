"""Closing a safety-check campaign (安否確認の終了): coordinators of the organisation only; the
campaign stops chasing anybody; the final tally is stored and answered again unchanged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import and_, func, or_, select

from domain.clock import clock
from domain.enums import ConsentRecipient, ContactMethod, ContactOutcome, Role
from domain.models import Alert, AuditEvent, Notification, Resident, SafetyCheckCampaign, User, Visit
from schedules import campaign_close, jobs
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

NOW = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # 22:00 JST: an earthquake at night


@dataclass
class Quake:
    north: str
    south: str
    vol: User
    comm: User
    residents: dict[str, Resident]


@pytest.fixture
async def quake(db) -> Quake:
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        south = await make_district(session, org, "南地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[north, south])
        vol = await make_user(session, org, Role.VOLUNTEER, "vol")
        other = await make_org(session, "隣町")
        await make_user(session, other, Role.COORDINATOR, "coord-next-town")
        residents = {}
        for key, district in (("well", north), ("hurt", north), ("door", north), ("silent", north)):
            residents[key] = await make_resident(session, org, district, name=f"北の{key}")
        for key in ("retried", "marked"):
            residents[key] = await make_resident(session, org, south, name=f"南の{key}")
        for resident in residents.values():
            await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
            await give_consent(session, resident, ConsentRecipient.VOLUNTEERS)
            await assign(session, resident, vol)
    return Quake(north.id, south.id, vol, comm, residents)


async def _start(client, quake: Quake, hours: int = 6) -> str:
    coordinator = await login(client, "coord", device_id="k-phone")
    body = {"title": "地震 安否確認", "district_ids": [quake.north, quake.south], "hours": hours}
    started = await client.post("/api/v1/safety-checks", json=body, headers=coordinator)
    assert started.status_code == 201, started.text
    return started.json()["id"]


async def _note(db, quake: Quake, key: str, minutes: int, outcome: ContactOutcome) -> None:
    async with db() as session:
        await record_note(
            session,
            quake.residents[key],
            quake.vol,
            NOW + timedelta(minutes=minutes),
            outcome,
            ContactMethod.PHONE,
        )


async def _campaign_messages(db, campaign_id: str) -> int:
    """Messages about the campaign's visits or its missed-check alerts (an emergency recorded
    during the check is another alert: it climbs its own ladder, closed campaign or not)."""
    async with db() as session:
        visits = select(Visit.id).where(Visit.campaign_id == campaign_id)
        return int(
            await session.scalar(
                select(func.count(Notification.id)).where(
                    or_(
                        and_(Notification.visit_id.in_(visits), Notification.kind.like("visit.%")),
                        Notification.kind == "alert.safety_check_missed",
                        Notification.kind == "visit.safety_check",
                    )
                )
            )
            or 0
        )


async def test_closing_answers_and_keeps_the_final_tally(client, db, db_config, quake) -> None:
    campaign_id = await _start(client, quake)
    clock.set(NOW + timedelta(hours=2))
    await _note(db, quake, "well", 10, ContactOutcome.MET_WELL)
    await _note(db, quake, "hurt", 20, ContactOutcome.EMERGENCY)
    await _note(db, quake, "door", 30, ContactOutcome.NO_ANSWER)
    await _note(db, quake, "retried", 40, ContactOutcome.NO_ANSWER)
    await _note(db, quake, "retried", 90, ContactOutcome.MET_WELL)  # reached on the second try
    async with db() as session:  # the volunteer ticked the check off on the phone, no note
        visit = await session.scalar(
            select(Visit).where(
                Visit.campaign_id == campaign_id, Visit.resident_id == quake.residents["marked"].id
            )
        )
        visit.status = "done"
        visit.completed_at = NOW + timedelta(minutes=50)

    coordinator = await login(client, "coord", device_id="k-phone")
    response = await client.post(f"/api/v1/safety-checks/{campaign_id}/close", headers=coordinator)
    assert response.status_code == 200, response.text
    closed = response.json()
    assert closed["closed_at"] is not None
    tally = closed["final_tally"]
    ids = {key: r.id for key, r in quake.residents.items()}
    assert {
        k: tally[k] for k in ("residents", "confirmed_safe", "needs_help", "unreachable", "not_checked")
    } == {
        "residents": 6,
        "confirmed_safe": 3,  # well, retried, marked
        "needs_help": 1,  # hurt
        "unreachable": 1,  # door
        "not_checked": 1,  # silent
    }
    assert tally["by_district"] == {
        quake.north: {
            "residents": 4,
            "confirmed_safe": 1,
            "needs_help": 1,
            "unreachable": 1,
            "not_checked": 1,
        },
        quake.south: {
            "residents": 2,
            "confirmed_safe": 2,
            "needs_help": 0,
            "unreachable": 0,
            "not_checked": 0,
        },
    }
    assert tally["follow_up_resident_ids"] == {
        "needs_help": [ids["hurt"]],
        "unreachable": [ids["door"]],
        "not_checked": [ids["silent"]],
    }

    # Closing again is not an error: the same tally, the same closing time.
    clock.set(NOW + timedelta(hours=3))
    await _note(db, quake, "silent", 170, ContactOutcome.MET_WELL)  # after the close: not counted
    coordinator = await login(client, "coord", device_id="k-phone")
    again = await client.post(f"/api/v1/safety-checks/{campaign_id}/close", headers=coordinator)
    assert again.status_code == 200, again.text
    assert again.json()["final_tally"] == tally and again.json()["closed_at"] == closed["closed_at"]
    shown = await client.get(f"/api/v1/safety-checks/{campaign_id}", headers=coordinator)
    assert shown.json()["final_tally"] == tally

    # Audited, both times, with who did it.
    async with db() as session:
        events = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.entity == "safety_check", AuditEvent.action == "close")
            )
        )
    assert sorted(e.detail["already_closed"] for e in events) == [False, True]

    # Nothing more is chased: past the deadline, the one never reached raises no alert.
    clock.set(NOW + timedelta(hours=7))
    before = await _campaign_messages(db, campaign_id)
    await jobs.sweep(db_config)
    assert await _campaign_messages(db, campaign_id) == before
    async with db() as session:
        kinds = set(await session.scalars(select(Alert.kind)))
        statuses = set(
            await session.scalars(
                select(Visit.status).where(
                    Visit.campaign_id == campaign_id, Visit.resident_id.in_([ids["door"], ids["silent"]])
                )
            )
        )
    assert "safety_check_missed" not in kinds
    assert statuses == {"cancelled"}  # nobody answered door's: still open at the close, cancelled


async def test_only_the_organisations_coordinators_may_close(client, db, quake) -> None:
    campaign_id = await _start(client, quake)
    url = f"/api/v1/safety-checks/{campaign_id}/close"
    volunteer = await login(client, "vol", device_id="v-phone")
    assert (await client.post(url, headers=volunteer)).status_code == 403
    commissioner = await login(client, "comm", device_id="c-phone")
    assert (await client.post(url, headers=commissioner)).status_code == 403
    next_town = await login(client, "coord-next-town", device_id="n-phone")
    assert (await client.post(url, headers=next_town)).status_code == 404
    coordinator = await login(client, "coord", device_id="k-phone")
    assert (await client.post("/api/v1/safety-checks/nope/close", headers=coordinator)).status_code == 404
    async with db() as session:
        assert (await session.get_one(SafetyCheckCampaign, campaign_id)).closed_at is None

    closed = await client.post(url, headers=coordinator)
    assert closed.status_code == 200 and closed.json()["final_tally"]["residents"] == 6
    # The commissioner still sees the campaign's progress, not the organisation-wide tally.
    shown = await client.get(f"/api/v1/safety-checks/{campaign_id}", headers=commissioner)
    assert shown.status_code == 200 and shown.json()["final_tally"] is None
    assert shown.json()["closed_at"] is not None


async def test_closing_resolves_the_campaigns_open_alerts_and_stops_their_ladder(
    client, db, db_config, quake
) -> None:
    campaign_id = await _start(client, quake, hours=1)
    await _note(db, quake, "well", 10, ContactOutcome.MET_WELL)
    clock.set(NOW + timedelta(hours=1, minutes=1))
    await jobs.sweep_visits(db_config)
    async with db() as session:
        missed = list(await session.scalars(select(Alert).where(Alert.kind == "safety_check_missed")))
    assert len(missed) == 5 and {a.status for a in missed} == {"open"}

    coordinator = await login(client, "coord", device_id="k-phone")
    response = await client.post(f"/api/v1/safety-checks/{campaign_id}/close", headers=coordinator)
    assert response.status_code == 200, response.text
    assert response.json()["final_tally"]["not_checked"] == 5
    async with db() as session:
        alerts = list(await session.scalars(select(Alert).where(Alert.kind == "safety_check_missed")))
    assert {(a.status, a.resolution) for a in alerts} == {("resolved", "campaign_closed")}
    # A day later nothing climbed the ladder.
    before = await _campaign_messages(db, campaign_id)
    assert before > 0
    clock.set(NOW + timedelta(days=1))
    await jobs.sweep(db_config)
    assert await _campaign_messages(db, campaign_id) == before


async def test_two_coordinators_closing_at_once_get_the_same_tally(client, db, quake) -> None:
    campaign_id = await _start(client, quake)
    await _note(db, quake, "well", 10, ContactOutcome.MET_WELL)

    async def close() -> tuple[bool, dict]:
        async with db() as session:
            campaign = await session.get_one(SafetyCheckCampaign, campaign_id)
            first = await campaign_close.close_campaign(session, campaign, "someone")
            return first, dict(campaign.final_tally or {})

    clock.set(NOW + timedelta(hours=1))
    results = await asyncio.gather(close(), close(), close())
    assert sorted(first for first, _ in results) == [False, False, True]
    tallies = [tally for _, tally in results]
    assert tallies[0] == tallies[1] == tallies[2] and tallies[0]["confirmed_safe"] == 1
