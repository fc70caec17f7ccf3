"""The README's quick start, as a new user runs it: `make run` serves the demo town.

Starts the real service in a subprocess (on a free loopback port, its own data directory), waits
for /readyz, signs in as each demo account and reads a resident list.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_ACCOUNTS = ("demo-coordinator", "demo-commissioner", "demo-volunteer")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(base: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the service did not become ready")


@pytest.mark.slow
def test_make_run_serves_the_demo_town(empty_database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "MIMAMORI_DATA_DIR": str(tmp_path),
        "MIMAMORI_PORT": str(port),
        "MIMAMORI_LOG_LEVEL": "INFO",
    }
    log = (tmp_path / "service.log").open("w")
    process = subprocess.Popen(
        ["make", "-s", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    names: set[str] = set()
    try:
        _wait_ready(base, process)
        for login in DEMO_ACCOUNTS:
            response = httpx.post(
                f"{base}/api/v1/auth/login",
                json={
                    "login": login,
                    "password": "mimamori-demo",
                    "device": {"id": f"e2e-{login}", "platform": "web"},
                },
                timeout=30,
            )
            assert response.status_code == 200, (login, response.text)
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
            residents = httpx.get(f"{base}/api/v1/residents", headers=headers, timeout=30)
            assert residents.status_code == 200, (login, residents.text)
            assert residents.json()["total"] > 0, login
            names |= {r["name"] for r in residents.json()["items"]}
        schema = httpx.get(f"{base}/schema/openapi.json", timeout=30)
        assert schema.status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    service_log = (tmp_path / "service.log").read_text()
    assert "Traceback" not in service_log, service_log
    # No personal data in logs: not one resident's name, even at INFO.
    assert names and not [name for name in names if name in service_log]
