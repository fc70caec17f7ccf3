"""Migration syncs: a phone that upgrades its schema gets what its new columns need."""

from __future__ import annotations

import json
from datetime import timedelta

from sync import schema
from tests.sync.conftest import Town, add_note, ms, phone


async def test_upgraded_phone_receives_new_columns(client, db, town: Town, now) -> None:
    plain = await add_note(db, town, town.shared, town.commissioner, now - timedelta(days=2))
    signed = await add_note(
        db,
        town,
        town.shared,
        town.commissioner,
        now - timedelta(days=1),
        warning_signs=["mail_piling_up"],
        referral="地域包括支援センター",
    )
    device = await phone(client, "comm", version=1)
    await device.pull()
    assert "warning_signs" not in device.store["contact_notes"][signed.id]
    # a v1 phone pushing a note keeps working and cannot touch v2 columns
    own = device.create_note(town.shared.id, ms(now), warning_signs='["ignored"]')
    assert (await device.push())["applied"] == 1

    device.version = 2  # the app was updated: WatermelonDB migrates locally, then syncs with `migration`
    migration = {
        "from": 1,
        "tables": [],
        "columns": [
            {"table": "contact_notes", "columns": ["warning_signs", "referral", "wellbeing"]},
            {"table": "visits", "columns": ["kind"]},
        ],
    }
    body = await device.pull(migration=migration)
    notes = {r["id"]: r for r in body["changes"]["contact_notes"]["updated"]}
    assert signed.id in notes and plain.id not in notes
    assert json.loads(notes[signed.id]["warning_signs"]) == ["mail_piling_up"]
    assert notes[signed.id]["referral"] == "地域包括支援センター"
    assert set(notes[signed.id]) == {"id", *schema.column_names("contact_notes", 2)}
    assert [v["kind"] for v in body["changes"]["visits"]["updated"]] == ["planned"]
    assert own not in notes or notes[own]["warning_signs"] in (None, "[]")
    ids = [r["id"] for ops in body["changes"].values() for k in ("updated", "created") for r in ops[k]]
    assert len(ids) == len(set(ids))


async def test_migration_naming_a_table_sends_it_whole(client, town: Town) -> None:
    device = await phone(client, "comm")
    await device.pull()
    body = await device.pull(migration={"from": 1, "tables": ["residents"], "columns": []})
    assert {r["id"] for r in body["changes"]["residents"]["updated"]} == {town.shared.id, town.private.id}
