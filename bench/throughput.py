"""Requests per second over HTTP, against `mimamori serve --workers N` on PostgreSQL.

    python -m bench.throughput                       # workers 1 and 2, 10 s per figure
    python -m bench.throughput --workers 1 2 4 --duration 20 --connections 16
    python -m bench.throughput --baseline-source /tmp/main-checkout   # old vs new, same run

A fresh PostgreSQL database gets the demo town (`mimamori demo`: 3 districts, 300 residents); the
benchmark signs phones in, gives each its first sync, then starts the server and lets `wrk` (Debian
package `wrk`) load it over loopback:

* `/healthz` — the floor: Litestar, uvicorn, the access log and metrics, no database;
* a no-op sync pull — phones (one device each, twice as many as connections) asking with their own
  cursor while nothing changed: authentication, the feed watermark, the device's manifest, the
  device's `last_sync_at` (wrk cycles through the phones, so no request waits for another's lock);
* the resident list's first page (50 residents) as a coordinator: authentication, count and page
  queries, the read's audit event;
* with `--floor`, the same list page served by bench/floor.py — a bare ASGI app doing the page's
  database work (the app's own SQL on an asyncpg pool, JWT, JSON, gzip) with no framework — with
  all its steps and without each of them: what this machine can serve at all, and what each
  guarantee (authentication, the read audit, gzip) costs there. Its page is checked to equal the
  app's before it is measured.

Each row gives requests/s, p50 and p99 and the ratio of its requests/s to `/healthz` measured on
the same server in the same run (the machine is shared: read the ratios, and the load average
printed beside them). Targets (issue #13): no-op pull >= 500 req/s with p99 <= 100 ms; list >=
1,000 req/s. Figures are written to bench/throughput_results.md only with `--record`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("throughput_results.md")
PASSWORD = "mimamori-demo"  # the demo accounts' published password (MIMAMORI_DEMO_PASSWORD)
TARGETS = {"no-op pull": (500.0, 100.0), "resident list": (1000.0, None)}

# Each wrk thread starts at its own place in the list (`setup` runs once per thread), so that two
# threads do not ask for the same phone at the same moment (a phone's pulls queue on its own lock).
LUA = """
local entries = {%s}
local stride = %d
local started = 0
function setup(thread)
  thread:set("n", started * stride)
  started = started + 1
