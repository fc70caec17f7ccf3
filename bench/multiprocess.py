"""Many processes, one truth: two API processes and two `mimamori worker` processes on one
PostgreSQL database, as compose.yaml runs them (the API with its scheduler off).

    python -m bench.multiprocess                 # 20 emergencies, 40 overdue visits
    python -m bench.multiprocess --alerts 50 --visits 200

A coordinator's alert stream is open on API B. The alert streams' poll interval is set to 60 s, so
only the processes' PostgreSQL listeners (LISTEN/NOTIFY) can explain an alert arriving within
seconds. Measured:

* **cross-process alert latency** — a commissioner's phone pushes an emergency note to API A; the
  time until the alert it raised arrives on B's stream (from sending the push, so the push's own
  handling is included: an upper bound of NOTIFY's share), one emergency after another;
* **push wake-up** — the same emergencies' urgent pushes are sent by a worker, woken by the
  outbox's NOTIFY (the workers' periodic dispatch runs only every 15 s): time from sending the
  phone's push to the delivery's `sent_at`;
* **two workers, one sweep** — both workers sweep the same overdue visits at start-up: alerts per
  visit, notifications per recipient, and send attempts per delivery must all be exactly one.

`tests/ops/test_many_processes.py` runs the same cluster with assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain.db import create_db_config, session_scope
from domain.enums import ConsentRecipient, ConsentStatus, Role
from domain.models import (
    Alert,
    Consent,
    Delivery,
    DeliveryAttempt,
    District,
    Notification,
    Organisation,
    Resident,
    User,
    UserDistrict,
    Visit,
)
from domain.pg_listener import APPLICATION_NAME as LISTENER
from domain.settings import Settings
from schedules import ladder
from sync import schema

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("MIMAMORI_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "many-processes-one-truth"
POLL_SECONDS = 60  # the streams' safety-net poll: far longer than any delay we accept


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mimamori() -> list[str]:
    script = Path(sys.executable).parent / "mimamori"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from api.cli import main; main()"]


@dataclass
class Cluster:
    """The processes, their environment and logs; `start()` / `stop()`."""

    database_url: str
    workdir: Path
    api_ports: list[int] = field(default_factory=lambda: [_free_port(), _free_port()])
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "MIMAMORI_DATA_DIR": str(self.workdir),
            # Every process signs and checks the same tokens.
            "MIMAMORI_SECRET_KEY": "many-processes-share-one-secret-key-0123456789",
            "MIMAMORI_PASSWORD_HASH_PROFILE": "fast",
            "MIMAMORI_PUSH_TRANSPORT": "log",
            "MIMAMORI_PUSH_STREAM_POLL_SECONDS": str(POLL_SECONDS),
            "MIMAMORI_LOG_LEVEL": "WARNING",
            "MIMAMORI_DEFAULT_TIMEZONE": "Asia/Tokyo",
            **extra,
        }

    def migrate(self) -> None:
        subprocess.run([*_mimamori(), "migrate"], env=self.env(), check=True, capture_output=True)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [*_mimamori(), *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def start_apis(self) -> list[str]:
        bases = []
        for name, port in zip(("api-a", "api-b"), self.api_ports, strict=True):
            self._spawn(name, ["serve", "--port", str(port)], self.env(MIMAMORI_RUN_SCHEDULER="false"))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            self._wait_ready(base)
        return bases

    def start_workers(self) -> None:
        for name in ("worker-1", "worker-2"):
            self._spawn(name, ["worker"], self.env())

    def _wait_ready(self, base: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{base} did not become ready")

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@contextlib.contextmanager
def running_cluster(database_url: str, workdir: Path) -> Iterator[Cluster]:
    cluster = Cluster(database_url, workdir)
    try:
        yield cluster
    finally:
        cluster.stop()


# --- the town ----------------------------------------------------------------------------------


@dataclass
class Town:
    org_id: str
    emergency_resident_ids: list[str]  # residents without visits: their notes raise nothing else
    visit_ids: list[str]


async def seed(database_url: str, emergencies: int, overdue_visits: int) -> Town:
    """A coordinator, a commissioner of the one district, residents who consented to the district's
    commissioner, `overdue_visits` visits whose window closed two days ago with nothing recorded
    (the grace period is over: the next sweep alerts each) and `emergencies` residents with no
    visit. No quiet hours, so that every push is sent now whatever the hour."""
    from argon2 import PasswordHasher, profiles

    hashed = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(PASSWORD)
    config = create_db_config(Settings(database_url=database_url, db_pool_disabled=True))
    now = datetime.now(UTC)
    try:
        async with session_scope(config) as session:
            org = Organisation(
                name="多プロセス市", settings={"quiet_start": "00:00:00", "quiet_end": "00:00:00"}
            )
            session.add(org)
            await session.flush()
            district = District(org_id=org.id, name="中央地区")
            session.add(district)
            await session.flush()
            for login, role in (("coord", Role.COORDINATOR), ("comm", Role.COMMISSIONER)):
                user = User(org_id=org.id, login=login, display_name=login, role=role, password_hash=hashed)
                session.add(user)
                await session.flush()
                if role == Role.COMMISSIONER:
                    session.add(UserDistrict(org_id=org.id, user_id=user.id, district_id=district.id))
            resident_ids, visit_ids = [], []
            for n in range(emergencies + overdue_visits):
                resident = Resident(
                    org_id=org.id,
                    district_id=district.id,
                    name=f"住民{n}",
                    kana="ジュウミン",
                    address="中央1",
                )
                session.add(resident)
                await session.flush()
                session.add(
                    Consent(
                        org_id=org.id,
                        resident_id=resident.id,
                        recipient=ConsentRecipient.DISTRICT_COMMISSIONER,
                        status=ConsentStatus.GIVEN,
                        given_on=now.date() - timedelta(days=30),
                    )
                )
                if n >= overdue_visits:
                    resident_ids.append(resident.id)
                else:
                    visit = Visit(
                        org_id=org.id,
                        occurrence_key=f"bench:{n}",
                        resident_id=resident.id,
                        due_start=now - timedelta(days=2, hours=6),
                        due_end=now - timedelta(days=2),
                        check_step=ladder.WINDOW_CLOSED,
                        next_check_at=now - timedelta(days=2),
                    )
                    session.add(visit)
                    await session.flush()
                    visit_ids.append(visit.id)
            return Town(org.id, resident_ids, visit_ids)
    finally:
        await config.get_engine().dispose()


# --- clients -----------------------------------------------------------------------------------


async def sign_in(client: httpx.AsyncClient, login: str, device: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "login": login,
            "password": PASSWORD,
            "device": {"id": device, "platform": "android", "push_token": f"token-{device}"},
        },
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class StreamEvent:
    at: float  # time.monotonic() when the event's last line arrived
    event: str
    data: dict[str, Any]


@contextlib.asynccontextmanager
async def alert_stream(base: str, headers: dict[str, str]) -> AsyncIterator[asyncio.Queue[StreamEvent]]:
    """The coordinator's alert stream on one API process, events queued as they arrive (after
    `ready`, which is awaited before this yields)."""
    queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
    ready = asyncio.Event()

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", "/api/v1/alerts/stream", headers=headers) as response,
        ):
            response.raise_for_status()
            name, data = "message", ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    name = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    data += line.partition(":")[2].strip()
                elif not line:
                    if name == "ready":
                        ready.set()
                    elif data:
                        queue.put_nowait(StreamEvent(time.monotonic(), name, json.loads(data)))
                    name, data = "message", ""

    reader = asyncio.create_task(read())
    try:
        done, _ = await asyncio.wait(
            {reader, asyncio.create_task(ready.wait())}, timeout=30, return_when="FIRST_COMPLETED"
        )
        if reader in done:
            reader.result()  # raises what went wrong
        if not ready.is_set():
            raise RuntimeError("the alert stream did not open")
        yield queue
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await reader


class Phone:
    """A commissioner's phone: pushes contact notes through the sync API (WatermelonDB's shape)."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers, self.cursor = client, headers, 0

    async def pull(self) -> None:
        response = await self.client.get(
            "/api/v1/sync/pull",
            params={"last_pulled_at": "null", "schema_version": schema.LATEST_VERSION, "migration": "null"},
            headers=self.headers,
        )
        response.raise_for_status()
        self.cursor = int(response.json()["timestamp"])

    async def push_emergency(self, resident_id: str) -> None:
        now_ms = int(time.time() * 1000)
        note: dict[str, Any] = {
            column.name: None
            if column.optional
            else {"string": "", "number": 0, "boolean": False}[column.type]
            for column in schema.columns("contact_notes")
        }
        note.update(
            id=secrets.token_hex(8),
            resident_id=resident_id,
            method="home_visit",
            outcome="emergency",
            occurred_at=now_ms,
            visibility="team",
            created_at=now_ms,
            updated_at=now_ms,
        )
        changes = {"contact_notes": {"created": [note], "updated": [], "deleted": []}}
        response = await self.client.post(
            "/api/v1/sync/push",
            params={"last_pulled_at": self.cursor, "schema_version": schema.LATEST_VERSION},
            json=changes,
            headers=self.headers,
        )
        response.raise_for_status()


