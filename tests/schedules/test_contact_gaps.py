"""Contact-gap alerts: a resident nobody has reached for longer than their risk level allows gets an
alert — and again after the first one was dealt with, if the silence goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.clock import clock
from domain.enums import AlertResolution, AlertStatus, ConsentRecipient, RiskLevel, Role
from domain.models import Alert, Organisation, Resident
from schedules import jobs
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 10:00 JST


async def _high_risk_resident(db):
    """A high-risk resident (14 days allowed), a coordinator and a volunteer assigned."""
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        await make_user(session, org, Role.COORDINATOR, "coord")
        vol = await make_user(session, org, Role.VOLUNTEER, "vol")
        resident = await make_resident(session, org, district, risk_level=RiskLevel.HIGH)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(session, resident, ConsentRecipient.VOLUNTEERS)
        await assign(session, resident, vol)
    return resident, vol


async def _gap_alerts(db, resident: Resident) -> list[Alert]:
    async with db() as session:
        return list(
            await session.scalars(
                select(Alert)
                .where(Alert.resident_id == resident.id, Alert.kind == "contact_gap")
                .order_by(Alert.opened_at, Alert.id)
            )
        )


async def _check_on(db_config, day: float) -> int:
    clock.set(NOW + timedelta(days=day))
    return await jobs.detect_contact_gaps(db_config)


async def test_a_gap_alert_resolved_as_handled_comes_again_after_another_full_period(db, client) -> None:
    """The coordinator phoned the family and resolved the alert as handled; nobody records a contact
    after that. Fourteen days after the resolution a new gap alert comes — one, not one a run."""
    resident, _vol = await _high_risk_resident(db)
    db_config = client.app.state.db_config
    assert await _check_on(db_config, 15) == 1
    headers = await login(client, "coord")
    (first,) = await _gap_alerts(db, resident)
    response = await client.post(
        f"/api/v1/alerts/{first.id}/resolve", json={"resolution": "handled"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert await _check_on(db_config, 16) == 0
    assert await _check_on(db_config, 28.9) == 0  # less than 14 days since the resolution
    assert await _check_on(db_config, 29.1) == 1
    assert await _check_on(db_config, 29.2) == 0
    assert await _check_on(db_config, 195) == 0  # the new one is still open: never two
    alerts = await _gap_alerts(db, resident)
    assert [a.status for a in alerts] == [AlertStatus.RESOLVED, AlertStatus.OPEN]
    assert alerts[1].opened_at == NOW + timedelta(days=29.1)


async def test_a_gap_alert_resolved_by_a_late_note_comes_again_counted_from_that_contact(db, client) -> None:
    """Day 15: gap alert. Day 16: a note recorded offline on day 10 syncs, and the alert resolves as
    recorded late. Nobody reaches her after day 10: on day 24 (14 days later) a new alert comes."""
    resident, vol = await _high_risk_resident(db)
    db_config = client.app.state.db_config
    assert await _check_on(db_config, 15) == 1
    clock.set(NOW + timedelta(days=16))
    async with db() as session:
        row = await session.get_one(Resident, resident.id)
        await record_note(session, row, vol, NOW + timedelta(days=10))
    (first,) = await _gap_alerts(db, resident)
    assert first.resolution == AlertResolution.RECORDED_LATE
    assert await _check_on(db_config, 23.9) == 0
    assert await _check_on(db_config, 24.1) == 1
    assert await _check_on(db_config, 40) == 0
    assert [a.status for a in await _gap_alerts(db, resident)] == [AlertStatus.RESOLVED, AlertStatus.OPEN]


async def test_an_acknowledged_gap_alert_is_never_joined_by_a_second_one(db, client) -> None:
    resident, _vol = await _high_risk_resident(db)
    db_config = client.app.state.db_config
    assert await _check_on(db_config, 15) == 1
    headers = await login(client, "coord")
    (first,) = await _gap_alerts(db, resident)
    response = await client.post(f"/api/v1/alerts/{first.id}/acknowledge", headers=headers)
    assert response.status_code == 200, response.text
    assert await _check_on(db_config, 100) == 0
    assert len(await _gap_alerts(db, resident)) == 1


async def test_a_contact_after_the_gap_alert_starts_the_count_again(db, client) -> None:
    """A visit recorded on day 20 resolves the day-15 alert; the next alert comes on day 34."""
    resident, vol = await _high_risk_resident(db)
    db_config = client.app.state.db_config
    assert await _check_on(db_config, 15) == 1
    clock.set(NOW + timedelta(days=20))
    async with db() as session:
        row = await session.get_one(Resident, resident.id)
        await record_note(session, row, vol, NOW + timedelta(days=20))
    (first,) = await _gap_alerts(db, resident)
    assert first.resolution == AlertResolution.CONTACT_RECORDED
    assert await _check_on(db_config, 33.9) == 0
    assert await _check_on(db_config, 34.1) == 1


async def _medium_risk_resident(db) -> tuple[Organisation, Resident]:
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        await make_user(session, org, Role.COORDINATOR, "coord")
        resident = await make_resident(session, org, district, risk_level=RiskLevel.MEDIUM)
    return org, resident


async def test_changing_one_risk_levels_limit_keeps_the_others(db, client) -> None:
    """A coordinator tightens the high-risk limit to 7 days; a medium-risk resident alone for 400
    days still gets a gap alert (before, the change dropped the medium and low limits)."""
    _org, resident = await _medium_risk_resident(db)
    headers = await login(client, "coord")
    response = await client.patch(
        "/api/v1/org/rules", json={"contact_gap_days": {"high": 7}}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["contact_gap_days"] == {"high": 7, "medium": 30, "low": 60}
    response = await client.patch("/api/v1/org/rules", json={"contact_gap_days": {}}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["contact_gap_days"] == {"high": 7, "medium": 30, "low": 60}
    got = await client.get("/api/v1/org/rules", headers=headers)
    assert got.json()["contact_gap_days"] == {"high": 7, "medium": 30, "low": 60}
    assert await _check_on(client.app.state.db_config, 400) == 1
    assert len(await _gap_alerts(db, resident)) == 1


async def test_a_limit_map_stored_without_some_levels_keeps_their_defaults(db, client) -> None:
    """Stored by an older release that replaced the whole map: the medium level comes back at 30."""
    org, _resident = await _medium_risk_resident(db)
    async with db() as session:
        row = await session.get_one(Organisation, org.id)
        row.settings = {"contact_gap_days": {"high": 7}}
    assert await _check_on(client.app.state.db_config, 29) == 0
    assert await _check_on(client.app.state.db_config, 31) == 1
    headers = await login(client, "coord")
    got = await client.get("/api/v1/org/rules", headers=headers)
    assert got.json()["contact_gap_days"] == {"high": 7, "medium": 30, "low": 60}
