"""The sweep walks its visits a batch at a time (reads and writes for the whole batch together):
the alerts, the history and the messages are the same as walking one visit at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from domain.clock import clock, utcnow
from domain.enums import ConsentRecipient, ContactMethod, ContactOutcome, ResidentStatus, Role, VisitStatus
from domain.i18n import translate
from domain.models import (
    Alert,
    AlertEvent,
    ContactNote,
    Delivery,
    Device,
    Notification,
    Organisation,
    Resident,
    User,
    Visit,
)
from schedules import jobs, ladder
from tests.factories import assign, give_consent, make_district, make_org, make_resident, make_user

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # Wednesday 12:00 JST
RESIDENTS = 24

# (step, window opened, window closed, step due) relative to NOW
SHAPES = {
    "morning": (ladder.REMINDER_MORNING, -timedelta(hours=1), timedelta(hours=5), -timedelta(minutes=5)),
    "closed": (ladder.WINDOW_CLOSED, -timedelta(hours=6), -timedelta(minutes=5), -timedelta(minutes=5)),
    "grace": (
        ladder.GRACE_OVER,
        -timedelta(hours=30),
        -timedelta(hours=24, minutes=5),
        -timedelta(minutes=5),
    ),
    # A worker was down for two days: the reminder is skipped, the request and the alert both go out.
    "down": (ladder.REMINDER_MORNING, -timedelta(hours=50), -timedelta(hours=48), -timedelta(hours=49)),
}


async def _town(session: Any, name: str) -> Organisation:
    """Residents with every kind of audience: consent for both, for the commissioner only, for
    nobody; a visitor in English; a paused resident; a note that fulfils a visit; a note that
    could fulfil two visits of the same resident (it fulfils one)."""
    clock.set(NOW - timedelta(days=60))
    org = await make_org(session, name)
    north, south = await make_district(session, org, "北"), await make_district(session, org, "南")
    users = [
        await make_user(session, org, Role.COORDINATOR, f"{name}-coord-north", districts=[north]),
        await make_user(session, org, Role.COORDINATOR, f"{name}-coord-all"),
        await make_user(session, org, Role.COMMISSIONER, f"{name}-comm-north", districts=[north]),
        await make_user(
            session, org, Role.COMMISSIONER, f"{name}-comm-south", districts=[south], locale="en"
        ),
    ]
    volunteers = [
        await make_user(session, org, Role.VOLUNTEER, f"{name}-vol-ja"),
        await make_user(session, org, Role.VOLUNTEER, f"{name}-vol-en", locale="en"),
    ]
    for n, user in enumerate(users + volunteers):
        session.add(
            Device(
                org_id=org.id,
                user_id=user.id,
                client_id=f"phone-{n}",
                platform="android",
                push_token=f"token-{user.id}",
                push_token_updated_at=NOW - timedelta(days=1),
                last_sync_at=NOW - timedelta(hours=30 if n % 2 else 1),
            )
        )
    shapes = list(SHAPES)
    for n in range(RESIDENTS):
        resident = await make_resident(
            session,
            org,
            (north, south)[n % 2],
            name=f"住民{n}",
            status=ResidentStatus.PAUSED if n == 7 else ResidentStatus.ACTIVE,
        )
        volunteer = volunteers[n % 2]
        if n % 3 != 2:
            await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        if n % 3 == 0:
            await give_consent(session, resident, ConsentRecipient.VOLUNTEERS)
            await assign(session, resident, volunteer)
        step, opened, closed, due = SHAPES[shapes[n % len(shapes)]]
        keys = [f"{n}"] + ([f"{n}-again"] if n in (2, 6) else [])
        for extra, key in enumerate(keys):  # the second one later: a fixed order in both towns
            session.add(
                Visit(
                    org_id=org.id,
                    occurrence_key=key,
                    resident_id=resident.id,
                    assignee_id=volunteer.id,
                    due_start=NOW + opened,
                    due_end=NOW + closed,
                    check_step=step,
                    next_check_at=NOW + due + timedelta(minutes=extra),
                )
            )
        if n in (2, 6, 10):  # recorded inside the window, naming no visit
            session.add(
                ContactNote(
                    org_id=org.id,
                    resident_id=resident.id,
                    author_id=volunteer.id,
                    method=ContactMethod.HOME_VISIT,
                    outcome=ContactOutcome.MET_WELL,
                    occurred_at=NOW + opened + timedelta(minutes=30),
                    received_at=NOW + opened + timedelta(minutes=31),
                )
            )
    await session.flush()
    return org


async def _outcome(session: Any, org: Organisation) -> dict[str, Any]:
    """What people see, with ids replaced by names (two towns have different ids)."""
    login = dict(
        (await session.execute(select(User.id, User.login).where(User.org_id == org.id))).tuples().all()
    )
    name = dict(
        (await session.execute(select(Resident.id, Resident.name).where(Resident.org_id == org.id)))
        .tuples()
        .all()
    )
    visits = list(await session.scalars(select(Visit).where(Visit.org_id == org.id)))
    key = {v.id: f"{name[v.resident_id]}/{v.occurrence_key}" for v in visits}
    alerts = list(await session.scalars(select(Alert).where(Alert.org_id == org.id)))
    alert_key = {a.id: key[a.visit_id] for a in alerts if a.visit_id}
    prefix = len(org.name) + 1

    def who(ids: list[str]) -> list[str]:
        return sorted(login[i][prefix:] for i in ids)

    def detail(d: dict[str, Any]) -> dict[str, Any]:
        return {k: who(v) if k.endswith("user_ids") or k == "assignee_ids" else v for k, v in d.items()}

    notifications = list(await session.scalars(select(Notification).where(Notification.org_id == org.id)))
    deliveries = list(await session.scalars(select(Delivery).where(Delivery.org_id == org.id)))
    by_notification: dict[str, int] = {}
    for delivery in deliveries:
        by_notification[delivery.notification_id] = by_notification.get(delivery.notification_id, 0) + 1
    events = list(await session.scalars(select(AlertEvent).where(AlertEvent.org_id == org.id)))
    return {
        "visits": sorted(
            (
                key[v.id],
                v.status,
                v.check_step,
                v.next_check_at,
                v.asked_at,
                v.fulfilled_by_note_id is not None,
            )
            for v in visits
        ),
        "alerts": sorted(
            (alert_key[a.id], a.kind, a.severity, a.status, a.assignee_last_sync_at, a.next_escalation_at)
            for a in alerts
        ),
        "events": sorted(
            (alert_key[e.alert_id], e.action, repr(sorted(detail(e.detail).items()))) for e in events
        ),
        "messages": sorted(
            (
                login[n.user_id][prefix:],
                n.kind,
                n.title,
                n.body,
                n.urgent,
                name.get(n.resident_id or ""),
                key.get(n.visit_id or ""),
                alert_key.get(n.alert_id or ""),
                by_notification.get(n.id, 0),
                (n.collapse_key or "").replace(n.visit_id or "-", "visit"),
            )
            for n in notifications
        ),
    }


async def test_a_batch_writes_what_visits_one_at_a_time_write(db, db_config) -> None:
    async with db() as session:
        one_by_one = await _town(session, "一件ずつ")
    clock.set(NOW)
    assert await jobs.sweep_visits(db_config, batch=1) == RESIDENTS + 2
    async with db() as session:
        alone = await _outcome(session, one_by_one)

    async with db() as session:
        together = await _town(session, "まとめて")
    clock.set(NOW)
    assert await jobs.sweep_visits(db_config, batch=200) == RESIDENTS + 2
    async with db() as session:
        batched = await _outcome(session, together)

    assert batched == alone
    # And what that is: one alert per missed visit, to those who may see the resident.
    missed = [v for v in batched["visits"] if v[1] == VisitStatus.MISSED]
    assert len(missed) == len(batched["alerts"]) == 10
    created = [e for e in batched["events"] if e[1] == "created"]
    assert sorted(e[0] for e in created) == sorted(a[0] for a in batched["alerts"])
    alert_messages = [m for m in batched["messages"] if m[1].startswith("alert.")]
    for resident_no in range(RESIDENTS):
        told = sorted(m[0] for m in alert_messages if m[5] == f"住民{resident_no}")
        if not told:
            continue
        district = "north" if resident_no % 2 == 0 else "south"
        # The north has its own coordinator; nobody holds the south, so every coordinator does.
        coordinators = ["coord-north"] if district == "north" else ["coord-all", "coord-north"]
        if resident_no % 3 == 2:  # no consent: nobody but the coordinators
            expected = coordinators
        else:
            expected = sorted([f"comm-{district}", *coordinators])
        assert told == expected, resident_no
    # Each in their own language: the commissioner of the south reads English.
    for m in alert_messages:
        locale = "en" if m[0] == "comm-south" else "ja"
        assert m[2] == translate("notify.alert.missed_visit.title", locale, name=m[5])
    # The paused resident is not chased.
    assert next(v for v in batched["visits"] if v[0] == "住民7/7")[1] == VisitStatus.CANCELLED
    # One note, two visits it could fulfil: it fulfils one; the other goes on.
    fulfilled = {v[0] for v in batched["visits"] if v[5]}
    assert len(fulfilled & {"住民2/2", "住民2/2-again"}) == 1
    assert "住民10/10" in fulfilled
    assert utcnow() == NOW
