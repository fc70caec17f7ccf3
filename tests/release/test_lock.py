"""The locks are what `make run` / `make test` install: they must agree with pyproject.toml, carry
hashes, and be exactly what is installed."""

from __future__ import annotations

import copy
from importlib import metadata

import pytest

from release.lockfile import (
    DEV_LOCK,
    RUNTIME_LOCK,
    parse_lock,
    parse_lock_text,
    problems,
    pyproject_digest,
    read_pyproject,
)


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return read_pyproject()


def test_locks_agree_with_pyproject(pyproject) -> None:
    assert problems(pyproject, parse_lock(RUNTIME_LOCK), parse_lock(DEV_LOCK)) == []


def test_every_runtime_dependency_is_locked_with_hashes() -> None:
    runtime = parse_lock(RUNTIME_LOCK)
    for name in (
        "litestar",
        "advanced-alchemy",
        "sqlalchemy",
        "firebase-admin",
        "uvicorn",
        "setuptools",
        "pip",
    ):
        pin = runtime.pins[name]
        assert pin.hashes and all(h.startswith("sha256:") for h in pin.hashes), name


def test_a_changed_range_in_pyproject_is_caught(pyproject) -> None:
    changed = copy.deepcopy(pyproject)
    deps = changed["project"]["dependencies"]
    deps[:] = ["litestar[standard]>=3,<4" if d.startswith("litestar") else d for d in deps]
    found = problems(changed, parse_lock(RUNTIME_LOCK), parse_lock(DEV_LOCK))
    assert any("compiled from other dependency sections" in p for p in found)
    assert any("litestar" in p and "outside pyproject's" in p for p in found)


def test_a_new_dependency_without_lock_is_caught(pyproject) -> None:
    changed = copy.deepcopy(pyproject)
    changed["project"]["optional-dependencies"]["dev"].append("mypy>=1.10,<2")
    found = problems(changed, parse_lock(RUNTIME_LOCK), parse_lock(DEV_LOCK))
    assert any("mypy" in p and "not locked" in p for p in found)


def test_dev_lock_must_pin_runtime_packages_at_the_runtime_version(pyproject) -> None:
    dev = parse_lock(DEV_LOCK)
    dev.pins["litestar"].version = "2.0.0"
    found = problems(pyproject, parse_lock(RUNTIME_LOCK), dev)
    assert any("litestar==2.0.0 but the runtime lock pins" in p for p in found)


def test_digest_ignores_comments_but_not_ranges(pyproject) -> None:
    same = copy.deepcopy(pyproject)
    same["tool"] = {"anything": "else"}
    assert pyproject_digest(same) == pyproject_digest(pyproject)
    other = copy.deepcopy(pyproject)
    other["build-system"]["requires"] = ["setuptools>=70"]
    assert pyproject_digest(other) != pyproject_digest(pyproject)


def test_parser_reads_markers_and_continuation_hashes() -> None:
    lock = parse_lock_text(
        "# pyproject-sha256: abc\n"
        "uvloop==0.21.0 ; sys_platform != 'win32' \\\n"
        "    --hash=sha256:" + "a" * 64 + " \\\n"
        "    --hash=sha256:" + "b" * 64 + "\n"
        "    # via uvicorn\n"
        "Foo_Bar==1.0\n"
    )
    assert lock.header["pyproject-sha256"] == "abc"
    assert lock.pins["uvloop"].marker == "sys_platform != 'win32'"
    assert len(lock.pins["uvloop"].hashes) == 2
    assert lock.pins["foo-bar"].hashes == []
    assert lock.pins["uvloop"].applies({"sys_platform": "win32"}) is False


@pytest.mark.parametrize("lock_path", [RUNTIME_LOCK, DEV_LOCK], ids=["runtime", "dev"])
def test_installed_versions_equal_the_lock(lock_path) -> None:
    """A venv made by `make test` / `make run` holds exactly the locked versions."""
    wrong = {}
    for name, pin in parse_lock(lock_path).pins.items():
        if not pin.applies():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pin.version:
            wrong[name] = f"installed {installed}, locked {pin.version}"
    assert wrong == {}, "reinstall from the lock: rm .venv/.installed && make test"
