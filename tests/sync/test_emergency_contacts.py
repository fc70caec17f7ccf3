"""Emergency contacts on the phone (schema version 3): what the door needs, read-only, only for
those who may see family phone numbers, leaving the phone with the right to see them; older apps
never hear of the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from domain.models import EmergencyContact, QuarantinedRecord
from sync import schema
from tests.factories import login
from tests.sync.conftest import Town, ms, phone
from tests.sync.device import SyncRejected

CONTACT_FIELDS = {"id", "resident_id", "name", "relation", "phone", "priority", "created_at", "updated_at"}


@dataclass
class Contacts:
    son: EmergencyContact  # of `shared`, called first
    niece: EmergencyContact  # of `shared`
    sister: EmergencyContact  # of `private` (consent for the commissioner only)
    neighbour: EmergencyContact  # of `other` (district B)


@pytest.fixture
async def contacts(db: Any, town: Town) -> Contacts:
    async with db() as s:
        made = [
            EmergencyContact(
                org_id=town.org.id,
                resident_id=resident.id,
                name=name,
                relation=relation,
                phone=number,
                priority=priority,
            )
            for resident, name, relation, number, priority in (
                (town.shared, "佐藤 健", "長男", "090-1111-2222", 1),
                (town.shared, "佐藤 美咲", "姪", "080-3333-4444", 2),
                (town.private, "鈴木 和子", "妹", "03-5555-6666", 1),
                (town.other, "高橋 誠", "隣人", "070-7777-8888", 1),
            )
        ]
        s.add_all(made)
        await s.flush()
    return Contacts(*made)


def _contacts(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in body["changes"]["emergency_contacts"]["updated"]}


async def _office(client: Any) -> dict[str, str]:
    return await login(client, "coord", device_id="office-pc")


async def test_commissioner_in_scope_gets_the_contacts(client, town: Town, contacts: Contacts) -> None:
    device = await phone(client, "comm")
    body = await device.pull()
    sent = _contacts(body)
    # the residents of their district who consent to the commissioner; not district B's
    assert set(sent) == {contacts.son.id, contacts.niece.id, contacts.sister.id}
    son = sent[contacts.son.id]
    assert set(son) == CONTACT_FIELDS
    assert son["resident_id"] == town.shared.id
    assert (son["name"], son["relation"], son["phone"], son["priority"]) == (
        "佐藤 健",
        "長男",
        "090-1111-2222",
        1,
    )
    assert son["created_at"] == ms(contacts.son.created_at)
    assert body["changes"]["emergency_contacts"]["created"] == []

    other = await phone(client, "comm-b", "phone-b")
    assert set(_contacts(await other.pull())) == {contacts.neighbour.id}
    office_phone = await phone(client, "coord", "phone-c")
    assert set(_contacts(await office_phone.pull())) == {
        contacts.son.id,
        contacts.niece.id,
        contacts.sister.id,
        contacts.neighbour.id,
    }


async def test_volunteer_never_gets_contacts(client, db, town: Town, contacts: Contacts) -> None:
    device = await phone(client, "vol")
    body = await device.pull()
    # the volunteer holds the resident (assigned, consent) but not the family's phone numbers
    assert device.ids("residents") == {town.shared.id}
    assert body["changes"]["emergency_contacts"] == {"created": [], "updated": [], "deleted": []}
    response = await client.patch(
        f"/api/v1/residents/{town.shared.id}",
        json={
            "emergency_contacts": [
                {"id": contacts.son.id, "name": "佐藤 健", "relation": "長男", "phone": "090-9999-0000"},
                {"id": contacts.niece.id, "name": "佐藤 美咲", "relation": "姪", "phone": "080-3333-4444"},
            ]
        },
        headers=await _office(client),
    )
    assert response.status_code == 200, response.text
    assert not (await device.pull())["changes"]["emergency_contacts"]["updated"]
    assert device.ids("emergency_contacts") == set()


async def test_withdrawn_consent_deletes_the_contacts_on_next_pull(
    client, town: Town, contacts: Contacts
) -> None:
    device = await phone(client, "comm")
    await device.pull()
    assert contacts.sister.id in device.ids("emergency_contacts")
    office = await _office(client)
    withdrawn = await client.post(
        f"/api/v1/residents/{town.private.id}/consents/district_commissioner/withdraw", headers=office
    )
    assert withdrawn.status_code == 200, withdrawn.text

    body = await device.pull()
    assert body["changes"]["emergency_contacts"]["deleted"] == [contacts.sister.id]
    assert body["changes"]["residents"]["deleted"] == [town.private.id]
    assert device.ids("emergency_contacts") == {contacts.son.id, contacts.niece.id}

    # consent given again: the resident comes back with their contacts
    given = await client.put(
        f"/api/v1/residents/{town.private.id}/consents/district_commissioner",
        json={"status": "given"},
        headers=office,
    )
    assert given.status_code == 200, given.text
    assert set(_contacts(await device.pull())) == {contacts.sister.id}
    assert contacts.sister.id in device.ids("emergency_contacts")


async def test_office_edits_reach_the_phone(client, town: Town, contacts: Contacts) -> None:
    device = await phone(client, "comm")
    await device.pull()
    response = await client.patch(
        f"/api/v1/residents/{town.shared.id}",
        json={
            "emergency_contacts": [  # the son has a new number, the niece is replaced by a daughter
                {"id": contacts.son.id, "name": "佐藤 健", "relation": "長男", "phone": "090-9999-0000"},
                {"name": "山本 恵", "relation": "長女", "phone": "080-1234-5678", "priority": 2},
            ]
        },
        headers=await _office(client),
    )
    assert response.status_code == 200, response.text

    body = await device.pull()
    sent = _contacts(body)
    assert sent[contacts.son.id]["phone"] == "090-9999-0000"
    [daughter] = [r for i, r in sent.items() if i != contacts.son.id]
    assert (daughter["name"], daughter["relation"], daughter["priority"]) == ("山本 恵", "長女", 2)
    assert body["changes"]["emergency_contacts"]["deleted"] == [contacts.niece.id]
    assert device.ids("emergency_contacts") == {contacts.son.id, daughter["id"], contacts.sister.id}
    assert device.store["emergency_contacts"][contacts.son.id]["phone"] == "090-9999-0000"


@pytest.mark.parametrize("version", [1, 2])
async def test_older_app_versions_see_no_such_table(
    client, town: Town, contacts: Contacts, version: int
) -> None:
    device = await phone(client, "comm", version=version)
    body = await device.pull()
    assert set(body["changes"]) == set(schema.tables(version))
    assert "emergency_contacts" not in body["changes"]
    assert device.ids("residents") == {town.shared.id, town.private.id}
    old_schema = (await client.get(f"/api/v1/sync/schema?version={version}")).json()
    assert "emergency_contacts" not in [t["name"] for t in old_schema["tables"]]

    # an office edit of a contact is nothing to this phone
    response = await client.patch(
        f"/api/v1/residents/{town.private.id}",
        json={
            "emergency_contacts": [{"id": contacts.sister.id, "name": "鈴木 和子", "phone": "03-0000-1111"}]
        },
        headers=await _office(client),
    )
    assert response.status_code == 200, response.text
    quiet = await device.pull()
    assert "emergency_contacts" not in quiet["changes"]
    assert all(not any(ops.values()) for ops in quiet["changes"].values())

    # the table is unknown to this version's pushes, as any unknown table
    headers = {**device.headers, "content-type": "application/json", "Accept-Language": "en"}
    refused = await client.post(
        f"/api/v1/sync/push?last_pulled_at={device.last_pulled_at}&schema_version={version}",
        content=b'{"emergency_contacts": {"created": [], "updated": [], "deleted": []}}',
        headers=headers,
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "error.sync.unknown_table"
    with pytest.raises(SyncRejected) as bad_migration:
        await device.pull(migration={"from": 1, "tables": ["emergency_contacts"], "columns": []})
    assert bad_migration.value.status == 400

    # the app is updated: WatermelonDB creates the table locally, then syncs with `migration`
    device.version = 3
    upgraded = await device.pull(migration={"from": version, "tables": ["emergency_contacts"], "columns": []})
    assert set(_contacts(upgraded)) == {contacts.son.id, contacts.niece.id, contacts.sister.id}
    assert _contacts(upgraded)[contacts.sister.id]["phone"] == "03-0000-1111"


async def test_pushes_are_held_and_the_office_version_comes_back(
    client, db, town: Town, contacts: Contacts
) -> None:
    device = await phone(client, "comm")
    await device.pull()
    device.update("emergency_contacts", contacts.son.id, phone="000-0000-0000")
    device.delete("emergency_contacts", contacts.sister.id)
    made = device.create("emergency_contacts", resident_id=town.shared.id, name="偽 名", phone="1")
    result = await device.push()
    assert result is not None and result["applied"] == 0
    assert {(q["table"], q["id"]) for q in result["quarantined"]} == {
        ("emergency_contacts", contacts.son.id),
        ("emergency_contacts", contacts.sister.id),
        ("emergency_contacts", made),
    }
    async with db() as s:
        rows = {c.id: c for c in (await s.scalars(select(EmergencyContact))).all()}
        assert made not in rows
        assert rows[contacts.son.id].phone == "090-1111-2222"
        assert rows[contacts.sister.id].deleted_at is None
        held = (await s.scalars(select(QuarantinedRecord))).all()
        assert {h.record_id for h in held} == {contacts.son.id, contacts.sister.id, made}

    # the next pull puts the office's version back on the phone and drops the made-up one
    body = await device.pull()
    assert _contacts(body)[contacts.son.id]["phone"] == "090-1111-2222"
    assert contacts.sister.id in _contacts(body)
    assert body["changes"]["emergency_contacts"]["deleted"] == [made]
    assert device.ids("emergency_contacts") == {contacts.son.id, contacts.niece.id, contacts.sister.id}
    assert device.store["emergency_contacts"][contacts.son.id]["phone"] == "090-1111-2222"

    # the coordinator reads why, in plain words
    listing = await client.get(
        "/api/v1/sync/quarantine", headers={**await _office(client), "Accept-Language": "en"}
    )
    [entry, *_] = listing.json()["items"]
    assert entry["table_text"] == "emergency contact"
    assert entry["reason_text"] == (
        "The office keeps this record: it cannot be created, changed or deleted from a phone. "
        "Please ask a coordinator to change it."
    )


async def test_a_volunteer_cannot_push_contacts_either(client, db, town: Town) -> None:
    device = await phone(client, "vol")
    await device.pull()
    made = device.create("emergency_contacts", resident_id=town.shared.id, name="知人", phone="090-0000-0000")
    result = await device.push()
    assert result is not None and result["applied"] == 0
    assert [q["id"] for q in result["quarantined"]] == [made]
    async with db() as s:
        assert (await s.scalars(select(EmergencyContact))).all() == []
    body = await device.pull()  # the held record leaves the phone; nothing else arrives
    assert body["changes"]["emergency_contacts"] == {"created": [], "updated": [], "deleted": [made]}
    assert device.ids("emergency_contacts") == set()
