"""The notice that a resident's visit plan was paused says why in words, in the reader's language:
the contact outcome that paused it, never its code ("（refused）" in a Japanese sentence)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from domain.clock import clock
from domain.enums import ConsentRecipient, ContactOutcome, Role
from domain.models import Notification, VisitPlan
from tests.factories import give_consent, make_district, make_org, make_resident, make_user
from tests.schedules.helpers import record_note

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


@pytest.mark.parametrize(
    ("outcome", "ja", "en"),
    [
        (
            ContactOutcome.REFUSED,
            "山田 花子さんの見守り計画を一時停止しました（本人が訪問を断ったため）",
            "Visit plan for 山田 花子 paused (they declined visits)",
        ),
        (
            ContactOutcome.AWAY,
            "山田 花子さんの見守り計画を一時停止しました（外出・入院などで不在のため）",
            "Visit plan for 山田 花子 paused (they are away, e.g. in hospital)",
        ),
    ],
)
async def test_the_pause_notice_says_why_in_words(db, outcome, ja, en) -> None:
    clock.set(NOW)
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        coord_ja = await make_user(s, org, Role.COORDINATOR, "coord", locale="ja")
        coord_en = await make_user(s, org, Role.COORDINATOR, "coord-en", locale="en")
        resident = await make_resident(s, org, district, name="山田 花子")
        await give_consent(s, resident, ConsentRecipient.VOLUNTEERS)
        s.add(
            VisitPlan(
                org_id=org.id,
                resident_id=resident.id,
                assignee_id=None,
                rrule="FREQ=WEEKLY",
                starts_on=date(2026, 11, 1),
                window_start=time(9),
            )
        )
        await s.flush()
        await record_note(s, resident, coord_ja, NOW, outcome)
    async with db() as s:
        titles = dict(
            (
                await s.execute(
                    select(Notification.user_id, Notification.title).where(Notification.kind == "plan.paused")
                )
            ).all()
        )
    assert titles == {coord_ja.id: ja, coord_en.id: en}
