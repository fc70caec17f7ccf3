"""Quiet hours and timezones: a visit due at 00:30 JST, a zone with DST, quiet hours around midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.clock import clock, utcnow
from domain.enums import ConsentRecipient, ContactOutcome, HolidayRule, Role
from domain.models import Delivery, Device, Notification, Organisation, Visit
from domain.org_settings import OrgRules
from schedules import audience, jobs, plans
from schedules.recurrence import Cadence, next_occurrences
from tests.factories import give_consent, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

JST = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


def test_next_allowed_moves_quiet_moments_to_the_end_of_quiet_hours() -> None:
    org = Organisation(name="x", timezone="Asia/Tokyo")
    rules = OrgRules()
    assert audience.next_allowed(datetime(2026, 11, 5, 20, 59, tzinfo=JST), org, rules) == datetime(
        2026, 11, 5, 20, 59, tzinfo=JST
    )
    assert audience.next_allowed(datetime(2026, 11, 5, 21, 0, tzinfo=JST), org, rules) == datetime(
        2026, 11, 6, 8, 0, tzinfo=JST
    )
    assert audience.next_allowed(datetime(2026, 11, 6, 0, 30, tzinfo=JST), org, rules) == datetime(
        2026, 11, 6, 8, 0, tzinfo=JST
    )
    assert audience.next_allowed(datetime(2026, 11, 6, 8, 0, tzinfo=JST), org, rules) == datetime(
        2026, 11, 6, 8, 0, tzinfo=JST
    )
    daytime_quiet = OrgRules(quiet_start=time(12, 0), quiet_end=time(13, 0))
    assert audience.next_allowed(datetime(2026, 11, 6, 12, 15, tzinfo=JST), org, daytime_quiet) == datetime(
        2026, 11, 6, 13, 0, tzinfo=JST
    )


async def test_visit_due_at_half_past_midnight_never_pushes_in_quiet_hours(db, db_config) -> None:
    clock.set(datetime(2026, 11, 1, 12, 0, tzinfo=JST))
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        visitor = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        coordinator = await make_user(session, org, Role.COORDINATOR, "coord")
        for user in (visitor, coordinator):
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
        other = await make_resident(session, org, district, name="別の人")
        await give_consent(session, other, ConsentRecipient.DISTRICT_COMMISSIONER)
        await plans.create_plan(
            session,
            org,
            resident,
            {
                "rrule": "FREQ=WEEKLY;BYDAY=WE",
                "starts_on": date(2026, 11, 1),
                "window_start": time(0, 30),
                "window_end": time(2, 0),
                "window_days": 1,
                "holiday_rule": HolidayRule.NONE,
                "assignee_id": visitor.id,
            },
            coordinator.id,
        )
    # Hour by hour through the first visit (Wed 4 Nov 00:30–02:00 JST) and its grace day.
    moment = datetime(2026, 11, 3, 12, 0, tzinfo=JST)
    while moment < datetime(2026, 11, 5, 3, 0, tzinfo=JST):
        moment += timedelta(hours=1)
        clock.set(moment)
        if moment == datetime(2026, 11, 5, 3, 0, tzinfo=JST):
            async with db() as session:  # an emergency elsewhere at 03:00: urgent, at once
                await record_note(session, other, visitor, moment, ContactOutcome.EMERGENCY)
        await jobs.sweep(db_config)
    async with db() as session:
        rows = (
            await session.execute(
                select(
                    Notification.kind, Notification.created_at, Delivery.next_attempt_at, Notification.urgent
                )
                .join(Delivery, Delivery.notification_id == Notification.id)
                .join(Device, Device.id == Delivery.device_id)
                .where(Device.client_id == "p-comm")
                .order_by(Notification.created_at)
            )
        ).all()
        visit = await session.scalar(select(Visit).order_by(Visit.due_start).limit(1))
    local = [
        (k, c.astimezone(JST).strftime("%d %H:%M"), n.astimezone(JST).strftime("%d %H:%M"), u)
        for k, c, n, u in rows
    ]
    assert visit.due_start == datetime(2026, 11, 4, 0, 30, tzinfo=JST)
    assert local == [
        # The evening before; no morning reminder (08:30 is after the window).
        ("visit.reminder_evening", "03 18:00", "03 18:00", False),
        # The window closed at 02:00: the request to record waits for the morning.
        ("visit.record_or_sync", "04 02:00", "04 08:00", False),
        # Grace over at 02:00 the next day: the alert is in the inbox at once, pushed at 08:00.
        ("alert.missed_visit", "05 02:00", "05 08:00", False),
        # Urgent goes through quiet hours.
        ("alert.emergency", "05 03:00", "05 03:00", True),
    ]


def test_dst_zone_keeps_local_times_and_dst_free_zone_is_fixed() -> None:
    cadence = Cadence(
        rrule="FREQ=WEEKLY;BYDAY=TH",
        starts_on=date(2026, 10, 22),
        ends_on=None,
        window_start=time(9, 0),
        window_end=time(10, 0),
        window_days=1,
        holiday_rule=HolidayRule.NONE,
    )
    after = datetime(2026, 10, 20, tzinfo=UTC)
    # New York leaves DST on Sunday 1 Nov 2026: 09:00 local is 13:00 UTC before, 14:00 UTC after.
    ny = next_occurrences(cadence, NEW_YORK, after=after, count=3)
    assert [o.due_start.astimezone(UTC).hour for o in ny] == [13, 13, 14]
    assert {o.due_start.astimezone(NEW_YORK).time() for o in ny} == {time(9, 0)}
    # Tokyo has no DST: always 00:00 UTC.
    tokyo = next_occurrences(cadence, JST, after=after, count=3)
    assert [o.due_start.astimezone(UTC).hour for o in tokyo] == [0, 0, 0]
    # A window starting inside the spring-forward gap (02:30 on 14 Mar 2027 does not exist in New
    # York) starts at the same instant as 03:30 EDT.
    gap = Cadence(
        rrule="FREQ=DAILY",
        starts_on=date(2027, 3, 14),
        ends_on=date(2027, 3, 14),
        window_start=time(2, 30),
        window_end=time(4, 0),
        window_days=1,
        holiday_rule=HolidayRule.NONE,
    )
    (occ,) = next_occurrences(gap, NEW_YORK, after=datetime(2027, 3, 1, tzinfo=UTC), count=5)
    assert occ.due_start == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert occ.due_end - occ.due_start == timedelta(minutes=30)


async def test_reminders_follow_the_org_timezone(db, db_config) -> None:
    clock.set(datetime(2026, 10, 28, 12, 0, tzinfo=NEW_YORK))
    async with db() as session:
        org = await make_org(session)
        org.timezone = "America/New_York"
        district = await make_district(session, org)
        visitor = await make_user(session, org, Role.COMMISSIONER, "comm", districts=[district])
        resident = await make_resident(session, org, district)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await plans.create_plan(
            session,
            org,
            resident,
            {
                "rrule": "FREQ=WEEKLY;BYDAY=MO",
                "starts_on": date(2026, 10, 28),
                "window_start": time(10),
                "window_end": time(12),
                "window_days": 1,
                "holiday_rule": HolidayRule.NONE,
                "assignee_id": visitor.id,
            },
            visitor.id,
        )
    moment = datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK)
    while moment < datetime(2026, 11, 2, 11, 0, tzinfo=NEW_YORK):
        moment += timedelta(hours=1)
        clock.set(moment)
        await jobs.sweep_visits(db_config)
    async with db() as session:
        sent = [
            (n.kind, n.created_at.astimezone(NEW_YORK).strftime("%d %H:%M"))
            for n in await session.scalars(select(Notification).order_by(Notification.created_at))
        ]
    # Across the DST change on Sunday 1 Nov: 18:00 local the evening before, 08:30 local (sent at the
    # 09:00 run) the morning of.
    assert sent == [("visit.reminder_evening", "01 18:00"), ("visit.reminder_morning", "02 09:00")]
