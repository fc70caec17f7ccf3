"""Taking a contact back: a note deleted or corrected by its author, a visit's "done" undone on the
phone. Nobody has been, so the visit is chased again and the resident's last contact is what the
remaining notes say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.clock import clock
from domain.models import Alert, AlertEvent, Organisation, Resident, Visit
from domain.org_settings import rules_for
from schedules import jobs, ladder
from tests.factories import login
from tests.sync.conftest import NOW, Town, ms, phone
from tests.sync.device import LostResponse


async def _on_the_ladder(db, town: Town) -> None:
    async with db() as s:
        visit = await s.get_one(Visit, town.visit.id)
        org = await s.get_one(Organisation, town.org.id)
        ladder.schedule_first_step(visit, org, rules_for(org), NOW)  # as expansion does


async def _missed_alerts(db, town: Town) -> list[Alert]:
    async with db() as s:
        return list(await s.scalars(select(Alert).where(Alert.visit_id == town.visit.id)))


async def test_a_visit_set_back_to_planned_is_chased_again(client, db, town: Town) -> None:
    await _on_the_ladder(db, town)
    device = await phone(client, "vol")
    await device.pull()
    device.update("visits", town.visit.id, status="done")  # tapped on the wrong visit
    assert (await device.push())["applied"] == 1
    clock.set(NOW + timedelta(hours=7))  # 19:00 JST: the evening reminder's run
    await jobs.sweep(client.app.state.db_config)  # a done visit leaves the ladder
    device.headers = await login(client, "vol", device_id="phone-1")  # the app refreshes its token
    await device.pull()
    device.update("visits", town.visit.id, status="planned")  # undone: nobody has been yet
    assert (await device.push())["applied"] == 1
    async with db() as s:
        visit = await s.get_one(Visit, town.visit.id)
        assert visit.status == "planned"
        due_end = visit.due_end
    # Nobody visits. The window closes and the grace period passes.
    clock.set(due_end + timedelta(hours=25))
    await jobs.sweep(client.app.state.db_config)
    await jobs.sweep(client.app.state.db_config)
    assert [a.kind for a in await _missed_alerts(db, town)] == ["missed_visit"]


async def test_a_note_deleted_by_its_author_no_longer_counts(client, db, town: Town) -> None:
    await _on_the_ladder(db, town)
    due_start, due_end = town.visit.due_start, town.visit.due_end
    clock.set(due_start + timedelta(hours=1))
    device = await phone(client, "vol")
    await device.pull()
    # Recorded on the wrong resident's visit (two neighbours seen the same morning)...
    note_id = device.create_note(
        town.shared.id, ms(due_start + timedelta(minutes=30)), visit_id=town.visit.id
    )
    assert (await device.push())["applied"] == 1
    await device.pull()
    assert device.store["visits"][town.visit.id]["status"] == "done"
    commissioner = await phone(client, "comm", device_id="comm-phone")
    await commissioner.pull()
    assert commissioner.store["residents"][town.shared.id]["last_contact_at"] is not None
    # ...and deleted by its author a few minutes later.
    device.delete("contact_notes", note_id)
    assert (await device.push())["applied"] == 1
    # The phone learns the visit is open again; the commissioner's, that nobody saw the resident.
    (visit_row,) = (await device.pull())["changes"]["visits"]["updated"]
    assert (visit_row["id"], visit_row["status"], visit_row["fulfilled_by_note_id"]) == (
        town.visit.id,
        "planned",
        None,
    )
    await commissioner.pull()
    assert commissioner.store["residents"][town.shared.id]["last_contact_at"] is None
    clock.set(due_end + timedelta(hours=25))  # window closed, grace over: nobody came
    await jobs.sweep(client.app.state.db_config)
    assert [a.kind for a in await _missed_alerts(db, town)] == ["missed_visit"]
    async with db() as s:
        assert (await s.get_one(Resident, town.shared.id)).last_contact_at is None


async def test_the_alert_a_deleted_note_resolved_opens_again(client, db, town: Town) -> None:
    await _on_the_ladder(db, town)
    due_start, due_end = town.visit.due_start, town.visit.due_end
    clock.set(due_end + timedelta(hours=25))
    await jobs.sweep(client.app.state.db_config)
    (alert,) = await _missed_alerts(db, town)
    # A note synced late says the visit was made; it was the neighbour's, and is deleted.
    device = await phone(client, "vol")
    await device.pull()
    note_id = device.create_note(town.shared.id, ms(due_start + timedelta(hours=2)), visit_id=town.visit.id)
    assert (await device.push())["applied"] == 1
    (alert,) = await _missed_alerts(db, town)
    assert (alert.status, alert.resolution) == ("resolved", "recorded_late")
    await device.pull()
    device.delete("contact_notes", note_id)
    with pytest.raises(LostResponse):  # applied; the phone never hears it and sends it again
        await device.push(lose_response=True)
    assert (await device.push())["applied"] == 0
    (alert,) = await _missed_alerts(db, town)
    assert (alert.status, alert.resolution) == ("open", None)
    async with db() as s:
        reopened = await s.scalar(
            select(func.count()).select_from(AlertEvent).where(AlertEvent.action == "reopened")
        )
        assert reopened == 1
    # The next sweep marks the visit missed again and re-sends the alert up the ladder.
    clock.advance(timedelta(minutes=5))
    await jobs.sweep(client.app.state.db_config)
    (alert,) = await _missed_alerts(db, town)
    assert (alert.status, alert.escalation_level) == ("open", 1)
    async with db() as s:
        assert (await s.get_one(Visit, town.visit.id)).status == "missed"


async def test_a_contact_corrected_to_nobody_answering_is_no_longer_the_last_contact(
    client, db, town: Town
) -> None:
    clock.set(NOW)
    comm = await login(client, "comm", device_id="comm-pc")
    url = f"/api/v1/residents/{town.shared.id}/contact-notes"
    earlier = {"method": "phone", "outcome": "met_well", "occurred_at": (NOW - timedelta(days=3)).isoformat()}
    assert (await client.post(url, json=earlier, headers=comm)).status_code == 201
    recorded = await client.post(url, json={"method": "home_visit", "outcome": "met_well"}, headers=comm)
    async with db() as s:
        assert (await s.get_one(Resident, town.shared.id)).last_contact_at == NOW
    corrected = await client.patch(
        f"/api/v1/contact-notes/{recorded.json()['id']}",
        json={"outcome": "no_answer", "reason": "不在だった"},
        headers=comm,
    )
    assert corrected.status_code == 200, corrected.text
    async with db() as s:
        assert (await s.get_one(Resident, town.shared.id)).last_contact_at == NOW - timedelta(days=3)


async def test_a_long_silence_is_alerted_again_when_the_contact_that_ended_it_is_deleted(
    client, db, town: Town
) -> None:
    clock.set(NOW + timedelta(days=70))  # longer than any risk level allows
    await jobs.detect_contact_gaps(client.app.state.db_config)
    device = await phone(client, "vol")
    await device.pull()
    note_id = device.create_note(town.shared.id, ms(NOW + timedelta(days=70)))
    assert (await device.push())["applied"] == 1

    async def gap_alerts() -> list[tuple[str, str | None]]:
        async with db() as s:
            found = await s.scalars(
                select(Alert).where(Alert.resident_id == town.shared.id, Alert.kind == "contact_gap")
            )
            return [(a.status, a.resolution) for a in found]

    assert await gap_alerts() == [("resolved", "contact_recorded")]
    await device.pull()
    device.delete("contact_notes", note_id)
    assert (await device.push())["applied"] == 1
    assert await gap_alerts() == [("open", None)]


async def test_a_missed_visit_reset_by_a_coordinator_alerts_again_when_nobody_comes(
    client, db, town: Town
) -> None:
    await _on_the_ladder(db, town)
    clock.set(town.visit.due_end + timedelta(hours=25))
    await jobs.sweep(client.app.state.db_config)
    (alert,) = await _missed_alerts(db, town)
    # The office settles it with the family: somebody will still go. The visit is planned again.
    coordinator = await login(client, "coord", device_id="office-phone")
    resolved = await client.post(
        f"/api/v1/alerts/{alert.id}/resolve", json={"resolution": "handled"}, headers=coordinator
    )
    assert resolved.status_code == 200, resolved.text
    device = await phone(client, "coord", device_id="office-phone")
    await device.pull()
    device.update("visits", town.visit.id, status="planned")
    assert (await device.push())["applied"] == 1
    # Nobody goes: the next sweep finds it missed again and the alert is open again.
    clock.advance(timedelta(minutes=5))
    await jobs.sweep(client.app.state.db_config)
    (alert,) = await _missed_alerts(db, town)
    assert (alert.status, alert.resolution) == ("open", None)
    async with db() as s:
        assert (await s.get_one(Visit, town.visit.id)).status == "missed"
