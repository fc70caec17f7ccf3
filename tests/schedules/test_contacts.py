"""The contact-recorded listener on its own: idempotent, earliest open visit, late notes, outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

import domain.events
from domain.clock import clock, utcnow
from domain.enums import (
    ConsentRecipient,
    ContactMethod,
    ContactOutcome,
    ResidentStatus,
    Role,
    VisitKind,
    VisitStatus,
)
from domain.events import contact_recorded
from domain.models import Alert, Delivery, Device, Notification, Organisation, Visit
from schedules import jobs, plans
from schedules.contacts import handle_contact
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note, visits_of

NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 10:00 JST


async def _town(db, **plan_fields):
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        comm = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        coord = await make_user(session, org, Role.COORDINATOR, "coord")
        for user in (comm, coord):
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
        fields = {
            "rrule": "FREQ=DAILY",
            "starts_on": date(2026, 11, 9),
            "window_start": time(9),
            "window_end": time(18),
            "window_days": 3,
            "assignee_id": comm.id,
            **plan_fields,
        }
        await plans.create_plan(session, org, resident, fields, coord.id)
    return org, comm, coord, resident


def test_the_app_registers_the_listener() -> None:
    from api.app import create_app  # noqa: F401  (the app imports the schedules controllers)

    assert handle_contact in domain.events._note_listeners


async def test_a_note_fulfils_the_earliest_open_visit_and_running_twice_changes_nothing(db) -> None:
    _, comm, _, resident = await _town(db)
    async with db() as session:
        # Windows overlap (daily, three days long): 11 Nov 12:00 JST lies in the windows of 9, 10, 11 Nov.
        note = await record_note(
            session,
            resident,
            comm,
            datetime(2026, 11, 11, 3, 0, tzinfo=UTC),
            ContactOutcome.NO_ANSWER,
            ContactMethod.PHONE,
        )
        await contact_recorded(session, note)  # sync retried the push
    async with db() as session:
        visits = await visits_of(session, resident)
        done = [v for v in visits if v.status == VisitStatus.DONE]
        assert [v.occurrence_key for v in done] == ["2026-11-09/r1"]
        revisits = [v for v in visits if v.kind == VisitKind.REVISIT]
        assert len(revisits) == 1
        assert revisits[0].due_end - revisits[0].due_start == timedelta(hours=48)
        assert (
            len(list(await session.scalars(select(Notification).where(Notification.kind == "visit.revisit"))))
            == 1
        )


async def test_a_late_no_answer_gets_a_full_revisit_window_from_now(db) -> None:
    _, comm, _, resident = await _town(db)
    clock.set(NOW + timedelta(days=3))
    async with db() as session:
        await record_note(session, resident, comm, NOW, ContactOutcome.NO_ANSWER)
    async with db() as session:
        (revisit,) = [v for v in await visits_of(session, resident) if v.kind == VisitKind.REVISIT]
    assert revisit.due_start == NOW + timedelta(days=3) and revisit.due_end == NOW + timedelta(days=5)


async def test_emergency_at_night_is_pushed_at_once(db) -> None:
    _, comm, _, resident = await _town(db)
    night = datetime(2026, 11, 9, 14, 30, tzinfo=UTC)  # 23:30 JST
    clock.set(night)
    async with db() as session:
        await record_note(session, resident, comm, night, ContactOutcome.EMERGENCY)
    async with db() as session:
        (alert,) = await session.scalars(select(Alert))
        deliveries = list(await session.scalars(select(Delivery)))
    assert alert.kind == "emergency" and alert.severity == "urgent"
    assert deliveries and {d.next_attempt_at for d in deliveries} == {night}


async def test_paused_resident_is_not_chased(db, db_config) -> None:
    _, _, _, resident = await _town(db)
    async with db() as session:
        row = await session.get_one(type(resident), resident.id)
        row.status = ResidentStatus.PAUSED  # hospital, set by a coordinator
    clock.set(NOW + timedelta(days=10))
    await jobs.sweep(db_config)
    async with db() as session:
        assert list(await session.scalars(select(Alert))) == []
        statuses = {
            v.status
            for v in await session.scalars(select(Visit).where(Visit.due_end < NOW + timedelta(days=10)))
        }
    assert statuses == {VisitStatus.CANCELLED}


async def test_org_rules_validation(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COORDINATOR, "coord")
    headers = {**await login(client, "coord"), "Accept-Language": "en"}
    got = await client.get("/api/v1/org/rules", headers=headers)
    assert (
        got.json()["grace_hours"] == 24
        and got.json()["plan_defaults"]["high"]["rrule"] == "FREQ=WEEKLY;INTERVAL=1"
    )
    for bad in (
        {"escalation_hours": [8, 4]},
        {"grace_hours": -1},
        {"colour": "red"},
        {"plan_defaults": {"high": {"rrule": "FREQ=SECONDLY"}}},
    ):
        response = await client.patch("/api/v1/org/rules", json=bad, headers=headers)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["errors"][0]["field"].split(".")[0] in {*bad, "body"}
    ok = await client.patch(
        "/api/v1/org/rules", json={"quiet_start": "22:00", "grace_hours": 12}, headers=headers
    )
    assert ok.status_code == 200 and ok.json()["quiet_start"] == "22:00:00"
    async with db() as session:
        stored = (await session.scalar(select(Organisation))).settings
    assert stored["grace_hours"] == 12
