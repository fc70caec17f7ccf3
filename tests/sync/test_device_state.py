"""What the server remembers about a phone survives duplicated, late and lost requests (issue #9,
defect 1): a late duplicate of an older pull must never make the server forget what the phone
holds, and the phone's real cursors are always recognised (no full resend)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from domain.enums import ConsentRecipient, ConsentStatus
from domain.models import Consent, SyncManifestVersion
from sync.manifest import KEEP_STALE, MAX_VERSIONS
from sync.pull import FIGURES
from tests.sync.conftest import Town, add_note, ms, phone
from tests.sync.device import LostResponse


async def _set_volunteer_consent(db: Any, town: Town, status: ConsentStatus) -> None:
    async with db() as s:
        consent = await s.scalar(
            select(Consent).where(
                Consent.resident_id == town.shared.id, Consent.recipient == ConsentRecipient.VOLUNTEERS
            )
        )
        consent.status = status


def _last_pull(device: Any) -> int:
    return max(i for i, (method, _, _) in enumerate(device.sent) if method == "GET")


async def test_a_late_duplicate_pull_does_not_hide_a_deleted_note(client, db, town: Town, now) -> None:
    p, q = await phone(client, "comm", "phone-p"), await phone(client, "comm", "phone-q")
    await p.pull()  # null → t0
    await add_note(db, town, town.private, town.coordinator, now - timedelta(hours=1))
    await p.pull()  # t0 → t1
    await q.pull()
    note = q.create_note(town.shared.id, ms(now), body="訪問しました")
    await q.push()
    await p.pull()  # t1 → t2: P receives the note
    from_t1 = _last_pull(p)
    assert note in p.ids("contact_notes")
    await q.pull()
    q.delete("contact_notes", note)
    await q.push()
    assert await p.replay(from_t1) == 200  # the pull from t1 again, late; nobody reads its answer
    await p.pull()
    assert note not in p.ids("contact_notes")


async def test_a_late_duplicate_pull_does_not_keep_a_withdrawn_resident(client, db, town: Town) -> None:
    v = await phone(client, "vol")
    await v.pull()  # null → t0
    await _set_volunteer_consent(db, town, ConsentStatus.WITHDRAWN)
    await v.pull()  # t0 → t1: purged
    assert town.shared.id not in v.ids("residents")
    await _set_volunteer_consent(db, town, ConsentStatus.GIVEN)
    await v.pull()  # t1 → t2: back
    from_t1 = _last_pull(v)
    assert town.shared.id in v.ids("residents")
    await _set_volunteer_consent(db, town, ConsentStatus.WITHDRAWN)
    assert await v.replay(from_t1) == 200
    await v.pull()
    assert town.shared.id not in v.ids("residents")
    assert not v.ids("visits")


async def test_a_lost_answer_and_late_duplicates_cause_no_full_resend(client, db, town: Town, now) -> None:
    p = await phone(client, "comm", "phone-p")
    before = FIGURES["full_resends"]
    await p.pull()
    for hour in range(1, 5):
        await add_note(db, town, town.shared, town.coordinator, now - timedelta(hours=hour))
        try:
            await p.pull(lose_response=hour % 2 == 1)  # every other answer is lost on the way
        except LostResponse:
            pass
        await p.replay(len(p.sent) - 2)  # the previous request once more, after the newer one
    await p.pull()
    assert FIGURES["full_resends"] == before
    fresh = await phone(client, "comm", "phone-fresh")
    await fresh.pull()
    assert p.records() == fresh.records()


async def test_an_unknown_cursor_still_purges_what_the_phone_held(client, db, town: Town) -> None:
    v = await phone(client, "vol")
    await v.pull()
    assert town.shared.id in v.ids("residents")
    await _set_volunteer_consent(db, town, ConsentStatus.WITHDRAWN)
    v.last_pulled_at = 123_456_789  # a cursor the server never handed out (e.g. restored backup)
    before = FIGURES["full_resends"]
    await v.pull()
    assert FIGURES["full_resends"] == before + 1
    assert town.shared.id not in v.ids("residents") and not v.ids("visits")


async def test_answers_lost_again_and_again_keep_few_versions_and_purge_right(
    client, db, town: Town, now
) -> None:
    v = await phone(client, "vol")
    await v.pull()
    for hour in range(1, 16):  # the same cursor, every answer lost, something new each time
        await add_note(db, town, town.shared, town.volunteer, now - timedelta(hours=hour))
        try:
            await v.pull(lose_response=True)
        except LostResponse:
            pass
    async with db() as s:
        versions = (await s.scalars(select(SyncManifestVersion.id))).all()
    assert len(versions) <= MAX_VERSIONS + KEEP_STALE
    await _set_volunteer_consent(db, town, ConsentStatus.WITHDRAWN)
    await v.pull()
    assert not v.ids("residents") and not v.ids("contact_notes") and not v.ids("visits")


async def test_a_late_duplicate_push_does_not_hide_a_note_that_came_back(client, db, town: Town, now) -> None:
    """The phone pushes its note, loses the note with its resident (consent withdrawn), then an
    old copy of that push arrives while the resident is back in scope: the next pull must send
    the note again, because the phone no longer holds it whatever that push says."""
    v = await phone(client, "vol")
    await v.pull()
    note = v.create_note(town.shared.id, ms(now), body="訪問しました")
    await v.push()
    pushed = len(v.sent) - 1
    await v.pull()
    await _set_volunteer_consent(db, town, ConsentStatus.WITHDRAWN)
    await v.pull()  # the resident and the note leave the phone
    assert note not in v.ids("contact_notes")
    await _set_volunteer_consent(db, town, ConsentStatus.GIVEN)
    assert await v.replay(pushed) == 200  # the old push again, late: the values are the server's
    await v.pull()
    assert town.shared.id in v.ids("residents")
    assert note in v.ids("contact_notes")
