"""Finding 6 of the hardening review: a volunteer read hidden fields through sync push.

The server compared pushed columns with its own before checking that the phone may see them:
equal meant a silent no-op, different a quarantine, so guessing a resident's birth year (hidden from
volunteers) or the status and assignee of a visit that is not on the volunteer's phone told the
answer. The answer must now be the same for the right and the wrong guess.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from domain.enums import VisitStatus
from domain.models import Visit
from tests.sync.conftest import Town, phone


async def _answers(
    client: Any, headers: dict[str, str], table: str, record_id: str, guesses: list[dict[str, Any]]
) -> list[str]:
    out = []
    for guess in guesses:
        for cursor in (99_999_999_999, 0):  # after and before the row's last change
            response = await client.post(
                f"/api/v1/sync/push?last_pulled_at={cursor}",
                content=json.dumps(
                    {table: {"created": [], "updated": [{"id": record_id, **guess}], "deleted": []}}
                ).encode(),
                headers={**headers, "content-type": "application/json"},
            )
            body = response.json()
            out.append(
                repr(
                    (
                        response.status_code,
                        body.get("applied"),
                        [(q["table"], q["id"], q["reason"]) for q in body.get("quarantined", [])],
                    )
                )
            )
    return out


async def test_birth_year_guesses_for_a_visible_resident_all_answer_alike(client, town: Town) -> None:
    device = await phone(client, "vol")
    await device.pull()
    assert town.shared.id in device.ids("residents")  # the volunteer holds the resident...
    assert device.store["residents"][town.shared.id].get("birth_year") is None  # ...not the birth year
    answers = await _answers(
        client,
        device.headers,
        "residents",
        town.shared.id,
        [{"birth_year": 1940}, {"birth_year": 1941}, {"birth_year": 1939}],
    )
    assert len(set(answers)) == 1, answers  # the right guess (1940) reads like the wrong ones
    assert "sync.refused.forbidden" in answers[0]


async def test_status_and_assignee_guesses_for_visits_not_on_the_phone_all_answer_alike(
    client, db, town: Town, now
) -> None:
    async with db() as s:
        # Of a resident the volunteer holds, but assigned to the commissioner: not on the phone.
        theirs = Visit(
            org_id=town.org.id,
            occurrence_key="2026-06-03",
            resident_id=town.shared.id,
            assignee_id=town.commissioner.id,
            due_start=now + timedelta(days=2),
            due_end=now + timedelta(days=2, hours=8),
            status=VisitStatus.PLANNED,
        )
        # The volunteer's own, but far beyond the phone's horizon.
        later = Visit(
            org_id=town.org.id,
            occurrence_key="2026-12-01",
            resident_id=town.shared.id,
            assignee_id=town.volunteer.id,
            due_start=now + timedelta(days=180),
            due_end=now + timedelta(days=180, hours=8),
            status=VisitStatus.PLANNED,
        )
        s.add_all([theirs, later])
    device = await phone(client, "vol")
    await device.pull()
    assert theirs.id not in device.ids("visits") and later.id not in device.ids("visits")
    for visit in (theirs, later):
        statuses = await _answers(
            client,
            device.headers,
            "visits",
            visit.id,
            [{"status": "planned"}, {"status": "done"}, {"status": "cancelled"}],
        )
        assert len(set(statuses)) == 1, statuses
        assignees = await _answers(
            client,
            device.headers,
            "visits",
            visit.id,
            [{"assignee_id": town.commissioner.id}, {"assignee_id": town.volunteer.id}],
        )
        assert len(set(assignees)) == 1, assignees
        assert statuses[0] == assignees[0] and "sync.refused.forbidden" in statuses[0]


async def test_a_full_record_push_of_a_held_visit_still_applies(client, db, town: Town) -> None:
    # WatermelonDB pushes whole records: columns the phone was shown, unchanged, are fine.
    device = await phone(client, "vol")
    await device.pull()
    device.update("visits", town.visit.id, status="done")
    result = await device.push()
    assert result is not None and result["applied"] == 1 and result["quarantined"] == []
    async with db() as s:
        assert (await s.get(Visit, town.visit.id)).status == VisitStatus.DONE
