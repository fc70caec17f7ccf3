"""Finding 2 of the hardening review: one volunteer push stalled the service and flooded every
coordinator (6,000 refused notes: 46.7 s holding SQLite's write lock, 8,020 messages each).

A push now carries at most `sync_push_max_records` records (and `..._per_table` per table), told
with a 413; refused records produce one summary message per push and person; past the device's
hourly quarantine allowance the whole push waits with 429 and nothing of it is lost.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.clock import clock
from domain.models import ContactNote, Notification, QuarantinedRecord
from domain.settings import Settings
from tests.sync.conftest import Town, ms, phone

ALLOWANCE = 5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # model_copy skips validation: a small allowance below the push size, to test it cheaply.
    return settings.model_copy(update={"sync_quarantine_per_device_hour": ALLOWANCE})


def _notes(resident_id: str, count: int, now_ms: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": f"n{index:05d}",
            "resident_id": resident_id,
            "method": "home_visit",
            "outcome": "met_well",
            "occurred_at": now_ms,
            "follow_up_needed": False,
            "visibility": "team",
            **fields,
        }
        for index in range(count)
    ]


async def _push(client: Any, headers: dict[str, str], changes: dict[str, Any], cursor: int = 0) -> Any:
    return await client.post(
        f"/api/v1/sync/push?last_pulled_at={cursor}",
        content=json.dumps(changes).encode(),
        headers={**headers, "content-type": "application/json", "Accept-Language": "en"},
    )


async def _count(db: Any, model: Any, *where: Any) -> int:
    async with db() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_push_beyond_the_record_limits_is_refused_whole_with_413(client, db, town: Town, now) -> None:
    device = await phone(client, "vol")
    limits = Settings.model_fields
    per_push = limits["sync_push_max_records"].default
    per_table = limits["sync_push_max_records_per_table"].default
    notes = _notes(town.shared.id, per_table + 1, ms(now))
    response = await _push(client, device.headers, {"contact_notes": {"created": notes}})
    assert response.status_code == 413, response.text
    problem = response.json()
    assert problem["code"] == "error.sync.too_many_in_table"
    assert "contact_notes" in problem["title"] and str(per_table) in problem["title"]
    # Spread over tables, the push as a whole is limited too.
    spread = {
        "contact_notes": {"created": _notes(town.shared.id, per_table, ms(now))},
        "visits": {"updated": [{"id": f"v{i:05d}", "status": "done"} for i in range(per_push - per_table)]},
        "notifications": {"updated": [{"id": "n-extra", "read_at": ms(now)}]},
    }
    response = await _push(client, device.headers, spread)
    assert response.status_code == 413, response.text
    assert (
        response.json()["code"] == "error.sync.too_many_records" and str(per_push) in response.json()["title"]
    )
    assert await _count(db, ContactNote) == 0 and await _count(db, QuarantinedRecord) == 0
    # At the limit, the push goes through.
    response = await _push(client, device.headers, {"contact_notes": {"created": notes[:per_table]}})
    assert response.status_code == 200 and response.json()["applied"] == per_table


async def test_one_summary_message_per_push_however_many_records_are_held(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "vol")
    # Notes about a resident the volunteer may not see: every one is held.
    hidden = _notes(town.private.id, ALLOWANCE, ms(now))
    response = await _push(client, device.headers, {"contact_notes": {"created": hidden}})
    assert response.status_code == 200, response.text
    assert len(response.json()["quarantined"]) == ALLOWANCE
    async with db() as s:
        told = (
            await s.scalars(select(Notification.user_id).where(Notification.kind == "sync_quarantined"))
        ).all()
    assert sorted(told) == sorted([town.volunteer.id, town.coordinator.id])


async def test_past_the_hourly_quarantine_allowance_the_push_waits_and_loses_nothing(
    client, db, town: Town, now
) -> None:
    device = await phone(client, "vol")
    first = _notes(town.private.id, ALLOWANCE - 1, ms(now))
    assert (await _push(client, device.headers, {"contact_notes": {"created": first}})).status_code == 200
    # Two more refused records would pass the allowance: the good note waits with them.
    good = _notes(town.shared.id, 1, ms(now))[0] | {"id": "good-note"}
    second = {"contact_notes": {"created": [good, *(_notes(town.private.id, 2, ms(now), body="later"))]}}
    second["contact_notes"]["created"][1]["id"] = "late-1"
    second["contact_notes"]["created"][2]["id"] = "late-2"
    response = await _push(client, device.headers, second)
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "error.sync.quarantine_rate"
    assert int(response.headers["retry-after"]) > 0
    assert await _count(db, ContactNote) == 0  # nothing of the waiting push applied
    assert await _count(db, QuarantinedRecord) == ALLOWANCE - 1
    # A retry of records already held counts nothing new: it still goes through.
    assert (await _push(client, device.headers, {"contact_notes": {"created": first}})).status_code == 200
    # An hour later the same push goes through whole.
    clock.advance(timedelta(hours=1, minutes=1))
    device = await phone(client, "vol")  # same phone, signed in again (the access token expired)
    response = await _push(client, device.headers, second)
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 1 and len(response.json()["quarantined"]) == 2
    assert await _count(db, ContactNote, ContactNote.id == "good-note") == 1
    assert await _count(db, QuarantinedRecord) == ALLOWANCE + 1
