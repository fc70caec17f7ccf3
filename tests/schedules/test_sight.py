"""Messages follow consent, and visits follow sight (issue 8): every message naming a resident reaches
only people who may see the resident at that moment; the coordinators receive what nobody else in
the chain may see; assignees who lose sight are replaced by the next person who can visit (primary,
then backup) or the coordinators are told that nobody can; a plan refuses an assignee who cannot
see its resident (422)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from domain.clock import clock, utcnow
from domain.enums import (
    AlertResolution,
    AssignmentRole,
    ConsentRecipient,
    ConsentStatus,
    ContactOutcome,
    Role,
    VisitStatus,
)
from domain.models import Alert, AlertEvent, Consent, Device, Notification, User, Visit, VisitPlan
from schedules import alerting, campaigns, jobs, plans
from schedules.reassignment import NOBODY_CAN_VISIT
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 10:00 JST


@dataclass
class Town:
    org: object
    district: object
    coord: User
    comm: User  # commissioner of the district
    comm2: User  # commissioner of the district, the resident's backup watcher
    vol: User  # volunteer, the resident's primary watcher
    resident: object  # consent for commissioners and volunteers
    plan_id: str


@pytest.fixture
async def town(db) -> Town:
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        coord = await make_user(session, org, Role.COORDINATOR, "coord")
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        comm2 = await make_user(session, org, Role.COMMISSIONER, "comm2", districts=[district])
        vol = await make_user(session, org, Role.VOLUNTEER, "vol")
        for user in (coord, comm, comm2, vol):
            session.add(
                Device(
                    org_id=org.id,
                    user_id=user.id,
                    client_id=f"p-{user.login}",
                    platform="ios",
                    push_token=f"t-{user.login}",
                    push_token_updated_at=utcnow(),
                )
            )
        resident = await make_resident(session, org, district)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(session, resident, ConsentRecipient.VOLUNTEERS)
        await assign(session, resident, vol)
        await assign(session, resident, comm2, AssignmentRole.BACKUP)
        plan = await plans.create_plan(
            session,
            org,
            resident,
            {
                "rrule": "FREQ=WEEKLY;BYDAY=WE",
                "starts_on": date(2026, 11, 9),
                "window_start": time(10),
                "window_end": time(16),
                "window_days": 1,
                "assignee_id": vol.id,
            },
            coord.id,
        )
    return Town(org, district, coord, comm, comm2, vol, resident, plan.id)


async def _withdraw_quietly(db, town: Town, *recipients: ConsentRecipient) -> None:
    """Consent changes in the database without any reaction having run yet (another process, or
    the moment between enqueue and send): every send must judge sight for itself."""
    async with db() as session:
        for consent in await session.scalars(
            select(Consent).where(Consent.resident_id == town.resident.id, Consent.recipient.in_(recipients))
        ):
            consent.status = ConsentStatus.WITHDRAWN


async def _told(db, kind: str) -> set[str]:
    async with db() as session:
        rows = await session.scalars(select(Notification.user_id).where(Notification.kind == kind))
        return set(rows.all())


async def test_emergency_reaches_no_commissioner_without_consent_but_the_coordinators(db, town) -> None:
    await _withdraw_quietly(db, town, ConsentRecipient.DISTRICT_COMMISSIONER)
    async with db() as session:
        await record_note(session, town.resident, town.vol, NOW, ContactOutcome.EMERGENCY)
    assert await _told(db, "alert.emergency") == {town.coord.id}
    async with db() as session:
        (alert,) = await session.scalars(select(Alert))
        notified = (
            await session.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert.id, AlertEvent.action == "notified")
            )
        ).one()
    # The history says whom the rule kept it from (ids only).
    assert set(notified.detail["withheld_user_ids"]) == {town.comm.id, town.comm2.id}


async def test_revisit_request_goes_to_the_next_visitor_when_the_author_lost_sight(db, town) -> None:
    # The volunteer recorded "no answer" offline; their consent was withdrawn before the note synced.
    await _withdraw_quietly(db, town, ConsentRecipient.VOLUNTEERS)
    async with db() as session:
        await record_note(session, town.resident, town.vol, NOW, ContactOutcome.NO_ANSWER)
    assert await _told(db, "visit.revisit") == {town.comm2.id}
    async with db() as session:
        revisit = await session.scalar(select(Visit).where(Visit.kind == "revisit"))
    assert revisit.assignee_id == town.comm2.id


async def test_pause_notice_reaches_only_those_who_may_see(db, town) -> None:
    await _withdraw_quietly(db, town, ConsentRecipient.DISTRICT_COMMISSIONER)
    async with db() as session:
        await record_note(session, town.resident, town.vol, NOW, ContactOutcome.REFUSED)
    assert await _told(db, "plan.paused") == {town.coord.id}


async def test_reminders_go_to_a_visitor_who_may_see(db, db_config, town) -> None:
    await _withdraw_quietly(db, town, ConsentRecipient.VOLUNTEERS)
    clock.set(datetime(2026, 11, 10, 9, 30, tzinfo=UTC))  # Tue 18:30 JST: the evening reminder is due
    await jobs.sweep_visits(db_config)
    assert await _told(db, "visit.reminder_evening") == {town.comm2.id}


async def test_escalation_nobody_on_the_rung_may_see_so_the_coordinators_receive_it(db, town) -> None:
    async with db() as session:
        org = await session.get_one(type(town.org), town.org.id)
        resident = await session.get_one(type(town.resident), town.resident.id)
        alert = await alerting.raise_alert(
            session,
            org,
            kind=alerting.MISSED_VISIT,
            cause_key="missed_visit:x",
            resident=resident,
            assignee_id=town.vol.id,
        )
        alert_id = alert.id
    # Rung 1 is the visitor and the district's commissioners; none of them may see the resident now.
    await _withdraw_quietly(db, town, ConsentRecipient.VOLUNTEERS, ConsentRecipient.DISTRICT_COMMISSIONER)
    clock.advance(timedelta(hours=5))
    async with db() as session:
        alert = await session.get_one(Alert, alert_id)
        await alerting.escalate(session, alert, await session.get_one(type(town.org), town.org.id))
    async with db() as session:
        escalations = set(
            (
                await session.scalars(
                    select(Notification.user_id).where(
                        Notification.alert_id == alert_id, Notification.created_at > NOW
                    )
                )
            ).all()
        )
    assert escalations == {town.coord.id}


async def test_false_alarm_and_resolution_notices_follow_sight(client, db, town) -> None:
    async with db() as session:
        org = await session.get_one(type(town.org), town.org.id)
        resident = await session.get_one(type(town.resident), town.resident.id)
        first = await alerting.raise_alert(
            session, org, kind=alerting.CONTACT_GAP, cause_key="contact_gap:a", resident=resident
        )
        second = await alerting.raise_alert(
            session, org, kind=alerting.CONTACT_GAP, cause_key="contact_gap:b", resident=resident
        )
        first_id, second_id = first.id, second.id
    assert await _told(db, "alert.contact_gap") == {town.vol.id, town.comm.id, town.comm2.id, town.coord.id}
    await _withdraw_quietly(db, town, ConsentRecipient.DISTRICT_COMMISSIONER)
    async with db() as session:
        alert = await session.get_one(Alert, first_id)
        await alerting.resolve_for_contact(
            session,
            alert,
            await session.get_one(type(town.org), town.org.id),
            AlertResolution.RECORDED_LATE,
            "n1",
        )
    assert await _told(db, "alert.false_alarm") == {town.vol.id, town.coord.id}
    headers = await login(client, "coord")
    response = await client.post(
        f"/api/v1/alerts/{second_id}/resolve", json={"resolution": "handled"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert await _told(db, "alert_resolved") == {town.vol.id}


async def test_safety_check_goes_to_the_visitor_who_may_see(db, town) -> None:
    await _withdraw_quietly(db, town, ConsentRecipient.VOLUNTEERS)
    async with db() as session:
        org = await session.get_one(type(town.org), town.org.id)
        campaign = await campaigns.start_campaign(
            session, org, title="地震", district_ids=[town.district.id], hours=24, actor_id=town.coord.id
        )
        visit = await session.scalar(select(Visit).where(Visit.campaign_id == campaign.id))
    assert visit.assignee_id == town.comm2.id
    assert await _told(db, "visit.safety_check") == {town.comm2.id}


# --- Visits and plans follow sight -----------------------------------------------------------------


async def _assignees(db, town: Town) -> tuple[str | None, set[str | None]]:
    async with db() as session:
        plan = await session.get_one(VisitPlan, town.plan_id)
        future = await session.scalars(
            select(Visit.assignee_id).where(
                Visit.resident_id == town.resident.id,
                Visit.status == VisitStatus.PLANNED,
                Visit.due_end > utcnow(),
            )
        )
        return plan.assignee_id, set(future.all())


async def _nobody_alerts(db) -> list[Alert]:
    async with db() as session:
        return list(await session.scalars(select(Alert).where(Alert.kind == NOBODY_CAN_VISIT)))


async def test_withdrawn_consent_moves_visits_to_the_backup_then_nobody_can_visit(
    client, db, db_config, town
):
    assert await _assignees(db, town) == (town.vol.id, {town.vol.id})
    headers = await login(client, "coord")
    base = f"/api/v1/residents/{town.resident.id}/consents"
    response = await client.post(f"{base}/volunteers/withdraw", headers=headers)
    assert response.status_code == 200, response.text
    # At once, in the same request: the backup who may see the resident takes over.
    assert await _assignees(db, town) == (town.comm2.id, {town.comm2.id})
    assert await _nobody_alerts(db) == []

    response = await client.post(f"{base}/district_commissioner/withdraw", headers=headers)
    assert response.status_code == 200, response.text
    assert await _assignees(db, town) == (None, {None})
    (alert,) = await _nobody_alerts(db)
    assert await _told(db, f"alert.{NOBODY_CAN_VISIT}") == {town.coord.id}
    # Running it all again (the periodic job) raises nothing twice and moves nothing.
    assert await jobs.follow_sight(db_config) == 0
    assert [a.id for a in await _nobody_alerts(db)] == [alert.id]
    # Consent given again: somebody assigned (the backup) can visit, so the alert is over.
    response = await client.put(f"{base}/district_commissioner", json={"status": "given"}, headers=headers)
    assert response.status_code == 200, response.text
    (alert,) = await _nobody_alerts(db)
    assert alert.status == "resolved" and alert.resolution == "handled"


async def test_consent_expiring_overnight_is_caught_by_the_periodic_job(db, db_config, town) -> None:
    async with db() as session:
        consent = await session.scalar(
            select(Consent).where(Consent.recipient == ConsentRecipient.VOLUNTEERS)
        )
        consent.expires_on = date(2026, 11, 10)
    clock.set(NOW + timedelta(days=1))
    assert await jobs.follow_sight(db_config) == 0  # still valid on the 10th
    clock.set(NOW + timedelta(days=2))  # the 11th: expired
    moved = await jobs.follow_sight(db_config)
    assert moved > 0
    assert await _assignees(db, town) == (town.comm2.id, {town.comm2.id})
    assert await jobs.follow_sight(db_config) == 0  # idempotent


async def test_ending_the_assignment_moves_visits(client, db, town) -> None:
    async with db() as session:
        from domain.models import Assignment

        assignment_id = await session.scalar(select(Assignment.id).where(Assignment.user_id == town.vol.id))
    headers = await login(client, "coord")
    response = await client.post(
        f"/api/v1/assignments/{assignment_id}/end", json={"reason": "転居"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert await _assignees(db, town) == (town.comm2.id, {town.comm2.id})


async def test_district_change_and_deactivation_move_visits(client, db, town) -> None:
    headers = await login(client, "coord")
    # The district's commissioner (not assigned) holds the plan through the district.
    response = await client.patch(
        f"/api/v1/plans/{town.plan_id}", json={"assignee_id": town.comm.id}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert await _assignees(db, town) == (town.comm.id, {town.comm.id})
    async with db() as session:
        other = await make_district(session, await session.get_one(type(town.org), town.org.id), "北地区")
        other_id = other.id
    response = await client.patch(
        f"/api/v1/users/{town.comm.id}", json={"district_ids": [other_id]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert await _assignees(db, town) == (town.vol.id, {town.vol.id})  # back to the primary

    response = await client.patch(
        f"/api/v1/users/{town.comm.id}", json={"district_ids": [town.district.id]}, headers=headers
    )
    assert response.status_code == 200
    response = await client.patch(
        f"/api/v1/plans/{town.plan_id}", json={"assignee_id": town.comm.id}, headers=headers
    )
    assert response.status_code == 200, response.text
    response = await client.patch(f"/api/v1/users/{town.comm.id}", json={"active": False}, headers=headers)
    assert response.status_code == 200, response.text
    assert await _assignees(db, town) == (town.vol.id, {town.vol.id})


async def test_a_plan_whose_assignee_cannot_see_the_resident_is_refused_422(client, db, town) -> None:
    async with db() as session:
        outsider = await make_user(
            session, await session.get_one(type(town.org), town.org.id), Role.VOLUNTEER, "vol2"
        )
        outsider_id = outsider.id
    headers = {**await login(client, "coord"), "Accept-Language": "en"}
    body = {"resident_id": town.resident.id, "rrule": "FREQ=WEEKLY;BYDAY=TU", "assignee_id": outsider_id}
    response = await client.post("/api/v1/plans", json=body, headers=headers)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "assignee_id" and error["code"] == "sight.not_assigned"
    assert "not assigned" in error["message"]

    await _withdraw_quietly(db, town, ConsentRecipient.VOLUNTEERS)
    response = await client.patch(
        f"/api/v1/plans/{town.plan_id}", json={"assignee_id": town.vol.id}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "sight.no_consent"
    # Nothing changed.
    async with db() as session:
        assert await session.scalar(select(VisitPlan.id).where(VisitPlan.assignee_id == outsider_id)) is None


async def test_sight_is_asked_again_after_a_write_in_the_same_unit_of_work(db, town) -> None:
    from domain.access import who_may_see

    pair = (town.vol.id, town.resident.id)
    async with db() as session:
        assert await who_may_see(session, [pair]) == {pair}
        consent = await session.scalar(
            select(Consent).where(Consent.recipient == ConsentRecipient.VOLUNTEERS)
        )
        consent.status = ConsentStatus.WITHDRAWN  # not flushed yet
        assert await who_may_see(session, [pair]) == set()
        consent.status = ConsentStatus.GIVEN
        await session.flush()
        assert await who_may_see(session, [pair]) == {pair}
        await session.execute(
            Consent.__table__.update()
            .where(Consent.__table__.c.id == consent.id)
            .values(status=ConsentStatus.WITHDRAWN.value, feed_seq=consent.feed_seq + 1000)
        )
        assert await who_may_see(session, [pair]) == set()


async def test_resident_moving_district_moves_the_visits_of_that_districts_commissioner(
    client, db, town
) -> None:
    headers = await login(client, "coord")
    response = await client.patch(
        f"/api/v1/plans/{town.plan_id}", json={"assignee_id": town.comm.id}, headers=headers
    )
    assert response.status_code == 200, response.text
    async with db() as session:
        other = await make_district(session, await session.get_one(type(town.org), town.org.id), "南地区")
        other_id = other.id
    response = await client.patch(
        f"/api/v1/residents/{town.resident.id}", json={"district_id": other_id}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert await _assignees(db, town) == (town.vol.id, {town.vol.id})
