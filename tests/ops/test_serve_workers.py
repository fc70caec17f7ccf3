"""`mimamori serve --workers N`: N processes on one port, jobs in one of them, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# Timing-sensitive: `make test` runs it after the parallel phase, with nothing else running.
pytestmark = [pytest.mark.alone]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _running(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, response.read().decode()


@pytest.fixture
def served(tmp_path: Path):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "MIMAMORI_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}",
        "MIMAMORI_ENVIRONMENT": "test",
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--workers", "2", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while len(_children(server.pid)) < 2 or not _answers(port):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield server, port, log, tmp_path
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _answers(port: int) -> bool:
    try:
        return _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    except OSError:
        return False


def test_two_processes_answer_one_runs_the_jobs_and_both_stop(served) -> None:
    server, port, log, data_dir = served
    # the serving processes (multiprocessing may add a resource tracker, which ends on its own)
    workers = {pid for pid in _children(server.pid) if "resource_tracker" not in _command(pid)}
    assert len(workers) == 2
    for _ in range(20):
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200

    # /metrics sums every process's counts (a metrics directory the supervisor made for them)
    status, body = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    counted = sum(
        float(m.group(1))
        for m in re.finditer(
            r'^mimamori_http_request_duration_seconds_count\{[^}]*route="/healthz"[^}]*\} ([\d.e+]+)$',
            body,
            re.M,
        )
    )
    assert counted >= 20

    time.sleep(2)  # both processes are through their start-up
    started = re.findall(r"scheduler started in process (\d+)", log.read_text())
    assert len(started) == 1, log.read_text()
    assert int(started[0]) in workers

    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=30) == 0, log.read_text()
    assert not any(_running(pid) for pid in workers)
    assert not list(data_dir.glob("scheduler-*.lock"))  # the supervisor's lock file is removed


@pytest.mark.parametrize(("flags", "migrated"), [([], True), (["--no-migrate"], False)])
def test_serve_migrates_unless_told_not_to(
    flags: list[str], migrated: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compose.yaml's API runs `serve --no-migrate` (its one-shot migrate service has done it): the
    processes start on the schema as it is, with the host, port and process count given."""
    import uvicorn
    from click.testing import CliRunner

    from api.cli import main
    from domain import migrate
    from domain.settings import get_settings

    upgraded: list[object] = []
    served: list[dict[str, object]] = []
    monkeypatch.setattr(migrate, "upgrade", lambda config: upgraded.append(config))
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append({"app": app, **options}))
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}")
    monkeypatch.setenv("MIMAMORI_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["serve", *flags, "--host=0.0.0.0", "--port=8123", "--workers=3"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert bool(upgraded) is migrated
    [options] = served
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 8123, 3)
    assert options["access_log"] is False
