"""The resident list page (or a no-op sync pull) in-process: CPU, statements, and a profile.

    python -m bench.list_profile                        # 200 requests per role, figures only
    python -m bench.list_profile --profile coordinator  # + cProfile's top functions for that role
    python -m bench.list_profile --requests 500 --residents 200
    python -m bench.list_profile --route pull --profile commissioner   # the no-op sync pull

A fresh PostgreSQL database (dropped at the end) with one organisation of `--residents` residents
in two districts (a commissioner for one of them, a volunteer assigned to a third of them with
consent for volunteers), then `GET /api/v1/residents` (first page, default page size) through
httpx's ASGITransport on the same event loop: no network, no server, so the figure is the service's own CPU plus the
test client's. With `--route pull`, each role's phone pulls once from 0 (its first sync), then
`GET /api/v1/sync/pull?last_pulled_at=<that cursor>` is measured: the no-op pull (nothing moves
the feed meanwhile). Run it from a checkout's root to measure that checkout (old vs new: the same script
in both, one after the other).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


async def _admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _seed(url: str, residents: int) -> None:
    import api.app  # noqa: F401  (every model and sequence on the metadata, as the app sees it)
    from domain.clock import utcnow
    from domain.enums import ConsentRecipient, Household, ResidentStatus, RiskLevel, Role
    from domain.models import Base
    from tests.factories import (
        assign,
        give_consent,
        make_district,
        make_org,
        make_resident,
        make_user,
    )

    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    from domain.db import create_db_config, session_scope
    from domain.settings import Settings

    config = create_db_config(Settings(database_url=url, db_pool_disabled=True, environment="test"))
    rng = random.Random(13)
    async with session_scope(config) as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east])
        vol = await make_user(s, org, Role.VOLUNTEER, "vol")
        for n in range(residents):
            r = await make_resident(
                s,
                org,
                east if n % 2 else west,
                name=f"住民 {n:04d}",
                kana=f"ジュウミン {n:04d}",
                birth_year=rng.choice([None, 1930 + n % 40]),
                latitude=rng.choice([None, 35.0 + n / 1000]),
                longitude=rng.choice([None, 139.0 + n / 1000]),
                phone=rng.choice([None, f"03-1234-{n:04d}"]),
                household=rng.choice(list(Household)),
                risk_level=rng.choice(list(RiskLevel)),
                support_needs=rng.choice(["", "杖歩行", "難聴のため大きな声で"]),
                status=ResidentStatus.PAUSED if n % 17 == 0 else ResidentStatus.ACTIVE,
                status_reason="入院" if n % 17 == 0 else None,
                last_contact_at=utcnow() - timedelta(days=n % 30) if n % 3 else None,
            )
            await give_consent(s, r, ConsentRecipient.DISTRICT_COMMISSIONER)
            if n % 3 == 0:
                await give_consent(s, r, ConsentRecipient.VOLUNTEERS)
                await assign(s, r, vol)


async def _run(url: str, args: argparse.Namespace) -> None:
    import httpx

    from api.app import create_app
    from domain.settings import Settings
    from tests.factories import login

    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=Path(tempfile.mkdtemp()),
        secret_key="bench-secret-key-that-is-long-enough-for-hs256",
        run_scheduler=False,
        push_transport="recording",
        log_level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),  # INFO: with the access log, as served
        password_hash_profile="fast",
    )
    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    statements = 0

    # httpx over the ASGI app on this event loop (Litestar's test client runs the app in another
    # thread, where cProfile would not see it).
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        engine = app.state.db_config.get_engine()

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _count(*_: object) -> None:
            nonlocal statements
            statements += 1

        from domain import autocommit

        if hasattr(autocommit, "fetch"):  # statements sent straight to asyncpg pass no engine event
            straight = autocommit.fetch

            async def _fetch(*args: object) -> object:
                nonlocal statements
                statements += 1
                return await straight(*args)  # type: ignore[arg-type]

            autocommit.fetch = _fetch  # type: ignore[assignment]

        for role, login_name in (("coordinator", "coord"), ("commissioner", "comm"), ("volunteer", "vol")):
            headers = await login(client, login_name, device_id=f"bench-{login_name}")
            path = "/api/v1/residents"
            if args.route == "pull":
                first = await client.get("/api/v1/sync/pull?last_pulled_at=0", headers=headers)
                assert first.status_code == 200, first.text
                path = f"/api/v1/sync/pull?last_pulled_at={first.json()['timestamp']}"
            for _ in range(20):  # warm caches (statement cache, token cache)
                assert (await client.get(path, headers=headers)).status_code == 200
            statements = 0
            # With --asgi the profile counts CPU time (waits for PostgreSQL are not the server's work).
            timer = (time.process_time,) if args.asgi else ()
            profiled = (args.profile == role and not args.sample) or args.calls
            profiler = cProfile.Profile(*timer) if profiled else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            sampler = _Sampler() if args.sample and args.profile == role else None
            if sampler:
                sampler.start()
            if args.asgi:  # straight into the ASGI app: the server's own work, no client
                raw = await _asgi_driver(app, path, headers, args.requests)
            for _ in range(0 if args.asgi else args.requests):
                response = await client.get(path, headers=headers)
            if profiler:
                profiler.disable()
            if sampler:
                sampler.stop()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            body = raw if args.asgi else response.json()
            if args.route == "pull":  # a no-op: nothing sent, the cursor unchanged
                assert not any(c["updated"] or c["deleted"] for c in body["changes"].values()), body
                body = {"items": [], "total": body["timestamp"]}
            calls = (
                f"  {pstats.Stats(profiler).total_calls / args.requests:7.0f} calls/req" if profiler else ""
            )
            print(
                f"{role:13s} items {len(body['items']):3d} total {body['total']:4d}  "
                f"{args.requests / wall:7.1f} req/s  {cpu * 1000 / args.requests:6.2f} CPU ms/req  "
                f"{statements / args.requests:4.1f} statements/req  "
                f"{len(raw_bytes) if args.asgi else len(response.content)} bytes{calls}"
            )
            if sampler:
                print(sampler.report(args.top))
            if profiler and args.profile == role:
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats(args.sort).print_stats(args.top)
                if os.environ.get("BENCH_CALLERS"):
                    stats.print_callers(os.environ["BENCH_CALLERS"])
                print(out.getvalue())


raw_bytes = b""


class _Sampler:
    """A sampling profiler on CPU time (SIGPROF every millisecond of the process's CPU): where the
    CPU goes, without cProfile's per-call cost, which inflates small Python functions most."""

    def __init__(self) -> None:
        from collections import Counter

        self.inclusive: Counter[str] = Counter()
        self.own: Counter[str] = Counter()
        self.samples = 0

    def _handler(self, _signum: int, frame: object) -> None:
        self.samples += 1
        seen = set()
        first = True
        while frame is not None:
            code = frame.f_code  # type: ignore[attr-defined]
            name = f"{code.co_filename.replace('/work/main/.venv/lib/python3.11/site-packages/', '')}:{code.co_firstlineno}({code.co_name})"
            if first:
                self.own[name] += 1
                first = False
            if name not in seen:
                seen.add(name)
                self.inclusive[name] += 1
            frame = frame.f_back  # type: ignore[attr-defined]

    def start(self) -> None:
        import signal

        signal.signal(signal.SIGPROF, self._handler)
        signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)

    def stop(self) -> None:
        import signal

        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def report(self, top: int) -> str:
        lines = [f"{self.samples} samples (1 ms of CPU each); inclusive % | own %"]
        for name, n in self.inclusive.most_common(top):
            lines.append(f"{100 * n / self.samples:6.1f} {100 * self.own[name] / self.samples:6.1f}  {name}")
        lines.append("own (top):")
        for name, n in self.own.most_common(top // 2):
            lines.append(f"{100 * n / self.samples:6.1f}  {name}")
        return "\n".join(lines)


async def _asgi_driver(app: object, path: str, headers: dict[str, str], requests: int) -> dict[str, object]:
    """`requests` GETs of `path` called on the ASGI app itself, as uvicorn would call it: the
    profile shows the server's functions only (httpx's own work is half of the default mode's)."""
    import json

    global raw_bytes
    route, _, query = path.partition("?")
    raw_headers = [(b"host", b"bench"), *((k.lower().encode(), v.encode()) for k, v in headers.items())]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    chunks: list[bytes] = []
    status = 0

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))  # type: ignore[arg-type]

    for _ in range(requests):
        chunks.clear()
        status = 0

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": route,
            "raw_path": route.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": raw_headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await app(scope, receive, send)  # type: ignore[operator]
        assert status == 200, (status, b"".join(chunks)[:300])
    raw_bytes = b"".join(chunks)
    return json.loads(raw_bytes)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--route", choices=["list", "pull"], default="list")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--profile", choices=["coordinator", "commissioner", "volunteer"])
    parser.add_argument(
        "--calls",
        action="store_true",
        help="Python function calls per request for every role (cProfile on: deterministic, unlike CPU time)",
    )
    parser.add_argument(
        "--asgi",
        action="store_true",
        help="call the ASGI app directly (no httpx): CPU and profile of the server alone",
    )
    parser.add_argument(
        "--sample", action="store_true", help="with --profile ROLE: a sampling profile of CPU time instead"
    )
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    name = f"mimamori_list_{uuid.uuid4().hex[:8]}"
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_seed(url, args.residents))
        asyncio.run(_run(url, args))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
