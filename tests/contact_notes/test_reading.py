"""Reading contact notes over REST (#10 item 8): who may see which note, filters in the
organisation's calendar, pagination, and bad filters answered 400/422 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.models import AuditEvent
from tests.factories import login
from tests.sync.conftest import Town, add_note


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [n["id"] for n in response.json()["items"]]


async def test_a_volunteer_cannot_list_or_read_notes_of_a_resident_not_theirs(
    client, db, town: Town, now
) -> None:
    theirs = await add_note(db, town, town.shared, town.commissioner, now - timedelta(hours=2))
    not_theirs = await add_note(db, town, town.private, town.commissioner, now - timedelta(hours=1))
    vol = await login(client, "vol")

    assert (
        await client.get(f"/api/v1/residents/{town.private.id}/contact-notes", headers=vol)
    ).status_code == 404
    assert (await client.get(f"/api/v1/contact-notes/{not_theirs.id}", headers=vol)).status_code == 404
    assert _ids(await client.get("/api/v1/contact-notes", headers=vol)) == [theirs.id]
    # ... while the district's commissioner sees both, newest contact first.
    comm = await login(client, "comm", device_id="phone-2")
    assert _ids(await client.get("/api/v1/contact-notes", headers=comm)) == [not_theirs.id, theirs.id]
    read = await client.get(f"/api/v1/contact-notes/{not_theirs.id}", headers=comm)
    assert read.status_code == 200 and read.json()["author_name"] == "comm"


async def test_restricted_notes_reach_only_their_author_the_district_commissioner_and_coordinators(
    client, db, town: Town, now
) -> None:
    restricted = await add_note(
        db, town, town.shared, town.commissioner, now - timedelta(hours=3), visibility="restricted"
    )
    own = await add_note(
        db, town, town.shared, town.volunteer, now - timedelta(hours=2), visibility="restricted"
    )
    team = await add_note(db, town, town.shared, town.commissioner, now - timedelta(hours=1))

    vol = await login(client, "vol")
    assert _ids(await client.get(f"/api/v1/residents/{town.shared.id}/contact-notes", headers=vol)) == [
        team.id,
        own.id,
    ]
    assert (await client.get(f"/api/v1/contact-notes/{restricted.id}", headers=vol)).status_code == 404
    for name in ("comm", "coord"):
        headers = await login(client, name, device_id=f"{name}-pc")
        listed = _ids(await client.get(f"/api/v1/residents/{town.shared.id}/contact-notes", headers=headers))
        assert listed == [team.id, own.id, restricted.id], name


async def test_withdrawn_consent_hides_the_notes_at_once(client, db, town: Town, now) -> None:
    note = await add_note(db, town, town.shared, town.volunteer, now - timedelta(hours=1))
    vol = await login(client, "vol")
    assert (await client.get(f"/api/v1/contact-notes/{note.id}", headers=vol)).status_code == 200

    coord = await login(client, "coord", device_id="office")
    withdrawn = await client.post(
        f"/api/v1/residents/{town.shared.id}/consents/volunteers/withdraw", json={}, headers=coord
    )
    assert withdrawn.status_code == 200, withdrawn.text

    assert (await client.get(f"/api/v1/contact-notes/{note.id}", headers=vol)).status_code == 404
    assert (
        await client.get(f"/api/v1/residents/{town.shared.id}/contact-notes", headers=vol)
    ).status_code == 404
    assert _ids(await client.get("/api/v1/contact-notes", headers=vol)) == []
    recorded = await client.post(
        f"/api/v1/residents/{town.shared.id}/contact-notes",
        json={"method": "phone", "outcome": "met_well"},
        headers=vol,
    )
    assert recorded.status_code == 404
    patched = await client.patch(f"/api/v1/contact-notes/{note.id}", json={"body": "x"}, headers=vol)
    assert patched.status_code == 404


async def test_the_period_is_local_days_in_the_organisations_time_zone(client, db, town: Town, now) -> None:
    # 31 May 23:30 and 1 June 00:30 in Tokyo: both fall on 31 May in UTC.
    late_evening = await add_note(
        db, town, town.shared, town.commissioner, datetime(2026, 5, 31, 14, 30, tzinfo=UTC)
    )
    after_midnight = await add_note(
        db, town, town.shared, town.commissioner, datetime(2026, 5, 31, 15, 30, tzinfo=UTC)
    )
    comm = await login(client, "comm")

    june_first = {"from": "2026-06-01", "to": "2026-06-01"}
    assert _ids(await client.get("/api/v1/contact-notes", params=june_first, headers=comm)) == [
        after_midnight.id
    ]
    may_last = {"from": "2026-05-31", "to": "2026-05-31"}
    assert _ids(await client.get("/api/v1/contact-notes", params=may_last, headers=comm)) == [late_evening.id]
    assert _ids(await client.get("/api/v1/contact-notes", params={"to": "2026-05-31"}, headers=comm)) == [
        late_evening.id
    ]


async def test_filters_by_district_method_outcome_and_author(client, db, town: Town, now) -> None:
    call = await add_note(db, town, town.shared, town.commissioner, now - timedelta(hours=4), method="phone")
    worry = await add_note(
        db, town, town.private, town.commissioner, now - timedelta(hours=3), outcome="met_concern"
    )
    by_volunteer = await add_note(db, town, town.shared, town.volunteer, now - timedelta(hours=2))
    elsewhere = await add_note(db, town, town.other, town.commissioner_b, now - timedelta(hours=1))
    coord = await login(client, "coord")

    def listed(**params: str):
        return client.get("/api/v1/contact-notes", params=params, headers=coord)

    assert _ids(await listed(district_id=town.district_a.id)) == [by_volunteer.id, worry.id, call.id]
    assert _ids(await listed(district_id=town.district_b.id)) == [elsewhere.id]
    assert _ids(await listed(method="phone")) == [call.id]
    assert _ids(await listed(outcome="met_concern")) == [worry.id]
    assert _ids(await listed(author_id=town.volunteer.id)) == [by_volunteer.id]
    assert _ids(await listed(district_id=town.district_a.id, author_id=town.commissioner_b.id)) == []
    # A commissioner asking for another district gets nothing they may not see.
    comm = await login(client, "comm", device_id="phone-2")
    other = await client.get(
        "/api/v1/contact-notes", params={"district_id": town.district_b.id}, headers=comm
    )
    assert _ids(other) == []


async def test_lists_are_paginated_and_the_read_is_audited(client, db, town: Town, now) -> None:
    notes = [
        await add_note(db, town, town.shared, town.commissioner, now - timedelta(hours=10 - i))
        for i in range(5)
    ]
    newest_first = [n.id for n in reversed(notes)]
    comm = await login(client, "comm")
    pages = []
    for page in (1, 2, 3):
        response = await client.get(
            f"/api/v1/residents/{town.shared.id}/contact-notes",
            params={"page": page, "page_size": 2},
            headers=comm,
        )
        body = response.json()
        assert (body["total"], body["page"], body["page_size"]) == (5, page, 2)
        pages.append(_ids(response))
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]
    async with db() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.entity == "contact_note"))).all()
    assert sorted(e.detail["note_ids"] for e in events) == sorted(pages)
    assert all("body" in e.detail["fields"] and "電話" not in str(e.detail) for e in events)


async def test_bad_filters_are_refused_naming_the_field(client, town: Town, now) -> None:
    comm = await login(client, "comm")

    async def problem(params: dict[str, str | int]) -> tuple[int, list[str]]:
        response = await client.get("/api/v1/contact-notes", params=params, headers=comm)
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        return response.status_code, [e["field"] for e in response.json().get("errors", [])]

    assert await problem({"from": "2026-13-01"}) == (400, ["from"])
    assert await problem({"to": "yesterday"}) == (400, ["to"])
    assert await problem({"method": "fax"}) == (400, ["method"])
    assert await problem({"outcome": "fine"}) == (400, ["outcome"])
    assert await problem({"author_id": "a b"}) == (400, ["author_id"])
    assert await problem({"page": 0}) == (400, ["page"])
    assert await problem({"from": "2026-06-02", "to": "2026-06-01"}) == (422, ["to"])
    assert await problem({"district_id": "no-such-district"}) == (422, ["district_id"])
    assert await problem({"to": "9999-12-31"}) == (422, ["to"])
    assert await problem({"from": "0001-01-01"}) == (422, ["from"])
    english = await client.get(
        "/api/v1/contact-notes",
        params={"from": "2026-06-02", "to": "2026-06-01"},
        headers={**comm, "Accept-Language": "en"},
    )
    assert english.json()["errors"][0]["message"] == "The end of the period is before its start."


async def test_the_endpoints_are_in_the_openapi_document(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {
        op["operationId"]
        for path, methods in schema["paths"].items()
        if "contact-notes" in path
        for op in methods.values()
    }
    assert operations == {
        "listResidentContactNotes",
        "recordContactNote",
        "listContactNotes",
        "getContactNote",
        "correctContactNote",
        "listContactNoteRevisions",
    }
    recording = schema["paths"]["/api/v1/residents/{resident_id}/contact-notes"]["post"]["responses"]
    assert {"200", "201"} <= set(recording)  # 200: the same client-made id sent again