# --- what the database says ----------------------------------------------------------------------


async def listeners_connected(database_url: str) -> int:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND application_name = :name"
                    ),
                    {"name": LISTENER},
                )
            )
    finally:
        await engine.dispose()


@dataclass
class Tally:
    alerts_per_visit: dict[str, int]
    notifications: int
    deliveries: dict[str, int]  # by status
    attempts_per_delivery: dict[int, int]  # attempts → how many deliveries
    sent_at: dict[str, datetime]  # emergency alert id → first delivery's sent_at


async def tally(database_url: str, org_id: str) -> Tally:
    config = create_db_config(Settings(database_url=database_url, db_pool_disabled=True))
    try:
        async with session_scope(config) as session:
            per_visit = dict(
                (
                    await session.execute(
                        select(Alert.visit_id, func.count())
                        .where(Alert.org_id == org_id, Alert.visit_id.is_not(None))
                        .group_by(Alert.visit_id)
                    )
                )
                .tuples()
                .all()
            )
            notifications = await session.scalar(
                select(func.count()).select_from(Notification).where(Notification.org_id == org_id)
            )
            by_status = dict(
                (
                    await session.execute(
                        select(Delivery.status, func.count())
                        .where(Delivery.org_id == org_id)
                        .group_by(Delivery.status)
                    )
                )
                .tuples()
                .all()
            )
            attempts = (
                select(Delivery.id, func.count(DeliveryAttempt.id).label("n"))
                .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id, isouter=True)
                .where(Delivery.org_id == org_id)
                .group_by(Delivery.id)
                .subquery()
            )
            histogram = dict(
                (await session.execute(select(attempts.c.n, func.count()).group_by(attempts.c.n)))
                .tuples()
                .all()
            )
            sent = dict(
                (
                    await session.execute(
                        select(Notification.alert_id, func.min(Delivery.sent_at))
                        .join(Delivery, Delivery.notification_id == Notification.id)
                        .where(
                            Notification.org_id == org_id,
                            Notification.urgent.is_(True),
                            Delivery.sent_at.is_not(None),
                        )
                        .group_by(Notification.alert_id)
                    )
                )
                .tuples()
                .all()
            )
        return Tally(
            {str(k): int(v) for k, v in per_visit.items()},
            int(notifications or 0),
            {str(k): int(v) for k, v in by_status.items()},
            {int(k): int(v) for k, v in histogram.items()},
            {str(k): v for k, v in sent.items() if k is not None},
        )
    finally:
        await config.get_engine().dispose()


