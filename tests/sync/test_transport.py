"""What the network does to phones: cut uploads are the client leaving, not server errors; pulls
are compressed when the phone accepts it, the alert stream never is (issue #9, items 4 and 6)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from litestar import Litestar

import api.errors
from tests.factories import login
from tests.sync.conftest import Recorder, Town, ms
from tests.sync.device import Device


async def cut_upload(app: Litestar, url: str, headers: dict[str, str], body: bytes) -> int:
    """POST `body` but let the connection die after half of it, as a phone leaving coverage does."""
    path, _, query = url.partition("?")
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw_headers += [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    incoming = [{"type": "http.request", "body": body[: len(body) // 2], "more_body": True}]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)  # type: ignore[arg-type]
    return statuses[0]


class _Log:
    def __init__(self, real: Any) -> None:
        self.real, self.levels = real, []

    def __getattr__(self, level: str) -> Any:
        def record(event: str, **kw: Any) -> None:
            self.levels.append((level, event))
            getattr(self.real, level)(event, **kw)

        return record


async def test_a_cut_upload_is_the_client_leaving_not_a_server_error(
    app, live: Recorder, db, town: Town, now, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await login(live, "comm")  # type: ignore[arg-type]
    log = _Log(api.errors.log)
    monkeypatch.setattr(api.errors, "log", log)
    note = {
        "id": "cutnote00000001",
        "resident_id": town.shared.id,
        "method": "home_visit",
        "outcome": "met_well",
        "body": "途中で切れた" * 200,
        "occurred_at": ms(now),
        "follow_up_needed": False,
        "visibility": "team",
    }
    changes = {"contact_notes": {"created": [note], "updated": [], "deleted": []}}
    status = await cut_upload(
        app, "/api/v1/sync/push?last_pulled_at=0", headers, json.dumps(changes).encode()
    )
    assert status == 499
    assert log.levels == [("info", "client_disconnected")]
    # nothing was applied: the phone pushes the whole note again later
    phone = Device(live, headers)  # type: ignore[arg-type]
    await phone.pull()
    assert "cutnote00000001" not in phone.ids("contact_notes")


async def test_pulls_are_gzipped_when_the_phone_accepts_it(live: Recorder, town: Town) -> None:
    headers = await login(live, "coord")  # type: ignore[arg-type]
    url = "/api/v1/sync/pull?last_pulled_at=null&schema_version=2&migration=null"
    plain = await live.get(url, headers={**headers, "Accept-Encoding": "identity"})
    packed = await live.get(url, headers={**headers, "Accept-Encoding": "gzip"})
    assert plain.headers.get("content-encoding") is None
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.json()["changes"]["residents"] == plain.json()["changes"]["residents"]


async def test_the_alert_stream_is_never_compressed(live: Recorder, town: Town) -> None:
    headers = await login(live, "coord")  # type: ignore[arg-type]
    response = await asyncio.wait_for(
        live.get("/api/v1/alerts/stream?max_seconds=0.3", headers={**headers, "Accept-Encoding": "gzip"}), 10
    )
    assert response.status_code == 200
    assert response.headers.get("content-encoding") is None  # gzip would hold events in its buffer
    assert "event: ready" in response.text
