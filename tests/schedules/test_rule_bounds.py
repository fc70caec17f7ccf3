"""One organisation's rules never stop another organisation's alerts: the alert rules have bounds,
rules stored before the bounds are read within them, and a job that fails for one organisation
goes on with the next."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from domain.clock import clock
from domain.enums import AlertSeverity, ConsentRecipient, RiskLevel, Role
from domain.models import Alert, Organisation
from schedules import alerting, jobs, plans
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 10:00 JST
MISSED = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # Tuesday 17:00 JST: Monday's visit alerts (grace 24 h)


async def _org_with_a_weekly_visit(db, name: str):
    async with db() as session:
        org = await make_org(session, name)
        district = await make_district(session, org)
        coord = await make_user(session, org, Role.COORDINATOR, f"coord-{name}")
        vol = await make_user(session, org, Role.VOLUNTEER, f"vol-{name}")
        resident = await make_resident(session, org, district, risk_level=RiskLevel.HIGH)
        await give_consent(session, resident, ConsentRecipient.VOLUNTEERS)
        await assign(session, resident, vol)
        await plans.create_plan(
            session,
            org,
            resident,
            {
                "rrule": "FREQ=WEEKLY;BYDAY=MO",
                "starts_on": date(2026, 11, 9),
                "window_start": time(10),
                "window_end": time(16),
                "window_days": 1,
                "assignee_id": vol.id,
            },
            coord.id,
        )
        return org, resident


async def _alerts_of(db, resident) -> list[Alert]:
    async with db() as session:
        return list(await session.scalars(select(Alert).where(Alert.resident_id == resident.id)))


async def _store_rules(db, org: Organisation, **rules) -> None:
    """Rules as an older release let a coordinator store them."""
    async with db() as session:
        row = await session.get_one(Organisation, org.id)
        row.settings = {**(row.settings or {}), **rules}


@pytest.mark.parametrize(
    ("body", "field", "ja", "en"),
    [
        (
            {"escalation_hours": [100_000_000]},
            "escalation_hours.0",
            "1以上720以下の値にしてください。",
            "Must be between 1 and 720.",
        ),
        (
            {"escalation_hours": [4, 8, 721]},
            "escalation_hours.2",
            "1以上720以下の値にしてください。",
            "Must be between 1 and 720.",
        ),
        (
            {"contact_gap_days": {"high": 1_000_000}},
            "contact_gap_days.high",
            "1以上3650以下の値にしてください。",
            "Must be between 1 and 3650.",
        ),
        (
            {"contact_gap_days": {"medium": -5}},
            "contact_gap_days.medium",
            "1以上3650以下の値にしてください。",
            "Must be between 1 and 3650.",
        ),
        (
            {"contact_gap_days": {"low": 0}},
            "contact_gap_days.low",
            "1以上3650以下の値にしてください。",
            "Must be between 1 and 3650.",
        ),
        (
            {"grace_hours": 1000},
            "grace_hours",
            "0以上336以下の値にしてください。",
            "Must be between 0 and 336.",
        ),
    ],
)
async def test_alert_rules_out_of_range_are_refused_naming_the_field(db, client, body, field, ja, en) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COORDINATOR, "coord")
    headers = await login(client, "coord")
    for locale, message in (("ja", ja), ("en", en)):
        response = await client.patch(
            "/api/v1/org/rules", json=body, headers={**headers, "Accept-Language": locale}
        )
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert (error["field"], error["message"]) == (field, message)
    rules = (await client.get("/api/v1/org/rules", headers=headers)).json()
    assert rules["escalation_hours"] == [4, 8, 24]
    assert rules["contact_gap_days"] == {"high": 14, "medium": 30, "low": 60}
    assert rules["grace_hours"] == 24


async def test_the_largest_rules_allowed_still_alert(db, client) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COORDINATOR, "coord")
    headers = await login(client, "coord")
    response = await client.patch(
        "/api/v1/org/rules",
        json={
            "escalation_hours": [1, 719, 720],
            "contact_gap_days": {"high": 1, "medium": 3650, "low": 3650},
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["escalation_hours"] == [1, 719, 720]


async def test_escalation_hours_stored_out_of_range_stop_no_missed_visit_alert(db, client) -> None:
    """Rules stored by an older release (10^8 hours) made the sweep overflow on that organisation's
    first missed visit, rolling back every organisation's due visits every minute."""
    clock.set(NOW)
    bad_org, bad_resident = await _org_with_a_weekly_visit(db, "bad")
    _good_org, good_resident = await _org_with_a_weekly_visit(db, "good")
    await _store_rules(db, bad_org, escalation_hours=[100_000_000])
    clock.set(MISSED)
    await jobs.sweep(client.app.state.db_config)
    assert len(await _alerts_of(db, good_resident)) == 1
    # The organisation with the broken rule is alerted too, its ladder read at the 720-hour bound.
    (bad_alert,) = await _alerts_of(db, bad_resident)
    assert bad_alert.next_escalation_at == bad_alert.opened_at + timedelta(hours=720)


