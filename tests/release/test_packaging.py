"""The container packaging says what README "Running in production" promises: jobs run in the worker
service only, migrations run once before the API and the workers, the API is health-checked, the
image runs as a non-root user with exactly the locked dependencies, and secrets come from files.

No Docker daemon is needed: compose.yaml and the Dockerfile are read as text, and the entrypoint is
run with /bin/sh."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.settings import PushSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


def _interpolate(text: str) -> str:
    """Compose's `${NAME:-default}` with nothing set in the environment: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(_interpolate((ROOT / "compose.yaml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """Instructions, one per item, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _settings_from(env: dict[str, str], tmp_path: Path) -> Settings:
    plain = {
        key: "" if value is None else str(value) for key, value in env.items() if not key.endswith("_FILE")
    }
    plain["MIMAMORI_SECRET_KEY"] = "k7Qm2Zr9Xw4Lp8Vt3Hs6Jd1Nf5Bc0Yg-read-from-a-file"
    plain["MIMAMORI_DATA_DIR"] = str(tmp_path)
    saved = dict(os.environ)
    try:
        os.environ.update(plain)
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_api_runs_no_scheduler_and_the_worker_runs_the_jobs(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    services = compose["services"]
    assert _settings_from(services["api"]["environment"], tmp_path).run_scheduler is False
    assert services["worker"]["command"] == ["mimamori", "worker"]
    assert int(services["worker"]["deploy"]["replicas"]) >= 1
    # Several API processes in the container.
    workers = [arg for arg in services["api"]["command"] if arg.startswith("--workers=")]
    assert workers and int(workers[0].split("=")[1]) > 1


def test_migrations_run_once_before_the_api_and_the_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["mimamori", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Nothing else migrates at start-up: the API's `mimamori serve` is told not to.
    assert services["api"]["command"][:2] == ["mimamori", "serve"]
    assert "--no-migrate" in services["api"]["command"]


def test_the_api_is_health_checked_on_healthz(compose: dict[str, Any], dockerfile: list[str]) -> None:
    test = compose["services"]["api"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and "/healthz" in test[3]
    compile(test[3], "healthcheck", "exec")  # the probe is valid Python (slim images have no curl)
    for name in ("migrate", "worker"):  # no HTTP there: the image's check would always fail
        assert compose["services"][name]["healthcheck"] == {"disable": True}
    [check] = [line for line in dockerfile if line.startswith("HEALTHCHECK")]
    assert "/healthz" in check and "curl" not in check


def test_every_setting_named_in_compose_is_one_the_service_reads(compose: dict[str, Any]) -> None:
    """A misspelt variable would be silently ignored (extra="ignore")."""
    # uvicorn's own, and prometheus-client's
    known = {
        "DATABASE_URL",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "FORWARDED_ALLOW_IPS",
        "PROMETHEUS_MULTIPROC_DIR",
    }
    for model, prefix in ((Settings, "MIMAMORI_"), (PushSettings, "MIMAMORI_PUSH_")):
        known |= {f"{prefix}{name.upper()}" for name in model.model_fields}
    entrypoint_files = set(re.findall(r"for name in ([A-Z_ ]+); do", ENTRYPOINT.read_text())[0].split())
    for name in ("migrate", "api", "worker"):
        for key in compose["services"][name]["environment"]:
            if key.endswith("_FILE"):
                assert key.removesuffix("_FILE") in entrypoint_files, key
            else:
                assert key in known, key


def test_secrets_are_files_kept_out_of_git_and_the_image(compose: dict[str, Any]) -> None:
    for name in ("migrate", "api", "worker"):
        env = compose["services"][name]["environment"]
        assert "MIMAMORI_SECRET_KEY" not in env and "PGPASSWORD" not in env
        assert ":" not in env["DATABASE_URL"].split("//", 1)[1].split("@")[0]  # no password in the URL
        assert env["MIMAMORI_SECRET_KEY_FILE"].startswith("/run/secrets/")
    assert compose["services"]["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    assert "secrets/" in (ROOT / ".gitignore").read_text().split()
    assert "secrets" in (ROOT / ".dockerignore").read_text().split()
    assert "db" not in compose["services"]["db"].get("ports", [])  # the database is not published


def test_the_image_installs_the_locked_set_and_runs_as_a_non_root_user(dockerfile: list[str]) -> None:
    stages = [line for line in dockerfile if line.startswith("FROM")]
    assert len(stages) >= 2  # build and runtime
    assert any(re.search(r"python:3\.11-slim", line) for line in dockerfile if line.startswith("ARG"))
    [deps] = [line for line in dockerfile if "-r /build/requirements/runtime.txt" in line]
    assert "--require-hashes" in deps
    [project] = [line for line in dockerfile if "pip install --no-deps" in line]
    assert "--no-build-isolation" in project
    users = [line.split()[1] for line in dockerfile if line.startswith("USER")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "ARG MIMAMORI_GIT_COMMIT=unknown" in dockerfile
    assert any("MIMAMORI_GIT_COMMIT=${MIMAMORI_GIT_COMMIT}" in line for line in dockerfile)


def test_the_image_copies_every_package_the_project_ships(dockerfile: list[str]) -> None:
    """A slice added to pyproject.toml but not copied would be missing from the installed image."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = {
        pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set()
    for line in dockerfile:
        if line.startswith("COPY") and "--from" not in line:
            sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source
            copied |= set(sources)
    assert shipped <= copied
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert not copied & ignored


def _entrypoint(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *command], env=clean, capture_output=True, text=True, check=False
    )


def test_the_entrypoint_reads_secrets_from_files(tmp_path: Path) -> None:
    key = tmp_path / "secret_key"
    key.write_text("from-the-secret-file\n")
    done = _entrypoint(
        {"MIMAMORI_SECRET_KEY_FILE": str(key)},
        "sh",
        "-c",
        'printf "%s|%s" "$MIMAMORI_SECRET_KEY" "${MIMAMORI_SECRET_KEY_FILE:-gone}"',
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from-the-secret-file|gone"


def test_the_entrypoint_refuses_a_secret_given_twice_or_unreadable(tmp_path: Path) -> None:
    key = tmp_path / "secret_key"
    key.write_text("x")
    twice = _entrypoint({"MIMAMORI_SECRET_KEY": "y", "MIMAMORI_SECRET_KEY_FILE": str(key)}, "true")
    assert twice.returncode != 0 and "MIMAMORI_SECRET_KEY_FILE" in twice.stderr
    missing = _entrypoint({"PGPASSWORD_FILE": str(tmp_path / "absent")}, "true")
    assert missing.returncode != 0 and "PGPASSWORD_FILE" in missing.stderr


def test_the_api_processes_sum_their_metrics_and_need_the_scrapers_token(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """Several uvicorn processes answer /metrics in turn: each must report the sum of all (one
    multiprocess directory, empty at every start: a tmpfs of the container), and the scraper comes
    through Docker's network, never from loopback inside it, so it needs the bearer token — read
    from a secret file, like every secret."""
    api = compose["services"]["api"]
    env = api["environment"]
    directory = env["PROMETHEUS_MULTIPROC_DIR"]
    assert any(mount.split(":")[0] == directory for mount in api["tmpfs"])
    [mount] = [mount for mount in api["tmpfs"] if mount.split(":")[0] == directory]
    assert "uid=10001" in mount  # the image's user may write there
    assert "MIMAMORI_METRICS_TOKEN" not in env
    assert env["MIMAMORI_METRICS_TOKEN_FILE"] == "/run/secrets/metrics_token"
    assert "metrics_token" in api["secrets"]
    assert compose["secrets"]["metrics_token"]["file"] == "./secrets/metrics_token"
    token = tmp_path / "metrics_token"
    token.write_text("scraper-token\n")
    done = _entrypoint(
        {"MIMAMORI_METRICS_TOKEN_FILE": str(token)}, "sh", "-c", 'printf "%s" "$MIMAMORI_METRICS_TOKEN"'
    )
    assert done.returncode == 0 and done.stdout == "scraper-token", done.stderr
    # The workers' containers number their processes from 1 too: they must not share the directory.
    assert "PROMETHEUS_MULTIPROC_DIR" not in compose["services"]["worker"]["environment"]