end
request = function()
  n = (n or 0) + 1
  local e = entries[(n %% #entries) + 1]
  return wrk.format("GET", e[1], {["Authorization"] = "Bearer " .. e[2], ["Accept-Encoding"] = "gzip"})
end
"""


@dataclass
class Figure:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    app_cpu_ms: float = 0.0  # CPU time of the server's processes per request (less load-sensitive)
    db_cpu_ms: float = 0.0  # CPU time of the database's backends for this database per request


# --- the database and the accounts -----------------------------------------------------------------


async def _database(action: str, name: str) -> str:
    admin = create_async_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if action == "create":
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _environment(url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "MIMAMORI_DATA_DIR": str(data_dir),
        "MIMAMORI_SECRET_KEY": "throughput-bench-secret-key-0123456789abcdef",
        "MIMAMORI_ENVIRONMENT": "development",
        "MIMAMORI_ACCESS_TOKEN_MINUTES": "240",
        "MIMAMORI_LOG_FORMAT": "json",
        # Jobs would move the feed (a pull would no longer be a no-op) and compete for the cores.
        "MIMAMORI_RUN_SCHEDULER": "false",
        "PYTHONPATH": str(ROOT),
    }


def _call(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
        return json.loads(response.read() or b"null")


def _sign_in(base: str, login: str, device: str) -> str:
    payload = {"login": login, "password": PASSWORD, "device": {"id": device, "platform": "android"}}
    return str(_call(base, "POST", "/api/v1/auth/login", body=payload)["access_token"])


def _phones(base: str, count: int) -> list[tuple[str, str]]:
    """(no-op pull path, token) for `count` phones of the demo commissioner, each after its first
    sync (so that its cursor is one the server placed)."""
    out = []
    for n in range(count):
        token = _sign_in(base, "demo-commissioner", f"bench-phone-{n:04d}")
        first = _call(base, "GET", "/api/v1/sync/pull?last_pulled_at=0", token)
        out.append((f"/api/v1/sync/pull?last_pulled_at={first['timestamp']}", token))
    return out


# --- the server and wrk ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    env: dict[str, str], source: Path, workers: int | None, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        server = subprocess.Popen(
            command, cwd=source, env={**env, "PYTHONPATH": str(source)}, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at start-up (log: {log})")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
                pass
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
            continue
        # Every process has started (one answering is not enough: the others' start-up would
        # be measured as the requests' cost).
        with log.open("rb") as written:
            written.seek(offset)
            if written.read().count(b"Application startup complete") >= (workers or 1):
                return server, base
        time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"the server did not answer /healthz within 120 s (log: {log})")


def _start_floor(
    env: dict[str, str], workers: int, steps: str, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """bench/floor.py under uvicorn as `mimamori serve` runs the app (httptools, uvloop, no access
    log): the same list page's database work with no framework around it."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.floor:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with log.open("ab") as out:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "MIMAMORI_FLOOR_STEPS": steps},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the floor server stopped at start-up (log: {log})")
        try:
            with urllib.request.urlopen(base + "/", timeout=2):  # noqa: S310
                pass
        except urllib.error.HTTPError:
            pass  # answered: started (no token on this probe)
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
            continue
        time.sleep(1.0)  # the other processes
        return server, base
    server.terminate()
    raise SystemExit(f"the floor server did not answer within 60 s (log: {log})")


# What the list page does, and the same without one step each (bench/floor.py).
FLOOR_STEPS = (
    "auth,page,audit,gzip",
    "auth,pageaudit,gzip",
    "page,audit,gzip",
    "auth,page,gzip",
    "auth,page,audit",
    "auth,page",
)


def _measure_floor(
    env: dict[str, str],
    workers: int,
    coordinator: str,
    app_page: Any,
    args: argparse.Namespace,
    log: Path,
) -> list[tuple[str, str, Figure]]:
    rows = []
    listing = [("/api/v1/residents?page=1&page_size=50", coordinator)]
    for steps in FLOOR_STEPS:
        server, base = _start_floor(env, workers, steps, log)
        try:
            if "page" in steps:  # the same page as the app's, or the comparison means nothing
                floor_page = _call(base, "GET", listing[0][0], coordinator)
                if floor_page != app_page:
                    raise SystemExit(
                        "bench/floor.py answers another page than the app: fix it before comparing"
                    )
            _wrk(base, listing[0][0], listing, args, 2)
            load = _load()
            app_before, db_before = _cpu(_tree(server.pid)), _cpu(_backends(env["DATABASE_URL"]))
            figure = _wrk(base, listing[0][0], listing, args, args.duration)
            app_after, db_after = _cpu(_tree(server.pid)), _cpu(_backends(env["DATABASE_URL"]))
            requests = max(1.0, figure.rps * args.duration)
            figure.app_cpu_ms = _growth(app_before, app_after) * 1000 / requests
            figure.db_cpu_ms = _growth(db_before, db_after) * 1000 / requests
            figure.name = "+".join(steps.split(","))
            label = f"floor, {workers} proc"
            rows.append((label, load, figure))
            print(_row(label, load, figure, 0.0), flush=True)
        finally:
            _stop(server)
    return rows


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _wrk(
    base: str, path: str, entries: list[tuple[str, str]] | None, args: argparse.Namespace, seconds: float
) -> Figure:
    command = [
        args.wrk,
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{seconds:g}s",
        "--latency",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if entries:
            listed = ", ".join(f'{{"{p}", "{t}"}}' for p, t in entries)
            script.write(LUA % (listed, max(1, len(entries) // args.threads)))
    try:
        if entries:
            command += ["-s", script.name]
        out = subprocess.run([*command, base + path], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    return _parse(path, out)


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _parse(name: str, out: str) -> Figure:
    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return Figure(name, float(rps.group(1)) if rps else 0.0, latency("50"), latency("99"), errors)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- one server, three figures ----------------------------------------------------------------------


def _measure(
    label: str,
    env: dict[str, str],
    source: Path,
    workers: int | None,
    phones: list[tuple[str, str]],
    coordinator: str,
    args: argparse.Namespace,
    log: Path,
) -> list[tuple[str, str, Figure]]:
    server, base = _start(env, source, workers, log)
    listing = [("/api/v1/residents?page=1&page_size=50", coordinator)]
    try:
        _wrk(base, phones[0][0], phones, args, 2)  # warm-up: connection pools, plan caches
        _wrk(base, listing[0][0], listing, args, 2)
        rows = []
        for name, path, entries in (
            ("/healthz", "/healthz", None),
            ("no-op pull", phones[0][0], phones),
            ("resident list", listing[0][0], listing),
        ):
            load = _load()
            app_before, db_before = _cpu(_tree(server.pid)), _cpu(_backends(env["DATABASE_URL"]))
            figure = _wrk(base, path, entries, args, args.duration)
            app_after, db_after = _cpu(_tree(server.pid)), _cpu(_backends(env["DATABASE_URL"]))
            requests = max(1.0, figure.rps * args.duration)
            figure.app_cpu_ms = _growth(app_before, app_after) * 1000 / requests
            figure.db_cpu_ms = _growth(db_before, db_after) * 1000 / requests
            figure.name = name
            rows.append((label, load, figure))
            print(_row(label, load, figure, rows[0][2].rps), flush=True)
        return rows
    finally:
        _stop(server)


HEADER = (
    f"{'server':<22} {'load avg (1/5/15)':<19} {'figure':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'errors':>6} {'/healthz':>9} {'app CPU ms/req':>15} {'PG CPU ms/req':>14}"
)


def _row(label: str, load: str, f: Figure, healthz_rps: float) -> str:
    ratio = f.rps / healthz_rps if healthz_rps else 0.0
    return (
        f"{label:<22} {load:<19} {f.name:<20} {f.rps:>8.0f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f} "
        f"{f.errors:>6} {ratio:>8.1%} {f.app_cpu_ms:>15.2f} {f.db_cpu_ms:>14.2f}"
    )


# --- CPU time from /proc: what a request costs, whatever else the machine is doing ------------------

TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """The server and every process under it (uvicorn's supervisor starts the workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def _backends(url: str) -> list[int]:
    """PostgreSQL backends serving the benchmark's database (their process title names it)."""
    database = url.rsplit("/", 1)[1]
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                out.append(int(entry.name))
    return out


def _cpu(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return seconds


def _growth(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings (a backend started in between counts from zero)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def _verdict(rows: list[tuple[str, str, Figure]]) -> list[str]:
    out = []
    for label, _, f in rows:
        if f.name in TARGETS:
            rps_target, p99_target = TARGETS[f.name]
            met = f.rps >= rps_target and (p99_target is None or f.p99_ms <= p99_target) and not f.errors
            need = f">= {rps_target:.0f} req/s" + (f", p99 <= {p99_target:.0f} ms" if p99_target else "")
            out.append(f"{label}: {f.name} {'meets' if met else 'misses'} the target ({need})")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per figure")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    parser.add_argument(
        "--baseline-source",
        type=Path,
        nargs="*",
        default=[],
        help="other checkouts (e.g. git worktrees of older commits) served first, 1 process each",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also the list page's work on a bare ASGI app (bench/floor.py), with and without each step",
    )
    parser.add_argument("--record", action="store_true", help=f"append the table to {RESULTS.name}")
    args = parser.parse_args()
    if not Path(args.wrk).exists():
        print(
            f"throughput: wrk not found ({args.wrk}); install it (apt-get install wrk) — skipped", flush=True
        )
        return 0

    name = f"throughput_bench_{os.getpid()}"
    url = asyncio.run(_database("create", name))
    data_dir = Path(tempfile.mkdtemp(prefix="throughput_bench_"))
    env = _environment(url, data_dir)
    log = data_dir / "server.log"
    rows: list[tuple[str, str, Figure]] = []
    try:
        subprocess.run(
            [sys.executable, "-m", "api.cli", "demo"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        server, base = _start(env, ROOT, 1, log)
        try:
            phones = _phones(base, 2 * args.connections)
            coordinator = _sign_in(base, "demo-coordinator", "bench-console-0001")
            app_page = _call(base, "GET", "/api/v1/residents?page=1&page_size=50", coordinator)
        finally:
            _stop(server)
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s; {len(phones)} phones")
        print(HEADER, flush=True)
        for source in args.baseline_source:
            label = f"{source.name[:12]}, 1 proc"
            rows += _measure(label, env, source, None, phones, coordinator, args, log)
        for workers in args.workers:
            label = f"--workers {workers}"
            rows += _measure(label, env, ROOT, workers, phones, coordinator, args, log)
        if args.floor:
            rows += _measure_floor(env, max(args.workers), coordinator, app_page, args, log)
    finally:
        asyncio.run(_database("drop", name))
        shutil.rmtree(data_dir, ignore_errors=True)
    verdicts = _verdict(rows)
    print("\n".join(verdicts))
    if args.record:
        _record(rows, verdicts, args)
    return 0


def _record(rows: list[tuple[str, str, Figure]], verdicts: list[str], args: argparse.Namespace) -> None:
    lines = [
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — `python -m bench.throughput {' '.join(sys.argv[1:])}`\n",
        f"{os.cpu_count()} cores; wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s\n",
        "```",
        HEADER,
    ]
    healthz: dict[str, float] = {}
    for label, load, f in rows:
        healthz.setdefault(label, f.rps)
        lines.append(_row(label, load, f, healthz[label]))
    lines += ["```", "", *[f"- {v}" for v in verdicts], ""]
    with RESULTS.open("a") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
