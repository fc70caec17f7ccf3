"""Findings 8 and 14 of the hardening review: alert streams were uncapped (300 open from one token,
each polling the database every 2 s), and `Last-Event-ID: ²` or 5,000 digits answered 500.

Against a real server (several streams open at once): beyond the per-device, per-user or total cap
a new stream gets 429; a stream gives its slot back when the client leaves or its lifetime ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from domain.access import Principal
from domain.enums import Role
from domain.settings import PushSettings, get_settings
from notifications.stream_slots import StreamSlots
from tests.factories import login
from tests.live_server import serving

# Timing-sensitive: `make test` runs it after the parallel phase, with nothing else running.
pytestmark = [pytest.mark.alone]


@pytest.fixture
def stream_caps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MIMAMORI_PUSH_STREAM_MAX_PER_DEVICE", "1")
    monkeypatch.setenv("MIMAMORI_PUSH_STREAM_MAX_PER_USER", "2")
    monkeypatch.setenv("MIMAMORI_PUSH_STREAM_MAX_TOTAL", "3")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


_readers: list[object] = []


async def _first_event(response: httpx.Response) -> str:
    # The line iterator is kept open (closing it would close the connection, ending the stream).
    lines = response.aiter_lines()
    _readers.append(lines)
    while True:
        line = await anext(lines)
        if line.startswith("event:"):
            return line.split(":", 1)[1].strip()


async def test_streams_are_capped_and_give_their_slot_back(app, world, stream_caps) -> None:
    with serving(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            coord_a = await login(http, "coord", device_id="coord-a")
            coord_b = await login(http, "coord", device_id="coord-b")
            coord_c = await login(http, "coord", device_id="coord-c")
            comm = await login(http, "comm", device_id="comm-a")
            vol = await login(http, "vol", device_id="vol-a")
            url = "/api/v1/alerts/stream?max_seconds=30"
            async with http.stream("GET", url, headers=coord_a) as first:
                assert first.status_code == 200 and await _first_event(first) == "ready"
                again = await http.get(url, headers={**coord_a, "Accept-Language": "en"})
                assert again.status_code == 429, again.text  # per device
                assert again.json()["code"] == "error.stream.too_many"
                assert int(again.headers["retry-after"]) > 0
                async with http.stream("GET", url, headers=coord_b) as second:
                    assert second.status_code == 200 and await _first_event(second) == "ready"
                    assert (await http.get(url, headers=coord_c)).status_code == 429  # per user
                    async with http.stream("GET", url, headers=comm) as third:
                        assert third.status_code == 200 and await _first_event(third) == "ready"
                        assert (await http.get(url, headers=vol)).status_code == 429  # in total
            # All three clients left: their slots are free again (the server notices the
            # disconnect at its next write or poll).
            for _ in range(100):
                reopened = await http.get("/api/v1/alerts/stream?max_seconds=0.2", headers=coord_a)
                if reopened.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert reopened.status_code == 200, reopened.text
            # A stream ends by itself at its lifetime, and its slot is free at once.
            for _ in range(3):
                ended = await http.get("/api/v1/alerts/stream?max_seconds=0.2", headers=coord_a)
                assert ended.status_code == 200 and "event: ready" in ended.text


def test_a_slot_comes_back_even_when_the_stream_never_ran() -> None:
    slots = StreamSlots()
    config = PushSettings(_env_file=None, stream_max_per_device=1, stream_max_per_user=1, stream_max_total=1)
    principal = Principal(user_id="u1", org_id="o1", role=Role.COORDINATOR, device_id="d1")
    slot = slots.acquire(principal, config)
    assert slots.total == 1
    del slot  # the response was never sent: the finaliser gives the slot back
    assert slots.total == 0 and not slots.by_device and not slots.by_user
    slots.acquire(principal, config).release()
    assert slots.total == 0


@pytest.mark.parametrize("value", ["²", "1" * 5000, "-1", "12abc", "9" * 17])
async def test_a_bad_last_event_id_is_a_400(client, world, value) -> None:
    headers = await login(client, "coord")
    response = await client.get(
        "/api/v1/alerts/stream?max_seconds=0.2",
        headers={**headers, "Last-Event-ID": value.encode(), "Accept-Language": "en"},  # as sent: UTF-8
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "error.stream.bad_last_event_id"
