"""Every visit has someone who can make it (issue 10, item 2): a plan's assignee defaults to the
resident's primary watcher; a plan nobody who may see the resident can make is refused 422 saying
why; plans and visits stored without an assignee are given one, or the coordinators get exactly one
`nobody_can_visit` alert per resident, however often and in however many processes the job runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from domain.clock import clock, utcnow
from domain.db import create_db_config
from domain.enums import AssignmentRole, ConsentRecipient, Role, VisitStatus
from domain.models import Alert, Notification, Organisation, Resident, User, Visit, VisitPlan
from schedules import jobs, plans, reassignment
from schedules.reassignment import NOBODY_CAN_VISIT
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 10:00 JST


@dataclass
class Town:
    org_id: str
    coord: User
    comm: User  # the district's commissioner, assigned to nobody
    vol: User  # primary watcher of `watched`
    vol2: User  # primary watcher of `unseen`, whose consent does not cover volunteers
    watched: Resident  # consent for volunteers and commissioners, primary: vol
    alone: Resident  # consent for commissioners, nobody assigned
    unseen: Resident  # consent for commissioners only, primary: vol2 (who may not see them)


@pytest.fixture
async def town(db) -> Town:
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        coord = await make_user(session, org, Role.COORDINATOR, "coord")
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        vol = await make_user(session, org, Role.VOLUNTEER, "vol", locale="en")
        vol2 = await make_user(session, org, Role.VOLUNTEER, "vol2")
        watched = await make_resident(session, org, district, name="見守 一郎")
        alone = await make_resident(session, org, district, name="孤立 二郎")
        unseen = await make_resident(session, org, district, name="非開示 三郎")
        for resident in (watched, alone, unseen):
            await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(session, watched, ConsentRecipient.VOLUNTEERS)
        await assign(session, watched, vol)
        await assign(session, unseen, vol2)
    return Town(org.id, coord, comm, vol, vol2, watched, alone, unseen)


async def _legacy_plan(db, resident: Resident) -> str:
    """A plan as the landed code stored it: no assignee, its visits expanded with none."""
    async with db() as session:
        org = await session.get_one(Organisation, resident.org_id)
        plan = VisitPlan(
            org_id=org.id,
            resident_id=resident.id,
            rrule="FREQ=WEEKLY;BYDAY=WE",
            starts_on=date(2026, 11, 9),
            window_start=time(10),
            window_end=time(16),
            revision=1,
        )
        session.add(plan)
        await session.flush()
        assert await plans.expand_plan(session, plan, org, utcnow()) > 0
        return plan.id


async def _assignees(db, plan_id: str) -> tuple[str | None, set[str | None]]:
    async with db() as session:
        plan = await session.get_one(VisitPlan, plan_id)
        future = await session.scalars(
            select(Visit.assignee_id).where(
                Visit.plan_id == plan_id, Visit.status == VisitStatus.PLANNED, Visit.due_end > utcnow()
            )
        )
        return plan.assignee_id, set(future.all())


async def _nobody_alerts(db) -> dict[str, list[Alert]]:
    async with db() as session:
        found: dict[str, list[Alert]] = {}
        for alert in await session.scalars(
            select(Alert).where(Alert.kind == NOBODY_CAN_VISIT).order_by(Alert.opened_at, Alert.id)
        ):
            found.setdefault(alert.resident_id, []).append(alert)
        return found


# --- A new plan gets somebody who can make it ------------------------------------------------------


async def test_a_plan_without_assignee_goes_to_the_residents_primary_watcher(client, db, town) -> None:
    headers = await login(client, "coord")
    body = {"resident_id": town.watched.id, "rrule": "FREQ=WEEKLY;BYDAY=WE"}
    response = await client.post("/api/v1/plans", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["assignee_id"] == town.vol.id
    assert await _assignees(db, response.json()["id"]) == (town.vol.id, {town.vol.id})
    # The visits are in the volunteer's own schedule; another volunteer sees none of them.
    mine = await client.get("/api/v1/me/visits", headers=await login(client, "vol", device_id="v"))
    assert mine.status_code == 200 and {v["resident"]["id"] for v in mine.json()} == {town.watched.id}
    other = await client.get("/api/v1/me/visits", headers=await login(client, "vol2", device_id="v2"))
    assert other.status_code == 200 and other.json() == []


async def test_a_plan_nobody_can_make_is_refused_saying_why(client, db, town) -> None:
    headers = await login(client, "coord")
    english = {**headers, "Accept-Language": "en"}
    alone = {"resident_id": town.alone.id, "rrule": "FREQ=WEEKLY;BYDAY=WE"}

    response = await client.post("/api/v1/plans", json=alone, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "plan.no_assignee"
    (error,) = problem["errors"]
    assert error["field"] == "assignee_id" and error["code"] == "plan.no_assignee"
    assert "担当者が割り当てられていない" in error["message"]  # Japanese by default
    response = await client.post("/api/v1/plans", json=alone, headers=english)
    assert "no one is assigned to this resident" in response.json()["errors"][0]["message"]

    # The primary watcher is a volunteer whom the resident's consent does not cover.
    unseen = {"resident_id": town.unseen.id, "rrule": "FREQ=WEEKLY;BYDAY=WE"}
    response = await client.post("/api/v1/plans", json=unseen, headers=english)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "plan.default_assignee_cannot_see"
    assert "may not see the resident" in problem["title"]
    (error,) = problem["errors"]
    assert error["field"] == "assignee_id" and error["code"] == "sight.no_consent"
    assert "no consent" in error["message"]
    async with db() as session:
        assert await session.scalar(select(func.count(VisitPlan.id))) == 0

    # Naming somebody who may see the resident (the district's commissioner) works.
    response = await client.post(
        "/api/v1/plans", json={**unseen, "assignee_id": town.comm.id}, headers=headers
    )
    assert response.status_code == 201, response.text


async def test_patching_the_assignee_to_null_returns_the_plan_to_the_primary_or_is_refused(
    client, db, town
) -> None:
    headers = await login(client, "coord")
    body = {"resident_id": town.watched.id, "rrule": "FREQ=WEEKLY;BYDAY=WE", "assignee_id": town.comm.id}
    created = await client.post("/api/v1/plans", json=body, headers=headers)
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    assert await _assignees(db, plan_id) == (town.comm.id, {town.comm.id})
    response = await client.patch(f"/api/v1/plans/{plan_id}", json={"assignee_id": None}, headers=headers)
    assert response.status_code == 200, response.text
    assert await _assignees(db, plan_id) == (town.vol.id, {town.vol.id})

    # A plan of a resident nobody is assigned to cannot be left without its assignee.
    created = await client.post("/api/v1/plans", json={**body, "resident_id": town.alone.id}, headers=headers)
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    response = await client.patch(f"/api/v1/plans/{plan_id}", json={"assignee_id": None}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "plan.no_assignee"
    # Nor given to the volunteer who may not see the resident.
    response = await client.patch(
        f"/api/v1/plans/{plan_id}", json={"assignee_id": town.vol2.id}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "sight.not_assigned"
    assert await _assignees(db, plan_id) == (town.comm.id, {town.comm.id})


# --- Plans stored without an assignee are repaired -------------------------------------------------


async def test_orphans_get_the_primary_or_one_alert_per_resident(client, db, db_config, town) -> None:
    watched = await _legacy_plan(db, town.watched)
    alone = await _legacy_plan(db, town.alone)
    unseen = await _legacy_plan(db, town.unseen)
    assert await _assignees(db, watched) == (None, {None})

    moved = await jobs.follow_sight(db_config)
    assert await _assignees(db, watched) == (town.vol.id, {town.vol.id})
    assert moved == 1 + await _visit_count(db, watched)  # the plan and each of its visits
    assert await _assignees(db, alone) == (None, {None})
    assert await _assignees(db, unseen) == (None, {None})
    alerts = await _nobody_alerts(db)
    assert set(alerts) == {town.alone.id, town.unseen.id}
    assert all(len(found) == 1 and found[0].status == "open" for found in alerts.values())
    async with db() as session:
        told = list(
            await session.scalars(
                select(Notification).where(Notification.kind == f"alert.{NOBODY_CAN_VISIT}")
            )
        )
    # The coordinators only, once per resident, in words that fit: nobody was ever assigned.
    assert sorted((n.user_id, n.resident_id) for n in told) == sorted(
        [(town.coord.id, town.alone.id), (town.coord.id, town.unseen.id)]
    )
    assert all("訪問計画に担当者がいない" in n.body for n in told)

    # The job again, twice at once, and the request path too: nothing moves, nothing is raised twice.
    assert await jobs.follow_sight(db_config) == 0
    await asyncio.gather(jobs.follow_sight(db_config), jobs.follow_sight(db_config))
    async with db() as session:
        await reassignment.follow_sight(session, [town.alone.id, town.unseen.id])
    assert {k: [a.id for a in v] for k, v in (await _nobody_alerts(db)).items()} == {
        k: [a.id for a in v] for k, v in alerts.items()
    }

    # Somebody is assigned to the lone resident: the orphans go to them at once and the alert is over.
    headers = await login(client, "coord")
    response = await client.post(
        f"/api/v1/residents/{town.alone.id}/assignments", json={"user_id": town.comm.id}, headers=headers
    )
    assert response.status_code == 201, response.text
    assert await _assignees(db, alone) == (town.comm.id, {town.comm.id})
    (closed,) = (await _nobody_alerts(db))[town.alone.id]
    assert closed.status == "resolved" and closed.resolution == "handled"
    (still,) = (await _nobody_alerts(db))[town.unseen.id]
    assert still.status == "open"


async def _visit_count(db, plan_id: str) -> int:
    async with db() as session:
        return int(
            await session.scalar(
                select(func.count(Visit.id)).where(
                    Visit.plan_id == plan_id, Visit.status == VisitStatus.PLANNED, Visit.due_end > utcnow()
                )
            )
            or 0
        )


async def test_an_orphan_plan_goes_to_a_backup_when_the_primary_may_not_see(db, db_config, town) -> None:
    async with db() as session:
        await assign(
            session, await session.get_one(Resident, town.unseen.id), town.comm, AssignmentRole.BACKUP
        )
    plan_id = await _legacy_plan(db, town.unseen)
    await jobs.follow_sight(db_config)
    assert await _assignees(db, plan_id) == (town.comm.id, {town.comm.id})
    assert await _nobody_alerts(db) == {}


async def test_a_coordinator_who_resolved_the_alert_is_told_again_while_nobody_can_visit(
    db, db_config, town
) -> None:
    """The alert is true while the visits have nobody: resolving it by hand without assigning
    anybody does not make the next run forget the resident."""
    from domain import alerts as alert_lifecycle

    await _legacy_plan(db, town.alone)
    await jobs.follow_sight(db_config)
    async with db() as session:
        (alert,) = await session.scalars(select(Alert).where(Alert.kind == NOBODY_CAN_VISIT))
        await alert_lifecycle.resolve(session, alert, "handled", actor_id=town.coord.id)
    await jobs.follow_sight(db_config)
    await jobs.follow_sight(db_config)
    found = (await _nobody_alerts(db))[town.alone.id]
    # the resolved one stays resolved and one new alert is open (both opened at the frozen clock's
    # moment, so the order of opening cannot tell them apart)
    assert sorted((a.id == alert.id, a.status) for a in found) == [(False, "open"), (True, "resolved")]


async def test_two_workers_and_a_request_at_once_raise_one_alert_per_resident(db, settings, town) -> None:
    plan_ids = [await _legacy_plan(db, town.alone), await _legacy_plan(db, town.unseen)]
    first = create_db_config(settings.model_copy(update={"db_pool_disabled": False}))
    second = create_db_config(settings.model_copy(update={"db_pool_disabled": False}))

    async def request_path() -> None:
        async with db() as session:
            await reassignment.follow_sight(session, [town.alone.id, town.unseen.id])

    try:
        await asyncio.gather(
            jobs.follow_sight(first, batch=1),
            jobs.follow_sight(second, batch=1),
            request_path(),
            jobs.follow_sight(first),
        )
    finally:
        await first.get_engine().dispose()
        await second.get_engine().dispose()
    alerts = await _nobody_alerts(db)
    assert {k: len(v) for k, v in alerts.items()} == {town.alone.id: 1, town.unseen.id: 1}
    for plan_id in plan_ids:
        assert await _assignees(db, plan_id) == (None, {None})
