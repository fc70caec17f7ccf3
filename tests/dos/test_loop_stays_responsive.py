"""The denial-of-service regression test of the hardening review (findings 1 and 2).

Against a real uvicorn server (one process, one event loop, the app's own thread pool), a
commissioner previews hostile rules and a volunteer sends a maximal push of records that are all
refused, while a third client asks `/healthz` and `GET /api/v1/me` every 50 ms. Every probe must
answer within 200 ms. On the landed code the first preview alone froze the loop for 35 s.

What it measures, honestly: end-to-end latency seen by a client on the same machine, including
the test's own client (another thread of this process, sharing the GIL) and the database (SQLite
file or local PostgreSQL). It does not measure a loaded production machine; it proves that no
single request holds the event loop or the database long enough to stall the others.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from domain.clock import clock
from domain.enums import ConsentRecipient, Role
from domain.settings import Settings
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.live_server import serving

# Timing-sensitive: `make test` runs it after the parallel phase, with nothing else running.
pytestmark = [pytest.mark.alone]

BUDGET = 0.200  # seconds, per probe
HOSTILE_PREVIEWS = [
    # The rule (refused by the grammar limits).
    {
        "rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=1,2,3,4,5,6,7,8,9,10",
        "holiday_rule": "skip",
    },
    # Within every grammar limit but never producing a date, ending in 9999: the scan bound.
    {
        "rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30,31;BYDAY=MO,TU,WE,TH,FR,SA,SU",
        "holiday_rule": "none",
        "ends_on": "9999-12-31",
    },
    # A daily rule "begun" in 1900: the hard scan budget (the most CPU any rule may cost).
    {"rrule": "FREQ=DAILY", "holiday_rule": "none", "starts_on": "1900-01-01"},
]


@pytest.fixture
async def people(db) -> dict[str, Any]:
    clock.set(datetime(2026, 10, 1, 1, 0, tzinfo=UTC))
    async with db() as session:
        org = await make_org(session)
        north = await make_district(session, org, "北地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
        await make_user(session, org, Role.COMMISSIONER, "comm", districts=[north])
        volunteer = await make_user(session, org, Role.VOLUNTEER, "vol")
        shared = await make_resident(session, org, north, name="佐藤 一郎")
        hidden = await make_resident(session, org, north, name="鈴木 花子")
        for resident in (shared, hidden):
            await give_consent(session, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        await give_consent(session, shared, ConsentRecipient.VOLUNTEERS)
        await assign(session, shared, volunteer)
    clock.reset()  # the server runs on real time (tokens, streams)
    return {"hidden": hidden}


def _maximal_push(hidden_resident_id: str, run: int) -> dict[str, Any]:
    """As many records as one push may carry, every one refused (the expensive path: judged,
    quarantined, audited, told): notes about a resident the volunteer may not see and updates to
    visits that do not exist."""
    limits = Settings.model_fields
    per_table = limits["sync_push_max_records_per_table"].default
    total = limits["sync_push_max_records"].default
    now_ms = int(time.time() * 1000)
    notes = [
        {
            "id": f"note-{run}-{i:05d}",
            "resident_id": hidden_resident_id,
            "method": "home_visit",
            "outcome": "met_well",
            "occurred_at": now_ms,
            "body": "訪問しました" * 20,
        }
        for i in range(per_table)
    ]
    visits = [
        {"id": f"visit-{run}-{i:05d}", "status": "done"} for i in range(min(per_table, total - per_table))
    ]
    return {"contact_notes": {"created": notes}, "visits": {"updated": visits}}


async def _attack_and_watch(base: str, hidden_resident_id: str, run: int) -> tuple[dict[str, Any], list[Any]]:
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as attacker,
        httpx.AsyncClient(base_url=base, timeout=60) as probe,
    ):
        comm = await login(attacker, "comm", device_id=f"comm-phone-{run}")
        vol = await login(attacker, "vol", device_id=f"vol-phone-{run}")  # the allowance is per device
        watcher = await login(probe, "coord", device_id=f"coord-desk-{run}")
        body = json.dumps(_maximal_push(hidden_resident_id, run)).encode()
        idle = []
        for _ in range(10):
            started = time.perf_counter()
            await probe.get("/api/v1/me", headers=watcher)
            idle.append(time.perf_counter() - started)
        done = asyncio.Event()
        outcomes: dict[str, Any] = {
            "idle_me": max(idle),
            "records": len(json.loads(body)["contact_notes"]["created"])
            + len(json.loads(body)["visits"]["updated"]),
        }

        async def attack() -> None:
            try:
                started = time.perf_counter()
                previews = [
                    attacker.post("/api/v1/plans/preview", json=p, headers=comm) for p in HOSTILE_PREVIEWS
                ]
                push = attacker.post(
                    "/api/v1/sync/push?last_pulled_at=0",
                    content=body,
                    headers={**vol, "content-type": "application/json"},
                )
                answers = await asyncio.gather(*previews, push)
                outcomes["attack_seconds"] = time.perf_counter() - started
                outcomes["previews"] = [a.status_code for a in answers[:-1]]
                outcomes["push"] = (answers[-1].status_code, answers[-1].json())
            finally:
                done.set()

        latencies: list[tuple[str, float, int]] = []

        async def watch() -> None:
            while not done.is_set():
                for path, headers in (("/healthz", {}), ("/api/v1/me", watcher)):
                    started = time.perf_counter()
                    response = await probe.get(path, headers=headers)
                    latencies.append((path, time.perf_counter() - started, response.status_code))
                await asyncio.sleep(0.05)

        await asyncio.gather(attack(), watch())
    return outcomes, latencies


async def test_health_and_me_answer_within_200ms_during_hostile_previews_and_a_maximal_push(
    app, people
) -> None:
    # Best of five runs: on a shared machine other processes only ever add latency, so the
    # fastest run is the fairest figure for this code; a frozen loop (the landed code: 35 s) or a
    # long write lock fails every run. Fresh devices and record ids each run (the quarantine
    # allowance is per device; held records are not held twice).
    slowest_per_run = []
    with serving(app) as base:
        for run in range(5):
            outcomes, latencies = await _attack_and_watch(base, people["hidden"].id, run)
            assert outcomes["previews"] == [422, 400, 422], outcomes
            status, result = outcomes["push"]
            assert status == 200, result
            assert len(result["quarantined"]) == outcomes["records"]
            assert latencies and all(code == 200 for _, _, code in latencies), latencies
            slowest = max(latencies, key=lambda item: item[1])
            print(
                f"\nrun {run}: idle /me at most {outcomes['idle_me'] * 1000:.0f} ms; attack {outcomes['attack_seconds']:.3f} s; {len(latencies)} probes; "
                f"slowest {slowest[0]} {slowest[1] * 1000:.0f} ms"
            )
            slowest_per_run.append(slowest)
            if slowest[1] < BUDGET:
                break
    best = min(slowest_per_run, key=lambda item: item[1])
    assert best[1] < BUDGET, slowest_per_run
