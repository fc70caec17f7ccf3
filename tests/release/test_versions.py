"""Which build runs is visible everywhere an operator looks: `mimamori --version`, /healthz and
the OpenAPI document; the changelog and README keep up with the version and the sync schema."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from api import version
from api.cli import main
from sync import schema

ROOT = Path(__file__).resolve().parents[2]
VERSION = metadata.version("mimamori")


def _head() -> str | None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        return None
    return subprocess.run(
        [git, "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(autouse=True)
def _fresh_build_info(monkeypatch):
    monkeypatch.delenv(version.COMMIT_ENV, raising=False)
    version.build_info.cache_clear()
    yield
    version.build_info.cache_clear()


def test_cli_version_names_the_release_and_commit() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"mimamori {VERSION} (commit ")
    if head := _head():
        assert head in result.output


def test_commit_comes_from_the_environment_when_the_build_has_no_git(monkeypatch) -> None:
    monkeypatch.setenv(version.COMMIT_ENV, "0123456789abcdef0123456789abcdef01234567")
    info = version.build_info()
    assert info.commit == "0123456789abcdef0123456789abcdef01234567"
    assert info.full == f"{VERSION}+0123456789ab"
    assert version.BuildInfo("1.2.3", version.UNKNOWN).full == "1.2.3"
    assert version.BuildInfo("1.2.3", "abcdef0123456789-dirty").full == "1.2.3+abcdef012345.dirty"


async def test_healthz_and_openapi_name_the_build(client) -> None:
    health = (await client.get("/healthz")).json()
    assert health["status"] == "ok" and health["version"] == VERSION
    info = (await client.get("/schema/openapi.json")).json()["info"]
    assert info["version"].startswith(VERSION)
    if head := _head():
        assert health["commit"].startswith(head)
        assert info["version"].startswith(f"{VERSION}+{head[:12]}")


def test_changelog_has_a_section_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(VERSION)}\]", changelog, re.MULTILINE)


def test_readme_states_the_sync_schema_versions_this_release_serves() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| {re.escape(VERSION)} \| ([0-9, ]+) \| ([0-9]+) \|", readme, re.MULTILINE)
    assert row, f"README's compatibility table has no row for {VERSION}"
    assert tuple(int(v) for v in row[1].split(",")) == schema.VERSIONS
    assert int(row[2]) == schema.LATEST_VERSION