async def wait_until(check: Any, seconds: float, what: str, cluster: Cluster | None = None) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        if cluster is not None:
            cluster.check_alive()
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Figures:
    alert_latencies: list[float]  # seconds, push sent → alert on the other API's stream
    push_latencies: list[float]  # seconds, push sent → urgent delivery sent by a worker
    push_durations: list[float]  # seconds, the phone's push request itself (answered by API A)
    swept: Tally
    visits: int
    sweep_alerts_on_stream: int


async def exercise(cluster: Cluster, alerts: int, visits: int) -> Figures:
    """Seeded, migrated cluster database: start everything, measure, return the figures."""
    town = await seed(cluster.database_url, alerts, visits)
    base_a, base_b = await asyncio.to_thread(cluster.start_apis)
    async with (
        httpx.AsyncClient(base_url=base_a, timeout=30) as api_a,
        httpx.AsyncClient(base_url=base_b, timeout=30) as api_b,
    ):
        coordinator = await sign_in(api_b, "coord", "dashboard")
        phone = Phone(api_a, await sign_in(api_a, "comm", "phone"))
        await phone.pull()
        async with alert_stream(base_b, coordinator) as events:
            # Two workers sweep the same overdue visits at start-up; their alerts reach B's stream.
            cluster.start_workers()
            await wait_until(lambda: _all_listening(cluster.database_url), 60, "four listeners", cluster)

            async def swept() -> bool:
                return len((await tally(cluster.database_url, town.org_id)).alerts_per_visit) >= visits

            await wait_until(swept, 90, "the sweep's alerts", cluster)
            seen: set[str] = set()
            sweep_deadline = time.monotonic() + 10
            while len(seen) < visits and time.monotonic() < sweep_deadline:
                with contextlib.suppress(TimeoutError):
                    event = await asyncio.wait_for(
                        events.get(), timeout=max(0.01, sweep_deadline - time.monotonic())
                    )
                    if event.event == "alert" and event.data.get("visit_id"):
                        seen.add(event.data["visit_id"])

            # Emergencies pushed to API A, one at a time; each alert awaited on B's stream.
            alert_latencies: list[float] = []
            push_durations: list[float] = []
            sent_wall: dict[str, float] = {}
            for resident_id in town.emergency_resident_ids:
                started, started_wall = time.monotonic(), time.time()
                await phone.push_emergency(resident_id)
                push_durations.append(time.monotonic() - started)
                while True:
                    event = await asyncio.wait_for(events.get(), timeout=POLL_SECONDS / 2)
                    if event.event == "alert" and event.data.get("resident_id") == resident_id:
                        alert_latencies.append(event.at - started)
                        sent_wall[event.data["id"]] = started_wall
                        break

    async def all_sent() -> Tally | None:
        counted = await tally(cluster.database_url, town.org_id)
        return (
            counted
            if set(sent_wall) <= set(counted.sent_at) and "pending" not in counted.deliveries
            else None
        )

    final = await wait_until(all_sent, 60, "every push sent", cluster)
    push_latencies = [_epoch(final.sent_at[alert_id]) - started for alert_id, started in sent_wall.items()]
    return Figures(alert_latencies, push_latencies, push_durations, final, visits, len(seen))


