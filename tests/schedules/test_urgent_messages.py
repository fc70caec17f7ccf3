"""Urgent alert messages say what to act on (issue #10, item 4): the inbox body names what happened,
the address, the last time the person was reached, the assignee and when the assignee's phone last
synced, in the reader's language; the push on a lock screen shows only the name and the reason;
and only people who may see the resident receive either."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from domain.clock import clock, utcnow
from domain.enums import ConsentRecipient, ContactMethod, ContactOutcome, Role
from domain.models import Device, Notification
from domain.settings import PushSettings
from notifications.dispatcher import dispatch_once
from notifications.transports import RecordingTransport
from schedules import plans
from tests.factories import give_consent, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

NOW = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 10:00 JST
REACHED = datetime(2026, 11, 8, 1, 0, tzinfo=UTC)  # the day before, 10:00 JST
SYNCED = datetime(2026, 11, 8, 23, 30, tzinfo=UTC)  # 08:30 JST on the day
ADDRESS = "テスト市中央1-2-3 青葉荘101"


async def _town(db):
    clock.set(NOW)
    async with db() as session:
        org = await make_org(session)
        district = await make_district(session, org)
        comm = await make_user(
            session, org, Role.COMMISSIONER, "comm", districts=[district], display_name="民生 太郎"
        )
        coord = await make_user(
            session, org, Role.COORDINATOR, "coord", locale="en", display_name="Office Sato"
        )
        for user, synced in ((comm, SYNCED), (coord, None)):
            session.add(
                Device(
                    org_id=org.id,
                    user_id=user.id,
                    client_id=f"p-{user.login}",
                    platform="ios",
                    push_token=f"t-{user.login}",
                    push_token_updated_at=utcnow(),
                    last_sync_at=synced,
                )
            )
        resident = await make_resident(session, org, district, address=ADDRESS)
        await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        # consent covers nobody but the municipality: only coordinators may see this one
        private = await make_resident(session, org, district, name="鈴木 次郎", address="非公開町9-9")
        fields = {
            "rrule": "FREQ=DAILY",
            "starts_on": date(2026, 11, 9),
            "window_start": time(9),
            "window_end": time(18),
            "window_days": 1,
            "assignee_id": comm.id,
        }
        await plans.create_plan(session, org, resident, fields, coord.id)
    return org, comm, coord, resident, private


async def _inbox(db, user, kind: str) -> list[Notification]:
    async with db() as session:
        return list(
            await session.scalars(
                select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
            )
        )


async def test_emergency_message_says_what_where_last_contact_and_assignee(db, db_config) -> None:
    _, comm, coord, resident, _ = await _town(db)
    async with db() as session:
        await record_note(session, resident, comm, REACHED, ContactOutcome.MET_WELL, ContactMethod.PHONE)
        await record_note(session, resident, comm, NOW, ContactOutcome.EMERGENCY)

    [ja] = await _inbox(db, comm, "alert.emergency")
    assert ja.title.startswith("【緊急】") and resident.name in ja.title
    assert "民生 太郎さんが2026-11-09 10:00に緊急の連絡を記録しました（訪問）" in ja.body
    assert ADDRESS in ja.body
    assert "最後に会えた・話せた連絡：2026-11-08 10:00（電話）" in ja.body
    assert "担当：民生 太郎さん（端末の最終同期：2026-11-09 08:30）" in ja.body
    [en] = await _inbox(db, coord, "alert.emergency")
    assert "recorded an emergency at 2026-11-09 10:00 (home visit)" in en.body
    assert f"Address: {ADDRESS}" in en.body
    assert "Last time they were reached: 2026-11-08 10:00 (phone call)" in en.body
    assert "Assigned: 民生 太郎 (phone last synced 2026-11-09 08:30)" in en.body

    # The lock screen: name and reason, nothing of the inbox's details.
    transport = RecordingTransport()
    await dispatch_once(db_config, transport=transport, config=PushSettings(_env_file=None))
    pushed = {m.token: m for m in transport.sent}
    assert set(pushed) == {"t-comm", "t-coord"}
    for token, reason in (("t-comm", "緊急の連絡記録"), ("t-coord", "emergency was recorded")):
        message = pushed[token]
        assert resident.name in message.title and reason in message.body, message
        shown = message.title + message.body
        for detail in (ADDRESS, "民生 太郎", "2026-11-08", "08:30"):
            assert detail not in shown, (token, detail)


async def test_two_no_answers_say_so_and_name_nobody_reached_yet(db) -> None:
    _, comm, coord, resident, _ = await _town(db)
    async with db() as session:
        await record_note(session, resident, comm, NOW - timedelta(hours=1), ContactOutcome.NO_ANSWER)
        await record_note(session, resident, comm, NOW, ContactOutcome.NO_ANSWER, ContactMethod.PHONE)
    [ja] = await _inbox(db, comm, "alert.no_answer_twice")
    assert "2回続けて応答がありません" in ja.body and "2026-11-09 10:00の電話" in ja.body
    assert ADDRESS in ja.body and "会えた・話せた連絡の記録はまだありません" in ja.body
    assert "担当：民生 太郎さん" in ja.body
    [en] = await _inbox(db, coord, "alert.no_answer_twice")
    assert "No answer twice in a row" in en.body and "Nobody has recorded reaching them yet." in en.body
    assert f"Address: {ADDRESS}" in en.body


async def test_urgent_details_reach_only_people_who_may_see_the_resident(db) -> None:
    _, comm, coord, _, private = await _town(db)
    async with db() as session:
        await record_note(session, private, coord, NOW, ContactOutcome.EMERGENCY)
    assert await _inbox(db, comm, "alert.emergency") == []  # consent does not cover commissioners
    [en] = await _inbox(db, coord, "alert.emergency")
    assert "非公開町9-9" in en.body and "Office Sato recorded an emergency" in en.body
