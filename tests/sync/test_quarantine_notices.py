"""Quarantine notices read as plain language in the reader's own language (issue #10, item 5):
placeholders filled, no doubled full stops, no table or column names, English for English readers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from domain.enums import Role
from domain.models import Notification, User
from sync import schema
from tests.factories import login, make_user
from tests.sync.conftest import Town, ms, phone

TABLES = "|".join(schema.TABLE_NAMES)
INTERNAL = re.compile(rf"\{{|\}}|。。|\.\.|_|[（(]({TABLES}|resident)[)）]|\b({TABLES}|forbidden|invalid)\b")


def plain(text: str, locale: str) -> bool:
    """No unfilled placeholder, no doubled stop, no database or code names; Japanese text holds no
    Latin letters at all, English text no Japanese."""
    if INTERNAL.search(text):
        return False
    if locale == "ja":
        return re.search(r"[A-Za-z]", text) is None
    return re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) is None


async def _inbox(db: Any, user_id: str) -> list[tuple[str, str]]:
    async with db() as s:
        rows = await s.execute(
            select(Notification.title, Notification.body)
            .where(Notification.user_id == user_id, Notification.kind == "sync_quarantined")
            .order_by(Notification.created_at, Notification.id)
        )
        return [(t, b) for t, b in rows.all()]


async def _readers(db: Any, town: Town) -> User:
    """The volunteer reads English; a second coordinator reads English too; the first, Japanese."""
    async with db() as s:
        await s.execute(update(User).where(User.id == town.volunteer.id).values(locale="en"))
        return await make_user(s, town.org, Role.COORDINATOR, "coord-en", locale="en")


async def test_one_held_note_is_explained_in_each_readers_language(client, db, town: Town, now) -> None:
    coord_en = await _readers(db, town)
    device = await phone(client, "vol")
    await device.pull()
    device.create_note(town.shared.id, ms(now + timedelta(hours=2)))  # written "in the future"
    assert len((await device.push())["quarantined"]) == 1

    [(title, body)] = await _inbox(db, town.volunteer.id)
    assert plain(title, "en") and plain(body, "en"), body
    assert "time of contact" in body and "in the future" in body and "your phone" in body
    [(title, body)] = await _inbox(db, coord_en.id)
    assert plain(body, "en") and "time of contact" in body and "review" in body, body
    [(title, body)] = await _inbox(db, town.coordinator.id)
    assert plain(title, "ja") and plain(body, "ja"), body
    assert "連絡記録" in body and "連絡した日時" in body and "未来" in body

    coordinator = await login(client, "coord", device_id="desk")
    for locale, word in (("ja", "連絡した日時が未来"), ("en", "The time of contact is in the future.")):
        listing = await client.get(
            "/api/v1/sync/quarantine", headers={**coordinator, "Accept-Language": locale}
        )
        [item] = listing.json()["items"]
        assert plain(item["reason_text"], locale) and word in item["reason_text"], item["reason_text"]
        assert plain(item["table_text"], locale)
    # without Accept-Language the reader's own setting decides
    english = await login(client, "coord-en", device_id="desk-2")
    [item] = (await client.get("/api/v1/sync/quarantine", headers=english)).json()["items"]
    assert item["reason_text"] == "The time of contact is in the future."


async def test_a_mixed_push_gets_one_plain_summary_and_plain_reasons(client, db, town: Town, now) -> None:
    await _readers(db, town)
    device = await phone(client, "vol")
    await device.pull()
    device.create_note(town.private.id, ms(now))  # a person outside the volunteer's consent
    device.create_note(town.shared.id, ms(now), outcome="fine")  # not an outcome the app offers
    device.update("residents", town.shared.id, name="書き換え", phone="000")  # phones never edit residents
    assert len((await device.push())["quarantined"]) == 3

    [(_, en)] = await _inbox(db, town.volunteer.id)
    assert plain(en, "en") and "3 records" in en and "contact note: 2" in en and "resident details: 1" in en
    [(_, ja)] = await _inbox(db, town.coordinator.id)
    assert plain(ja, "ja") and "3件" in ja and "連絡記録 2件" in ja and "見守り対象者の情報 1件" in ja

    coordinator = await login(client, "coord", device_id="desk")
    for locale in ("ja", "en"):
        items = (
            await client.get("/api/v1/sync/quarantine", headers={**coordinator, "Accept-Language": locale})
        ).json()["items"]
        texts = sorted(i["reason_text"] for i in items)
        assert len(texts) == 3 and all(plain(t, locale) for t in texts), texts
        assert len(set(texts)) == 3  # each reason says its own thing, not one general sentence
        joined = " ".join(texts)
        if locale == "ja":
            assert "連絡の結果" in joined and "同意" in joined
        else:
            assert "outcome" in joined and "consent" in joined

    # Applying anything but a contact note is refused in words, not with a table name.
    held_resident = next(i for i in items if i["table"] == "residents")
    for locale in ("ja", "en"):
        refused = await client.post(
            f"/api/v1/sync/quarantine/{held_resident['id']}/resolve",
            headers={**coordinator, "Accept-Language": locale},
            json={"action": "apply"},
        )
        assert refused.status_code == 400 and plain(refused.json()["title"], locale), refused.text
