"""A simulated WatermelonDB phone: a local store with `_status` / `_changed` dirty tracking,
`synchronize()` = pull, apply (per-column merge), push, mark as synced — as WatermelonDB 0.28 does
with `sendCreatedAsUpdated: true` — plus the faults phones meet (a lost response, a killed app)."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any
from urllib.parse import quote

from sync import schema

ALPHABET = string.ascii_letters + string.digits


class LostResponse(Exception):
    """The request reached the server; the phone never saw the answer."""


class SyncConflict(Exception):
    pass


class ConcurrentSync(Exception):
    """WatermelonDB refuses to apply a pull whose cursor is no longer the local one: another
    `synchronize()` of the same database applied its answer first."""


class SyncRejected(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def _default(column: schema.Column) -> Any:
    if column.optional:
        return None
    return {"string": "", "number": 0, "boolean": False}[column.type]


class Device:
    def __init__(self, client: Any, headers: dict[str, str], *, version: int = schema.LATEST_VERSION) -> None:
        self.client = client
        self.headers = headers
        self.version = version
        self.store: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in schema.TABLE_NAMES}
        self.last_pulled_at: int | None = None
        self.wiped = False
        self.sent: list[tuple[str, str, bytes | None]] = []  # (method, url, body): for late duplicates

    # --- local edits, as the app's models do them ------------------------------------------------
    def _sanitize(self, table: str, raw: dict[str, Any]) -> dict[str, Any]:
        record = {"id": raw["id"]}
        for column in schema.columns(table, self.version):
            record[column.name] = raw.get(column.name, _default(column))
        return record

    def create(self, table: str, **fields: Any) -> str:
        record_id = "".join(secrets.choice(ALPHABET) for _ in range(16))
        record = self._sanitize(table, {"id": record_id, **fields})
        record["_status"], record["_changed"] = "created", ""
        self.store[table][record_id] = record
        return record_id

    def create_note(self, resident_id: str, occurred_at: int, **fields: Any) -> str:
        values = {
            "resident_id": resident_id,
            "method": "home_visit",
            "outcome": "met_well",
            "body": "",
            "occurred_at": occurred_at,
            "follow_up_needed": False,
            "visibility": "team",
            "created_at": occurred_at,
            "updated_at": occurred_at,
        }
        values.update(fields)
        return self.create("contact_notes", **values)

    def update(self, table: str, record_id: str, **fields: Any) -> None:
        record = self.store[table][record_id]
        changed = set(filter(None, record["_changed"].split(",")))
        for name, value in fields.items():
            record[name] = value
            changed.add(name)
        if record["_status"] == "synced":
            record["_status"] = "updated"
        record["_changed"] = ",".join(sorted(changed))  # tracked for created records too

    def delete(self, table: str, record_id: str) -> None:
        record = self.store[table][record_id]
        if record["_status"] == "created":
            del self.store[table][record_id]
        else:
            record["_status"] = "deleted"

    def ids(self, table: str) -> set[str]:
        return {i for i, r in self.store[table].items() if r["_status"] != "deleted"}

    def has_local_changes(self) -> bool:
        return any(r["_status"] != "synced" for t in self.store.values() for r in t.values())

    # --- synchronize() ---------------------------------------------------------------------------
    async def pull(
        self, *, lose_response: bool = False, migration: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        cursor = "null" if self.last_pulled_at is None else str(self.last_pulled_at)
        url = f"/api/v1/sync/pull?last_pulled_at={cursor}&schema_version={self.version}"
        url += "&migration=" + (quote(json.dumps(migration)) if migration else "null")
        self.sent.append(("GET", url, None))
        response = await self.client.get(url, headers=self.headers)
        if response.status_code == 401 and response.json().get("wipe"):
            self.store = {t: {} for t in schema.TABLE_NAMES}
            self.wiped = True
        if response.status_code != 200:
            raise SyncRejected(response.status_code, response.json())
        body = response.json()
        if lose_response:
            raise LostResponse()
        if self.last_pulled_at != (None if cursor == "null" else int(cursor)):
            raise ConcurrentSync()
        self._apply_remote(body["changes"])
        self.last_pulled_at = body["timestamp"]
        return body

    def _apply_remote(self, changes: dict[str, Any]) -> None:
        seen: set[tuple[str, str]] = set()
        for table, ops in changes.items():
            assert set(ops) == {"created", "updated", "deleted"}, ops
            # sendCreatedAsUpdated: true — WatermelonDB logs anything under `created` as an error
            assert ops["created"] == [], f"{table}: records sent under created"
            local = self.store[table]
            for op in ("created", "updated"):
                for raw in ops[op]:
                    assert (table, raw["id"]) not in seen, f"{table}/{raw['id']} sent twice"
                    seen.add((table, raw["id"]))
                    assert "_status" not in raw and "_changed" not in raw
                    assert set(raw) <= {"id", *schema.column_names(table, self.version)}, raw
                    existing = local.get(raw["id"])
                    remote = self._sanitize(table, raw)
                    if existing is None:
                        local[raw["id"]] = {**remote, "_status": "synced", "_changed": ""}
                    elif existing["_status"] == "deleted":
                        continue  # the local deletion will be pushed
                    else:  # WatermelonDB's resolveConflict: remote, then locally changed columns
                        changed = set(filter(None, existing["_changed"].split(",")))
                        merged = {**existing, **remote, **{c: existing[c] for c in changed}}
                        merged["_status"], merged["_changed"] = existing["_status"], existing["_changed"]
                        local[raw["id"]] = merged
            for record_id in ops["deleted"]:
                assert (table, record_id) not in seen, f"{table}/{record_id} sent twice"
                seen.add((table, record_id))
                local.pop(record_id, None)

    def local_changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for table in schema.tables(self.version):  # as WatermelonDB: the tables of its own schema
            records = self.store[table]
            ops: dict[str, list[Any]] = {"created": [], "updated": [], "deleted": []}
            for record in records.values():
                if record["_status"] == "created":
                    ops["created"].append(dict(record))
                elif record["_status"] == "updated":
                    ops["updated"].append(dict(record))
                elif record["_status"] == "deleted":
                    ops["deleted"].append(record["id"])
            changes[table] = ops
        return changes

    async def push(self, *, lose_response: bool = False) -> dict[str, Any] | None:
        changes = self.local_changes()
        if not any(any(ops.values()) for ops in changes.values()):
            return None
        snapshot = json.dumps(changes, sort_keys=True)
        cursor = self.last_pulled_at or 0
        url = f"/api/v1/sync/push?last_pulled_at={cursor}&schema_version={self.version}"
        self.sent.append(("POST", url, json.dumps(changes).encode()))
        response = await self.client.post(
            url, content=self.sent[-1][2], headers={**self.headers, "content-type": "application/json"}
        )
        if response.status_code == 409:
            raise SyncConflict(response.json())
        if response.status_code != 200:
            raise SyncRejected(response.status_code, response.json())
        if lose_response:
            raise LostResponse()
        self._mark_synced(json.loads(snapshot))
        return response.json()

    def _mark_synced(self, pushed: dict[str, Any]) -> None:
        """Records unchanged since they were pushed become synced; deleted ones are destroyed."""
        for table, ops in pushed.items():
            local = self.store[table]
            for op in ("created", "updated"):
                for sent in ops[op]:
                    current = local.get(sent["id"])
                    if current is not None and current == sent:
                        current["_status"], current["_changed"] = "synced", ""
            for record_id in ops["deleted"]:
                if local.get(record_id, {}).get("_status") == "deleted":
                    del local[record_id]

    async def replay(self, index: int) -> int:
        """A request of this phone delivered again, late (an HTTP retry, a killed app's request
        still in flight): the server answers, nobody reads the answer."""
        method, url, body = self.sent[index]
        if method == "GET":
            response = await self.client.get(url, headers=self.headers)
        else:
            response = await self.client.post(
                url, content=body, headers={**self.headers, "content-type": "application/json"}
            )
        return int(response.status_code)

    def records(self) -> dict[str, dict[str, dict[str, Any]]]:
        """What the app shows: every record that is not deleted, without sync bookkeeping."""
        return {
            table: {
                i: {k: v for k, v in r.items() if k not in ("_status", "_changed")}
                for i, r in records.items()
                if r["_status"] != "deleted"
            }
            for table, records in self.store.items()
        }

    async def sync(self, attempts: int = 4) -> None:
        """`synchronize()`: pull, then push; a conflict means pull, merge and push again."""
        for _ in range(attempts):
            await self.pull()
            try:
                await self.push()
                return
            except SyncConflict:
                continue
        raise AssertionError("sync did not settle")