async def _all_listening(database_url: str) -> bool:
    return await listeners_connected(database_url) >= 4


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def _admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def summary(figures: Figures) -> str:
    def line(label: str, values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        return (
            f"{label}: n={len(ms)} median {statistics.median(ms):.0f} ms, "
            f"p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms"
        )

    swept = figures.swept
    return "\n".join(
        [
            line("alert on API B's stream after a push to API A", figures.alert_latencies),
            line("urgent push sent by a worker after a push to API A", figures.push_latencies),
            line("(the phone's push request itself, answered by API A)", figures.push_durations),
            line(
                "alert on B's stream after A answered the push",
                [a - d for a, d in zip(figures.alert_latencies, figures.push_durations, strict=True)],
            ),
            f"two workers, {figures.visits} overdue visits: alerts per visit "
            f"{sorted(set(swept.alerts_per_visit.values()))}, visits alerted {len(swept.alerts_per_visit)}, "
            f"on B's stream {figures.sweep_alerts_on_stream}",
            f"notifications {swept.notifications}, deliveries by status {swept.deliveries}, "
            f"send attempts per delivery {swept.attempts_per_delivery}",
            f"(stream poll interval {POLL_SECONDS} s: only NOTIFY explains these delays)",
        ]
    )


async def _main(alerts: int, visits: int) -> Figures:
    name = f"mimamori_bench_mp_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        with tempfile.TemporaryDirectory() as workdir, running_cluster(url, Path(workdir)) as cluster:
            await asyncio.to_thread(cluster.migrate)
            return await exercise(cluster, alerts, visits)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--visits", type=int, default=40)
    args = parser.parse_args()
    started = time.perf_counter()
    figures = asyncio.run(_main(args.alerts, args.visits))
    print(summary(figures))
    print(f"(whole run {time.perf_counter() - started:.0f} s, python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
