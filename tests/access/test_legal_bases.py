"""Legal bases are records of their own, from a fixed list, each covering only the recipients it
names; a withdrawal withdraws; recording and ending a basis reach lists and phones at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from domain.enums import ConsentRecipient, ConsentStatus, ResidentStatus, Role
from domain.legal_bases import LEGAL_BASES
from domain.models import AuditEvent
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.sync.device import Device


async def _town(db: Any) -> dict[str, Any]:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[district])
        volunteer = await make_user(s, org, Role.VOLUNTEER, "vol")
        # Declined sharing with the commissioner; consented to volunteers (and is assigned one).
        resident = await make_resident(s, org, district, name="根拠 花子")
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER, ConsentStatus.NOT_GIVEN)
        await give_consent(s, resident, ConsentRecipient.VOLUNTEERS)
        await assign(s, resident, volunteer)
        ended = await make_resident(s, org, district, name="終了 太郎", status=ResidentStatus.ENDED)
    return {"org": org, "resident": resident.id, "ended": ended.id}


async def test_the_list_of_bases_names_what_each_covers(client: Any, db: Any) -> None:
    await _town(db)
    coord = await login(client, "coord")
    rules = (await client.get("/api/v1/legal-bases", headers=coord)).json()
    assert {r["basis"]: set(r["covers"]) for r in rules} == {
        basis: {str(c) for c in rule.covers} for basis, rule in LEGAL_BASES.items()
    }
    # Volunteers are not council members nor named evacuation supporters: no basis covers them.
    assert all("volunteers" not in r["covers"] for r in rules)
    assert "孤独・孤立対策推進法" in next(r["law"] for r in rules if r["basis"] == "council_confidentiality")


async def test_recording_a_basis_for_a_recipient_it_does_not_cover_is_refused(client: Any, db: Any) -> None:
    town = await _town(db)
    coord = await login(client, "coord")
    url = f"/api/v1/residents/{town['resident']}/legal-bases"
    refused = await client.post(
        url, json={"basis": "evacuation_support_list", "recipient": "partner_npo"}, headers=coord
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["field"] == "recipient"
    assert "evacuation_support_list" in error["message"] and "district_commissioner" in error["message"]
    refused = await client.post(
        url, json={"basis": "council_confidentiality", "recipient": "volunteers"}, headers=coord
    )
    assert refused.status_code == 422
    unknown = await client.post(
        url, json={"basis": "common_sense", "recipient": "council_staff"}, headers=coord
    )
    assert unknown.status_code == 400
    assert (await client.get(url, headers=coord)).json() == []


async def test_only_coordinators_manage_legal_bases(client: Any, db: Any) -> None:
    town = await _town(db)
    url = f"/api/v1/residents/{town['resident']}/legal-bases"
    body = {"basis": "council_confidentiality", "recipient": "district_commissioner"}
    for login_name in ("comm", "vol"):
        headers = await login(client, login_name)
        assert (await client.post(url, json=body, headers=headers)).status_code == 403
        assert (await client.get(url, headers=headers)).status_code == 403
    coord = await login(client, "coord")
    ended = await client.post(f"/api/v1/residents/{town['ended']}/legal-bases", json=body, headers=coord)
    assert ended.status_code == 409


async def test_a_basis_shares_while_active_and_ending_it_purges_the_phone(client: Any, db: Any) -> None:
    town = await _town(db)
    rid = town["resident"]
    coord = await login(client, "coord")
    commissioner = await login(client, "comm")
    phone = Device(client, commissioner)
    await phone.pull()
    assert phone.ids("residents") == set()
    assert (await client.get(f"/api/v1/residents/{rid}", headers=commissioner)).status_code == 404

    url = f"/api/v1/residents/{rid}/legal-bases"
    body = {"basis": "council_confidentiality", "recipient": "district_commissioner", "note": "協議会 第3回"}
    recorded = await client.post(url, json=body, headers=coord)
    assert recorded.status_code == 201, recorded.text
    record = recorded.json()
    assert record["active"] is True and record["note"] == "協議会 第3回" and record["recorded_by"]
    assert (await client.post(url, json=body, headers=coord)).status_code == 409  # one active at a time

    pulled = await phone.pull()  # an incremental pull: the resident enters scope, whole
    assert [r["id"] for r in pulled["changes"]["residents"]["updated"]] == [rid]
    assert (await client.get(f"/api/v1/residents/{rid}", headers=commissioner)).status_code == 200
    consents = (await client.get(f"/api/v1/residents/{rid}/consents", headers=coord)).json()
    commissioner_consent = next(c for c in consents if c["recipient"] == "district_commissioner")
    assert commissioner_consent["status"] == "not_given" and commissioner_consent["covers"] is True
    assert commissioner_consent["legal_bases"] == ["council_confidentiality"]

    # A withdrawal of the volunteers' consent withdraws: no basis can keep a volunteer sharing.
    volunteer = await login(client, "vol")
    await client.post(f"/api/v1/residents/{rid}/consents/volunteers/withdraw", headers=coord)
    assert (await client.get(f"/api/v1/residents/{rid}", headers=volunteer)).status_code == 404

    end_url = f"{url}/{record['id']}/end"
    ended = await client.post(end_url, json={"reason": "協議会から脱退"}, headers=coord)
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert ended.json()["end_reason"] == "協議会から脱退"
    assert (await client.post(end_url, json={"reason": "again"}, headers=coord)).status_code == 409
    pulled = await phone.pull()
    assert pulled["changes"]["residents"]["deleted"] == [rid]
    assert (await client.get(f"/api/v1/residents/{rid}", headers=commissioner)).status_code == 404
    history = (await client.get(url, headers=coord)).json()
    assert [(h["basis"], h["active"]) for h in history] == [("council_confidentiality", False)]

    async with db() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.entity == "legal_basis"))).all()
    assert {e.action for e in events} == {"create", "end", "read"}
    for event in events:
        assert "協議会" not in str(event.detail)  # the note is personal data: named, never copied
