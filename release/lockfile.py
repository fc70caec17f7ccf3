"""The two lock files (`requirements/runtime.txt`, `requirements/dev.txt`): what they pin, and
whether they still agree with pyproject.toml.

A lock records, in its header, a digest of the pyproject sections it was compiled from. The check
(`python -m release.lockfile`) fails when that digest is stale, when a requirement in pyproject is
not satisfied by the pin in the lock, when a pin carries no hash, or when the dev lock pins a
runtime package at another version than the runtime lock.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
PYTHON_VERSION = "3.11"
# Installed beside the project so a fresh venv's own copies are replaced by locked, audited ones.
INSTALLER_REQUIREMENTS = ("pip",)
DIGEST_KEY = "pyproject-sha256"

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]*))?"
)
_HASH = re.compile(r"--hash=(?P<algo>sha256):(?P<digest>[0-9a-f]{64})")


@dataclass
class Pin:
    name: str  # canonical (PEP 503) name
    version: str
    marker: str | None = None
    hashes: list[str] = field(default_factory=list)

    def applies(self, environment: dict[str, str] | None = None) -> bool:
        """Whether this pin is installed on the given (default: this) interpreter and platform."""
        return self.marker is None or Marker(self.marker).evaluate(environment)


@dataclass
class Lock:
    path: Path
    header: dict[str, str]
    pins: dict[str, Pin]


def dependency_sections(pyproject: dict[str, Any]) -> dict[str, Any]:
    """The parts of pyproject.toml a lock is compiled from."""
    project = pyproject.get("project", {})
    return {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "build-system.requires": pyproject.get("build-system", {}).get("requires", []),
        "installer": list(INSTALLER_REQUIREMENTS),
        "python": PYTHON_VERSION,
    }


def pyproject_digest(pyproject: dict[str, Any]) -> str:
    """Digest of the dependency sections; comments and layout in pyproject.toml do not change it."""
    canonical = json.dumps(dependency_sections(pyproject), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_pyproject(path: Path = PYPROJECT) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def parse_lock(path: Path) -> Lock:
    return parse_lock_text(path.read_text(encoding="utf-8"), path)


def parse_lock_text(text: str, path: Path = Path("<lock>")) -> Lock:
    header: dict[str, str] = {}
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            key, sep, value = line.lstrip("# ").partition(":")
            if sep and key.strip() and " " not in key.strip() and not pins:
                header[key.strip()] = value.strip()
            continue
        if not line:
            continue
        if match := _PIN.match(line):
            marker = (match["marker"] or "").strip() or None
            current = Pin(canonicalize_name(match["name"]), match["version"], marker)
            pins[current.name] = current
        if current is not None:
            current.hashes.extend(f"{m['algo']}:{m['digest']}" for m in _HASH.finditer(line))
        if not line.endswith("\\"):
            current = None
    return Lock(path, header, pins)


def problems(pyproject: dict[str, Any], runtime: Lock, dev: Lock) -> list[str]:
    """Every way the locks disagree with pyproject.toml or with each other, in words."""
    out: list[str] = []
    digest = pyproject_digest(pyproject)
    for lock in (runtime, dev):
        recorded = lock.header.get(DIGEST_KEY)
        if recorded != digest:
            out.append(
                f"{lock.path.name}: compiled from other dependency sections of pyproject.toml "
                f"(recorded {(recorded or 'nothing')[:12]}…, now {digest[:12]}…): run `make lock`"
            )
        out.extend(
            f"{lock.path.name}: {p.name}=={p.version} has no hash" for p in lock.pins.values() if not p.hashes
        )
    project = pyproject.get("project", {})
    runtime_requirements = [
        *project.get("dependencies", []),
        *pyproject.get("build-system", {}).get("requires", []),
    ]
    dev_requirements = [*runtime_requirements]
    for extra in project.get("optional-dependencies", {}).values():
        dev_requirements.extend(extra)
    out.extend(_unsatisfied(runtime_requirements, runtime))
    out.extend(_unsatisfied(dev_requirements, dev))
    for name, pin in runtime.pins.items():
        other = dev.pins.get(name)
        if other is None:
            out.append(f"{dev.path.name}: {name} is in the runtime lock but not in the dev lock")
        elif other.version != pin.version:
            out.append(f"{dev.path.name}: {name}=={other.version} but the runtime lock pins {pin.version}")
    return out


def _unsatisfied(requirements: list[str], lock: Lock) -> list[str]:
    out = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate(
            {"python_version": PYTHON_VERSION}
        ):
            continue
        name = canonicalize_name(requirement.name)
        pin = lock.pins.get(name)
        if pin is None:
            out.append(
                f"{lock.path.name}: {requirement} is in pyproject.toml but not locked: run `make lock`"
            )
        elif not requirement.specifier.contains(Version(pin.version), prereleases=True):
            out.append(
                f"{lock.path.name}: pins {name}=={pin.version}, outside pyproject's {requirement}: run `make lock`"
            )
    return out


def main() -> int:
    found = problems(read_pyproject(), parse_lock(RUNTIME_LOCK), parse_lock(DEV_LOCK))
    for problem in found:
        print(f"lock check: {problem}", file=sys.stderr)
    if found:
        return 1
    print("lock check: requirements/runtime.txt and requirements/dev.txt agree with pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
