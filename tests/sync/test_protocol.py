"""The wire protocol as WatermelonDB 0.28 speaks it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from domain.clock import clock
from domain.models import ContactNote
from domain.models import Device as DeviceRow
from sync import schema
from tests.factories import login
from tests.sync.conftest import Town, ms, phone
from tests.sync.device import SyncRejected


def _shape_ok(body: dict[str, Any]) -> None:
    assert set(body) == {"changes", "timestamp"}
    assert isinstance(body["timestamp"], int) and 0 < body["timestamp"] < 2**53
    assert set(body["changes"]) == set(schema.TABLE_NAMES)
    for ops in body["changes"].values():
        assert set(ops) == {"created", "updated", "deleted"}


async def test_every_record_comes_under_updated_first_sync_too(client, db, town: Town) -> None:
    # With `sendCreatedAsUpdated: true` WatermelonDB reports anything under `created` as an error.
    device = await phone(client, "comm")
    body = await device.pull()
    _shape_ok(body)
    assert all(ops["created"] == [] for ops in body["changes"].values())
    residents = body["changes"]["residents"]["updated"]
    assert {r["id"] for r in residents} == {town.shared.id, town.private.id}
    sent = next(r for r in residents if r["id"] == town.shared.id)
    assert set(sent) == {"id", *schema.column_names("residents")}
    assert sent["created_at"] == ms(town.shared.created_at) and isinstance(sent["created_at"], int)
    assert [v["id"] for v in body["changes"]["visits"]["updated"]] == [town.visit.id]
    assert body["changes"]["visits"]["updated"][0]["due_start"] == ms(town.visit.due_start)

    nothing = await device.pull()
    _shape_ok(nothing)
    assert all(not any(ops.values()) for ops in nothing["changes"].values())
    assert nothing["timestamp"] >= body["timestamp"]

    async with db() as s:
        resident = await s.get(type(town.shared), town.shared.id)
        resident.support_needs = "配食サービス"
    changed = await device.pull()
    assert changed["changes"]["residents"]["created"] == []
    assert [r["support_needs"] for r in changed["changes"]["residents"]["updated"]] == ["配食サービス"]
    assert changed["timestamp"] > nothing["timestamp"]


async def test_cursor_is_the_feed_not_a_clock(client, db, town: Town) -> None:
    device = await phone(client, "comm")
    first = await device.pull()
    clock.set(clock.now().replace(year=2027))  # the clock moves, the feed does not
    device.headers = await login(client, "comm")
    again = await device.pull()
    assert again["timestamp"] < 2**53 and again["timestamp"] >= first["timestamp"]
    assert again["timestamp"] < 10**9  # a feed position, not milliseconds since 1970


async def test_volunteer_gets_only_volunteer_fields(client, town: Town) -> None:
    device = await phone(client, "vol")
    body = await device.pull()
    [resident] = body["changes"]["residents"]["updated"]
    assert resident["id"] == town.shared.id
    assert "birth_year" not in resident and "last_contact_at" not in resident
    assert resident["name"] == "佐藤 一郎"


async def test_pull_and_push_record_the_device_sync(client, db, town: Town, now) -> None:
    device = await phone(client, "vol")
    await device.pull()
    async with db() as s:
        row = await s.scalar(select(DeviceRow).where(DeviceRow.user_id == town.volunteer.id))
        assert row.last_sync_at == now


async def test_schema_is_app_schema_with_migrations(client) -> None:
    body = (await client.get("/api/v1/sync/schema")).json()
    assert body["version"] == schema.LATEST_VERSION
    assert [t["name"] for t in body["tables"]] == list(schema.TABLE_NAMES)
    for table in body["tables"]:
        columns = {c["name"]: c for c in table["columns"]}
        for stamp in ("created_at", "updated_at"):
            assert columns[stamp] == {"name": stamp, "type": "number"}
        for column in table["columns"]:
            assert column["type"] in ("string", "number", "boolean")
            assert set(column) <= {"name", "type", "isOptional", "isIndexed"}
    step, step_3, step_4, step_5 = body["migrations"]
    assert step["toVersion"] == 2 and step_3["toVersion"] == 3 and step_4["toVersion"] == 4
    # version 5 adds the liaison's counterpart to the activities (created by v4 without it)
    assert step_5 == {
        "toVersion": 5,
        "steps": [
            {
                "type": "add_columns",
                "table": "commissioner_activities",
                "columns": [{"name": "counterpart", "type": "string", "isOptional": True}],
            }
        ],
    }
    # version 4 adds the notes' support field and topic and creates the commissioners' activities
    assert step_4["steps"] == [
        {
            "type": "add_columns",
            "table": "contact_notes",
            "columns": [
                {"name": "support_field", "type": "string", "isOptional": True},
                {"name": "support_topic", "type": "string", "isOptional": True},
            ],
        },
        {
            "type": "create_table",
            "schema": {
                "name": "commissioner_activities",
                "columns": [
                    {"name": "commissioner_id", "type": "string"},
                    {"name": "district_id", "type": "string", "isOptional": True},
                    {"name": "kind", "type": "string"},
                    {"name": "activity_date", "type": "string", "isIndexed": True},
                    {"name": "count", "type": "number", "isOptional": True},
                    {"name": "memo", "type": "string"},
                    {"name": "created_at", "type": "number"},
                    {"name": "updated_at", "type": "number"},
                ],
            },
        },
    ]
    # version 3 creates the (read-only) emergency contacts table, whole
    [create] = step_3["steps"]
    assert create["type"] == "create_table" and create["schema"]["name"] == "emergency_contacts"
    assert [c["name"] for c in create["schema"]["columns"]] == [
        "resident_id",
        "name",
        "relation",
        "phone",
        "priority",
        "created_at",
        "updated_at",
    ]
    assert {
        "type": "add_columns",
        "table": "contact_notes",
        "columns": [
            {"name": "warning_signs", "type": "string", "isOptional": True},
            {"name": "referral", "type": "string", "isOptional": True},
            {"name": "wellbeing", "type": "string", "isOptional": True},
        ],
    } in step["steps"]
    old = (await client.get("/api/v1/sync/schema?version=1")).json()
    assert old["version"] == 1 and old["migrations"] == []
    notes = next(t for t in old["tables"] if t["name"] == "contact_notes")
    assert "warning_signs" not in {c["name"] for c in notes["columns"]}


async def test_older_phone_gets_its_own_columns(client, town: Town) -> None:
    device = await phone(client, "comm", version=1)
    body = await device.pull()
    visit = body["changes"]["visits"]["updated"][0]
    assert "kind" not in visit and set(visit) == {"id", *schema.column_names("visits", 1)}


async def test_malformed_requests_are_400_naming_the_problem(client, town: Town) -> None:
    headers = {**await login(client, "comm"), "Accept-Language": "en"}
    cases = [
        ("get", "/api/v1/sync/pull?last_pulled_at=abc", None, "error.sync.bad_cursor"),
        ("get", "/api/v1/sync/pull?last_pulled_at=-5", None, "error.sync.bad_cursor"),
        ("get", "/api/v1/sync/pull?last_pulled_at=1.5", None, "error.sync.bad_cursor"),
        ("get", "/api/v1/sync/pull?schema_version=99", None, "error.sync.bad_schema_version"),
        ("get", "/api/v1/sync/pull?migration=%7Bbad", None, "error.sync.bad_migration"),
        (
            "get",
            '/api/v1/sync/pull?migration={"from":1,"tables":["users"],"columns":[]}',
            None,
            "error.sync.unknown_table",
        ),
        (
            "get",
            '/api/v1/sync/pull?migration={"from":1,"tables":[],"columns":[{"table":"residents",'
            '"columns":["password_hash"]}]}',
            None,
            "error.sync.unknown_column",
        ),
        ("post", "/api/v1/sync/push?last_pulled_at=1", b"not json", "error.sync.not_json"),
        ("post", "/api/v1/sync/push?last_pulled_at=1", b"[1,2]", "error.sync.malformed"),
        (
            "post",
            "/api/v1/sync/push?last_pulled_at=1",
            b'{"users": {"created": [], "updated": [], "deleted": []}}',
            "error.sync.unknown_table",
        ),
        (
            "post",
            "/api/v1/sync/push?last_pulled_at=1",
            b'{"contact_notes": {"created": [{"id": "bad id!"}], "updated": [], "deleted": []}}',
            "error.sync.bad_id",
        ),
        (
            "post",
            "/api/v1/sync/push?last_pulled_at=1",
            b'{"contact_notes": {"created": [], "updated": [], "deleted": ["' + b"x" * 65 + b'"]}}',
            "error.sync.bad_id",
        ),
        (
            "post",
            "/api/v1/sync/push?last_pulled_at=1",
            b'{"contact_notes": {"created": "x", "updated": [], "deleted": []}}',
            "error.sync.malformed",
        ),
        (
            "post",
            "/api/v1/sync/push?last_pulled_at=1",
            b'{"contact_notes": {"created": [{"id": "a"}], "updated": [], "deleted": ["a"]}}',
            "error.sync.duplicate_id",
        ),
    ]
    for method, url, body, code in cases:
        if method == "get":
            response = await client.get(url, headers=headers)
        else:
            response = await client.post(url, content=body, headers=headers)
        assert response.status_code == 400, (url, body, response.text)
        problem = response.json()
        assert problem["code"] == code, (url, body, problem)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["title"] and not problem["title"].startswith("error.")


async def test_revoked_device_is_told_to_wipe(client, db, town: Town) -> None:
    device = await phone(client, "vol")
    await device.pull()
    assert device.ids("residents")
    async with db() as s:
        row = await s.scalar(select(DeviceRow).where(DeviceRow.user_id == town.volunteer.id))
        row.revoked_at = clock.now()
    device.create_note(town.shared.id, ms(clock.now()))
    with pytest.raises(SyncRejected) as rejected:
        await device.pull()
    assert rejected.value.status == 401 and rejected.value.body["wipe"] is True
    assert device.wiped and not any(device.store.values())
    response = await client.post("/api/v1/sync/push?last_pulled_at=1", content=b"{}", headers=device.headers)
    assert response.status_code == 401 and response.json()["wipe"] is True
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(ContactNote)) == 0
