"""Visits and plans follow sight at once, not at the next 30-minute `follow_sight` run: a hand-over
that moves a plan to someone who may not see its resident, and a legal basis that lets the assigned
person see the resident again, re-check the assignees in the same request."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from domain.access import who_may_see
from domain.clock import clock, utcnow
from domain.enums import AlertStatus, ConsentRecipient, Role, VisitStatus
from domain.models import Alert, Visit, VisitPlan
from schedules.reassignment import NOBODY_CAN_VISIT
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


async def test_hand_over_never_leaves_a_plan_with_someone_who_may_not_see_the_resident(client, db) -> None:
    """The outgoing commissioner's plans of residents of their district (seen by district, not by
    assignment) go to the incoming person, who serves another district: they must not keep them."""
    clock.set(NOW)
    now = utcnow()
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        old = await make_user(s, org, Role.COMMISSIONER, "old", districts=[east])
        new = await make_user(s, org, Role.COMMISSIONER, "new", districts=[west])
        assigned = await make_resident(s, org, east, name="割当 あり")
        by_district = await make_resident(s, org, east, name="地区 のみ", address="東1-1")
        for r in (assigned, by_district):
            await give_consent(s, r, ConsentRecipient.DISTRICT_COMMISSIONER)
        await assign(s, assigned, old)  # `by_district` is old's by district only
        plan = VisitPlan(
            org_id=org.id,
            resident_id=by_district.id,
            assignee_id=old.id,
            rrule="FREQ=WEEKLY",
            starts_on=date(2026, 11, 1),
            window_start=time(9),
        )
        s.add(plan)
        await s.flush()
        visit = Visit(
            org_id=org.id,
            plan_id=plan.id,
            occurrence_key="2026-11-27",
            resident_id=by_district.id,
            assignee_id=old.id,
            due_start=now + timedelta(days=7),
            due_end=now + timedelta(days=8),
        )
        s.add(visit)
        await s.flush()
        ids = {"old": old.id, "new": new.id, "plan": plan.id, "visit": visit.id, "r": by_district.id}
    coord = await login(client, "coord")
    response = await client.post(
        "/api/v1/assignments/hand-over",
        json={"from_user_id": ids["old"], "to_user_id": ids["new"], "reason": "任期満了による交代"},
        headers=coord,
    )
    assert response.status_code == 200, response.text
    async with db() as s:
        plan = await s.get(VisitPlan, ids["plan"])
        visit = await s.get(Visit, ids["visit"])
        assignees = {plan.assignee_id, visit.assignee_id}
        seeing = await who_may_see(s, {(a, ids["r"]) for a in assignees if a})
    # Every assignee may see the resident (or there is none and coordinators are told).
    assert all(a is None or (a, ids["r"]) in seeing for a in assignees), assignees


async def test_recording_a_legal_basis_gives_the_orphaned_visits_back_at_once(client, db) -> None:
    """Withdrawing the commissioner consent orphans the visits (nobody_can_visit alert); a legal
    basis recorded next lets the assigned commissioner see the resident again: the visits go back
    to them and the alert closes, as giving consent again would do."""
    clock.set(NOW)
    now = utcnow()
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        comm = await make_user(s, org, Role.COMMISSIONER, "comm", districts=[district])
        resident = await make_resident(s, org, district)
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await assign(s, resident, comm)
        visit = Visit(
            org_id=org.id,
            occurrence_key="x",
            resident_id=resident.id,
            assignee_id=comm.id,
            due_start=now + timedelta(days=3),
            due_end=now + timedelta(days=4),
            status=VisitStatus.PLANNED,
        )
        s.add(visit)
        await s.flush()
        ids = {"r": resident.id, "comm": comm.id, "visit": visit.id}
    coord = await login(client, "coord")
    url = f"/api/v1/residents/{ids['r']}"
    withdrawn = await client.post(f"{url}/consents/district_commissioner/withdraw", json={}, headers=coord)
    assert withdrawn.status_code == 200, withdrawn.text
    async with db() as s:
        assert (await s.get(Visit, ids["visit"])).assignee_id is None  # orphaned at once
        assert (await s.scalars(select(Alert.status).where(Alert.kind == NOBODY_CAN_VISIT))).all() == [
            AlertStatus.OPEN
        ]
    basis = await client.post(
        f"{url}/legal-bases",
        json={"basis": "council_confidentiality", "recipient": "district_commissioner", "note": "協議会"},
        headers=coord,
    )
    assert basis.status_code == 201, basis.text
    async with db() as s:
        assert (await s.get(Visit, ids["visit"])).assignee_id == ids["comm"]
        assert (await s.scalars(select(Alert.status).where(Alert.kind == NOBODY_CAN_VISIT))).all() == [
            AlertStatus.RESOLVED
        ]
