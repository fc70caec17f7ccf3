"""Pausing or ending a resident cancels their visits ahead at once; resuming plans them again
(issue #10, finding 3). The commissioner's phone sees both on its next pull."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from domain.clock import clock
from domain.enums import (
    AlertResolution,
    AlertSeverity,
    AlertStatus,
    ConsentRecipient,
    ResidentStatus,
    Role,
    VisitStatus,
)
from domain.models import Alert, Notification, Resident
from schedules import jobs, plans
from schedules.recurrence import is_holiday
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import visits_of
from tests.sync.device import Device

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 9 Nov, 10:00 JST


async def _town(db):
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        coord = await make_user(session, org, Role.COORDINATOR, "coord")
        resident = await make_resident(session, org, district)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        fields = {
            "rrule": "FREQ=DAILY",
            "starts_on": date(2026, 11, 9),
            "window_start": time(9),
            "window_end": time(18),
            "window_days": 1,
            "assignee_id": comm.id,
        }
        await plans.create_plan(session, org, resident, fields, coord.id)
    return resident


def _phone_visits(phone: Device) -> dict[str, str]:
    return {v["id"]: v["status"] for v in phone.records()["visits"].values()}


async def test_pausing_cancels_visits_ahead_on_the_phone_and_resuming_plans_them_again(client, db) -> None:
    resident = await _town(db)
    phone = Device(client, await login(client, "comm"))
    coord = await login(client, "coord", device_id="office")
    await phone.pull()
    before = _phone_visits(phone)
    assert before and set(before.values()) == {"planned"}

    clock.set(NOW + timedelta(hours=1))  # 11:00 JST: today's visit is under way
    phone.headers, coord = await login(client, "comm"), await login(client, "coord", device_id="office")
    paused = await client.post(
        f"/api/v1/residents/{resident.id}/status", json={"status": "paused", "reason": "入院"}, headers=coord
    )
    assert paused.status_code == 200, paused.text
    await phone.pull()
    assert _phone_visits(phone) == dict.fromkeys(before, "cancelled")  # nothing left to visit

    clock.set(NOW + timedelta(days=3))  # back home on Thursday 12 Nov, 10:00 JST
    phone.headers, coord = await login(client, "comm"), await login(client, "coord", device_id="office")
    resumed = await client.post(
        f"/api/v1/residents/{resident.id}/status", json={"status": "active"}, headers=coord
    )
    assert resumed.status_code == 200, resumed.text
    await phone.pull()
    planned = {i for i, status in _phone_visits(phone).items() if status == "planned"}
    async with db() as session:
        visits = {v.id: v for v in await visits_of(session, resident)}
    days = sorted(date.fromisoformat(visits[i].occurrence_key[:10]) for i in planned)
    assert days[0] == date(2026, 11, 12)  # from today on
    # One visit a day, except holidays and 年末年始, which shift onto the next working day's visit.
    local_days = sorted(visits[i].due_start.astimezone(JST).date() for i in planned)
    span = (local_days[-1] - local_days[0]).days + 1
    every_day = [local_days[0] + timedelta(days=n) for n in range(span)]
    assert local_days == [d for d in every_day if not is_holiday(d)]
    assert days[-1] >= date(2026, 11, 12) + timedelta(weeks=8, days=-1)  # the whole horizon again
    assert all(visits[i].status == VisitStatus.CANCELLED for i in before)  # the old ones stay cancelled


async def test_ending_a_resident_cancels_their_visits_ahead(client, db) -> None:
    resident = await _town(db)
    coord = await login(client, "coord", device_id="office")
    ended = await client.post(
        f"/api/v1/residents/{resident.id}/status", json={"status": "ended", "reason": "転居"}, headers=coord
    )
    assert ended.status_code == 200, ended.text
    async with db() as session:
        statuses = {v.status for v in await visits_of(session, resident)}
    assert statuses == {VisitStatus.CANCELLED}


async def _gap_alert_open(client, db, resident) -> Alert:
    """Nobody reached the resident for over a month: a contact-gap alert is open."""
    clock.set(NOW + timedelta(days=61))
    assert await jobs.detect_contact_gaps(client.app.state.db_config) == 1
    async with db() as session:
        return await session.scalar(select(Alert).where(Alert.resident_id == resident.id))


async def test_ending_a_resident_resolves_their_open_alerts_and_stops_them_climbing(client, db) -> None:
    """Moved away or died: the coordinators get no urgent re-send (through quiet hours) a day later
    about somebody nobody watches over any more; the alert shows why it closed."""
    resident = await _town(db)
    alert = await _gap_alert_open(client, db, resident)
    told = await _messages_about(db, alert)
    assert told
    coord = await login(client, "coord", device_id="office")
    ended = await client.post(
        f"/api/v1/residents/{resident.id}/status", json={"status": "ended", "reason": "転居"}, headers=coord
    )
    assert ended.status_code == 200, ended.text
    shown = await client.get(f"/api/v1/alerts/{alert.id}", headers=coord)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["status"], shown.json()["resolution"]) == ("resolved", "resident_ended")
    clock.set(NOW + timedelta(days=62, hours=1))
    await jobs.sweep(client.app.state.db_config)
    async with db() as session:
        row = await session.get_one(Alert, alert.id)
    assert (row.escalation_level, row.severity) == (0, AlertSeverity.NORMAL)
    assert await _messages_about(db, alert) == told


async def _messages_about(db, alert: Alert) -> int:
    async with db() as session:
        return await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.alert_id == alert.id)
        )


async def test_an_alert_of_a_resident_ended_earlier_resolves_instead_of_climbing(client, db) -> None:
    """Ended before ending resolved alerts (or at the same moment as a new alert): the escalation
    job closes the alert as resident ended instead of sending it one rung up."""
    resident = await _town(db)
    alert = await _gap_alert_open(client, db, resident)
    async with db() as session:
        (await session.get_one(Resident, resident.id)).status = ResidentStatus.ENDED
    clock.set(NOW + timedelta(days=62, hours=1))
    await jobs.escalate_alerts(client.app.state.db_config)
    async with db() as session:
        row = await session.get_one(Alert, alert.id)
    assert (row.status, row.resolution, row.escalation_level) == (
        AlertStatus.RESOLVED,
        AlertResolution.RESIDENT_ENDED,
        0,
    )
