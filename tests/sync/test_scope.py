"""A phone holds exactly its user's scope: what leaves it is purged, what enters it is sent whole."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from domain.clock import clock, utcnow
from domain.enums import AssignmentRole, ConsentRecipient, ConsentStatus, ResidentStatus
from domain.models import Assignment, Consent, ContactNote, EmergencyContact, Resident, User
from tests.factories import assign, login
from tests.sync.conftest import Town, add_note, phone


async def test_assignment_added_removed_and_readded(client, db, town: Town, now) -> None:
    old_note = await add_note(
        db, town, town.private, town.commissioner, now - timedelta(days=100), body="古い記録"
    )
    device = await phone(client, "vol")
    await device.pull()
    assert device.ids("residents") == {town.shared.id}

    async with db() as s:  # the volunteer now also visits `private`, who consents to volunteers
        private = await s.get(Resident, town.private.id)
        s.add(
            Consent(
                org_id=town.org.id,
                resident_id=private.id,
                recipient=ConsentRecipient.VOLUNTEERS,
                status=ConsentStatus.GIVEN,
            )
        )
        await assign(s, private, town.volunteer)
    body = await device.pull()
    assert [r["id"] for r in body["changes"]["residents"]["updated"]] == [town.private.id]
    assert device.ids("contact_notes") == {old_note.id}  # entered with the resident, however old

    async with db() as s:  # unassigned
        assignment = await s.scalar(
            select(Assignment).where(Assignment.resident_id == town.private.id, Assignment.ended_at.is_(None))
        )
        assignment.ended_at = utcnow()
    body = await device.pull()
    assert body["changes"]["residents"]["deleted"] == [town.private.id]
    assert body["changes"]["contact_notes"]["deleted"] == [old_note.id]
    assert device.ids("residents") == {town.shared.id} and device.ids("contact_notes") == set()

    async with db() as s:  # re-assigned
        await assign(s, await s.get(Resident, town.private.id), town.volunteer)
    await device.pull()
    assert device.ids("residents") == {town.shared.id, town.private.id}
    assert device.ids("contact_notes") == {old_note.id}


async def test_consent_withdrawn_purges_resident_and_their_records(client, db, town: Town, now) -> None:
    note = await add_note(db, town, town.shared, town.volunteer, now - timedelta(days=1))
    volunteer, commissioner = await phone(client, "vol"), await phone(client, "comm", "phone-c")
    await volunteer.pull()
    await commissioner.pull()
    assert volunteer.ids("visits") == {town.visit.id} and volunteer.ids("contact_notes") == {note.id}
    async with db() as s:
        consent = await s.scalar(
            select(Consent).where(
                Consent.resident_id == town.shared.id, Consent.recipient == ConsentRecipient.VOLUNTEERS
            )
        )
        consent.status = ConsentStatus.WITHDRAWN
    body = await volunteer.pull()
    assert body["changes"]["residents"]["deleted"] == [town.shared.id]
    assert body["changes"]["visits"]["deleted"] == [town.visit.id]
    assert body["changes"]["contact_notes"]["deleted"] == [note.id]
    assert not any(volunteer.ids(t) for t in ("residents", "visits", "contact_notes"))
    # the commissioner's consent is untouched: nothing leaves their phone
    body = await commissioner.pull()
    assert all(not ops["deleted"] for ops in body["changes"].values())
    assert town.shared.id in commissioner.ids("residents")


async def test_restricted_notes_reach_author_district_commissioner_and_coordinators(
    client, db, town: Town, now
) -> None:
    by_commissioner = await add_note(
        db, town, town.shared, town.commissioner, now - timedelta(hours=2), visibility="restricted"
    )
    by_volunteer = await add_note(
        db, town, town.shared, town.volunteer, now - timedelta(hours=1), visibility="restricted"
    )
    team = await add_note(db, town, town.shared, town.commissioner, now - timedelta(hours=3))
    volunteer, commissioner = await phone(client, "vol"), await phone(client, "comm", "phone-c")
    coordinator = await phone(client, "coord", "phone-x")
    for device in (volunteer, commissioner, coordinator):
        await device.pull()
    assert volunteer.ids("contact_notes") == {by_volunteer.id, team.id}
    assert commissioner.ids("contact_notes") == {by_commissioner.id, by_volunteer.id, team.id}
    assert coordinator.ids("contact_notes") == {by_commissioner.id, by_volunteer.id, team.id}
    async with db() as s:  # a team note becomes restricted: it leaves the volunteer's phone
        row = await s.get(ContactNote, team.id)
        row.visibility = "restricted"
    await volunteer.pull()
    assert volunteer.ids("contact_notes") == {by_volunteer.id}


async def test_resident_ended_or_tombstoned_leaves_every_phone(client, db, town: Town) -> None:
    commissioner = await phone(client, "comm")
    await commissioner.pull()
    async with db() as s:
        (await s.get(Resident, town.private.id)).status = ResidentStatus.ENDED
        (await s.get(Resident, town.shared.id)).deleted_at = utcnow()
    body = await commissioner.pull()
    assert sorted(body["changes"]["residents"]["deleted"]) == sorted([town.private.id, town.shared.id])
    assert body["changes"]["visits"]["deleted"] == [town.visit.id]
    assert commissioner.ids("residents") == set()


async def test_notes_age_out_and_visits_follow_the_horizon(client, db, town: Town, now) -> None:
    recent = await add_note(db, town, town.shared, town.commissioner, now - timedelta(days=170))
    ancient = await add_note(db, town, town.shared, town.commissioner, now - timedelta(days=400))
    device = await phone(client, "comm")
    await device.pull()
    assert device.ids("contact_notes") == {recent.id} and ancient.id not in device.ids("contact_notes")
    clock.advance(timedelta(days=11))  # the note is now 181 days old and the visit 10 days past
    device.headers = await login(client, "comm")
    body = await device.pull()
    assert body["changes"]["contact_notes"]["deleted"] == [recent.id]
    assert device.ids("visits") == {town.visit.id}
    clock.advance(timedelta(days=30))
    device.headers = await login(client, "comm")
    body = await device.pull()
    assert body["changes"]["visits"]["deleted"] == [town.visit.id]


async def test_notifications_are_the_users_own(client, db, town: Town) -> None:
    from notifications.outbox import enqueue

    async with db() as s:
        await enqueue(
            s, org_id=town.org.id, user_ids=[town.volunteer.id], kind="reminder", title="明日の訪問"
        )
        await enqueue(s, org_id=town.org.id, user_ids=[town.commissioner.id], kind="reminder", title="x")
    volunteer = await phone(client, "vol")
    body = await volunteer.pull()
    assert [n["title"] for n in body["changes"]["notifications"]["updated"]] == ["明日の訪問"]
    assert body["changes"]["alerts"]["updated"] == []  # volunteers do not handle alerts


async def test_district_change_moves_scope(client, db, town: Town) -> None:
    from domain.models import UserDistrict

    device = await phone(client, "comm")
    await device.pull()
    assert device.ids("residents") == {town.shared.id, town.private.id}
    async with db() as s:
        row = await s.scalar(select(UserDistrict).where(UserDistrict.user_id == town.commissioner.id))
        await s.delete(row)
        s.add(UserDistrict(org_id=town.org.id, user_id=town.commissioner.id, district_id=town.district_b.id))
    await device.pull()
    assert device.ids("residents") == {town.other.id}
    assert device.ids("visits") == set()


async def _change_role(client: Any, user_id: str, role: str, district_ids: list[str]) -> None:
    office = await login(client, "coord", device_id="office-pc")
    response = await client.patch(
        f"/api/v1/users/{user_id}", json={"role": role, "district_ids": district_ids}, headers=office
    )
    assert response.status_code == 200, response.text


HIDDEN_FROM_VOLUNTEERS = ("birth_year", "status_reason", "last_contact_at")


async def test_demoted_commissioner_phone_loses_what_volunteers_may_not_see(
    client, db, town: Town, now
) -> None:
    async with db() as s:  # the commissioner also backs up `shared`, who consents to volunteers
        shared = await s.get(Resident, town.shared.id)
        shared.status_reason, shared.last_contact_at = "入院の予定あり", now - timedelta(days=2)
        await assign(s, shared, await s.get(User, town.commissioner.id), AssignmentRole.BACKUP)
        s.add(
            EmergencyContact(org_id=town.org.id, resident_id=shared.id, name="佐藤 健", phone="090-1111-2222")
        )
    device = await phone(client, "comm")
    await device.pull()
    held = device.store["residents"][town.shared.id]
    assert (held["birth_year"], held["status_reason"]) == (1940, "入院の予定あり") and held["last_contact_at"]
    assert len(device.ids("emergency_contacts")) == 1

    await _change_role(client, town.commissioner.id, "volunteer", [])
    body = await device.pull()
    # `shared` stays in scope (assigned, consent for volunteers) and unchanged, yet is sent again:
    # every column the volunteer may not see goes as null, which clears it on the phone.
    [resent] = body["changes"]["residents"]["updated"]
    assert resent["id"] == town.shared.id
    assert all(resent[column] is None for column in HIDDEN_FROM_VOLUNTEERS), resent
    assert body["changes"]["residents"]["deleted"] == [town.private.id]
    assert device.ids("emergency_contacts") == set()  # family phone numbers are not for volunteers
    assert all(device.store["residents"][town.shared.id][c] is None for c in HIDDEN_FROM_VOLUNTEERS)
    # Then the phone is up to date: nothing more is sent.
    again = await device.pull()
    assert all(not ops["updated"] and not ops["deleted"] for ops in again["changes"].values())


async def test_promoted_volunteer_phone_gets_what_commissioners_see(client, db, town: Town) -> None:
    device = await phone(client, "vol")
    await device.pull()
    assert device.ids("residents") == {town.shared.id}
    assert device.store["residents"][town.shared.id]["birth_year"] is None

    await _change_role(client, town.volunteer.id, "commissioner", [town.district_a.id])
    body = await device.pull()
    sent = {r["id"]: r for r in body["changes"]["residents"]["updated"]}
    assert set(sent) == {town.shared.id, town.private.id}  # `shared` again, whole, with `private`
    assert sent[town.shared.id]["birth_year"] == 1940
    assert device.store["residents"][town.shared.id]["birth_year"] == 1940