async def test_contact_gap_days_stored_out_of_range_stop_no_other_organisations_gap_alerts(
    db, client
) -> None:
    clock.set(NOW)
    async with db() as session:
        orgs = sorted(
            [await make_org(session, "first"), await make_org(session, "second")], key=lambda o: o.id
        )
        bad, good = orgs  # the broken one comes first in the job's order
        await make_resident(session, bad, await make_district(session, bad), risk_level=RiskLevel.HIGH)
        resident = await make_resident(
            session, good, await make_district(session, good), risk_level=RiskLevel.HIGH
        )
    await _store_rules(db, bad, contact_gap_days={"high": 1_000_000, "medium": 30, "low": 60})
    clock.set(NOW + timedelta(days=20))
    await jobs.detect_contact_gaps(client.app.state.db_config)
    assert len(await _alerts_of(db, resident)) == 1


async def test_a_gap_check_failing_for_one_organisation_goes_on_with_the_next(
    db, client, monkeypatch, caplog
) -> None:
    clock.set(NOW)
    async with db() as session:
        bad, good = sorted(
            [await make_org(session, "first"), await make_org(session, "second")], key=lambda o: o.id
        )
        await make_resident(session, bad, await make_district(session, bad), risk_level=RiskLevel.HIGH)
        resident = await make_resident(
            session, good, await make_district(session, good), risk_level=RiskLevel.HIGH
        )
    real = alerting.raise_alert

    async def failing_for_bad(session, org, **kwargs):
        if org.id == bad.id:
            raise ValueError(f"something about {kwargs['resident'].name}")
        return await real(session, org, **kwargs)

    monkeypatch.setattr(alerting, "raise_alert", failing_for_bad)
    clock.set(NOW + timedelta(days=20))
    with caplog.at_level(logging.ERROR, logger="mimamori.schedules"):
        assert await jobs.detect_contact_gaps(client.app.state.db_config) >= 1
    assert len(await _alerts_of(db, resident)) == 1
    (line,) = [r.getMessage() for r in caplog.records if r.name == "mimamori.schedules"]
    assert f"org={bad.id}" in line and "error=ValueError" in line and "something" not in line


async def test_a_visit_sweep_failing_for_one_organisation_still_alerts_the_others(
    db, client, monkeypatch
) -> None:
    clock.set(NOW)
    bad_org, _ = await _org_with_a_weekly_visit(db, "bad")
    _good_org, good_resident = await _org_with_a_weekly_visit(db, "good")
    real = jobs.ladder.walk_many

    async def failing_for_bad(session, visits, by_org, now):
        if bad_org.id in by_org:
            raise OverflowError("date value out of range")
        return await real(session, visits, by_org, now)

    monkeypatch.setattr(jobs.ladder, "walk_many", failing_for_bad)
    clock.set(MISSED)
    await jobs.sweep(client.app.state.db_config)
    assert len(await _alerts_of(db, good_resident)) == 1


async def test_escalations_run_when_the_visit_sweep_fails(db, client, monkeypatch) -> None:
    clock.set(NOW)
    _org, resident = await _org_with_a_weekly_visit(db, "town")
    db_config = client.app.state.db_config
    clock.set(MISSED)
    await jobs.sweep(db_config)
    (alert,) = await _alerts_of(db, resident)

    async def broken(*_args, **_kwargs):
        raise RuntimeError("the visit sweep broke")

    monkeypatch.setattr(jobs, "sweep_visits", broken)
    clock.set(MISSED + timedelta(hours=25))
    with pytest.raises(RuntimeError):
        await jobs.sweep(db_config)
    (alert,) = await _alerts_of(db, resident)
    assert alert.escalation_level == 3 and alert.severity == AlertSeverity.URGENT
