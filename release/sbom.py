"""`make sbom`: the CycloneDX SBOM and the licence inventory of the runtime lock.

Installs requirements/runtime.txt alone into a fresh venv under build/sbom/ (exactly what a
deployment installs), describes that environment with `cyclonedx-py environment` (reproducible:
no timestamp or serial number), validates the document against the CycloneDX 1.6 JSON schema,
checks that it lists every runtime pin at its locked version, and writes:

- docs/release/sbom.cdx.json — the SBOM (root component: mimamori, from pyproject.toml). Links
  copied from package metadata (`externalReferences`) are left out: they say where a project
  lives, not what runs, and the package URL (purl) already names each component exactly;
- docs/release/licences.md — package, version, licence, for procurement.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from release.licences import canonical as _canonical
from release.licences import load_policy
from release.lockfile import ROOT, RUNTIME_LOCK, parse_lock

WORK = ROOT / "build" / "sbom"
OUT = ROOT / "docs" / "release"
SBOM = OUT / "sbom.cdx.json"
INVENTORY = OUT / "licences.md"
SPEC_VERSION = "1.6"


def _run(*command: str | Path) -> str:
    done = subprocess.run([str(c) for c in command], check=True, capture_output=True, text=True, cwd=ROOT)  # noqa: S603
    return done.stdout


def runtime_environment() -> Path:
    """A venv holding exactly the runtime lock; returns its python."""
    venv = WORK / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", RUNTIME_LOCK)
    return python


def validate(document: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.from_version(SPEC_VERSION)).validate_str(document)
    if error is not None:
        raise SystemExit(f"sbom: not valid CycloneDX {SPEC_VERSION}: {error}")


def components(document: dict[str, Any]) -> dict[str, str]:
    return {
        c["name"].lower().replace("_", "-").replace(".", "-"): c["version"] for c in document["components"]
    }


def _without_links(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_links(v) for k, v in node.items() if k != "externalReferences"}
    if isinstance(node, list):
        return [_without_links(v) for v in node]
    return node


def missing_pins(document: dict[str, Any]) -> list[str]:
    """Runtime pins (for this platform) that the SBOM does not list at the locked version."""
    listed = components(document)
    pins = [p for p in parse_lock(RUNTIME_LOCK).pins.values() if p.applies()]
    return [f"{p.name}=={p.version}" for p in pins if listed.get(p.name) != p.version]


def licences_by_package(installed: dict[str, dict[str, str]]) -> dict[str, str]:
    """Licence per installed package, with the policy's hand-read declarations applied."""
    declared = load_policy().declared
    return {name: declared.get(name, entry["licence"]) for name, entry in installed.items()}


def fill_missing_licences(document: dict[str, Any], licences: dict[str, str]) -> None:
    """Components whose metadata cyclonedx-py could not read get the inventory's licence."""
    for component in document["components"]:
        name = _canonical(component["name"])
        if not component.get("licenses") and name in licences:
            component["licenses"] = [{"license": {"name": licences[name], "acknowledgement": "declared"}}]


def inventory_markdown(document: dict[str, Any], licences: dict[str, str]) -> str:
    lines = [
        "# Licence inventory of the runtime set",
        "",
        "Written by `make sbom` from the metadata of the packages installed from",
        "`requirements/runtime.txt` (the SBOM beside this file names the same versions). Policy: no",
        "copyleft (GPL, LGPL, AGPL) in the runtime set unless `release/licence-policy.toml` lists it.",
        "",
        "| package | version | licence |",
        "|---|---|---|",
    ]
    for name, version in sorted(components(document).items()):
        lines.append(f"| {name} | {version} | {licences.get(name, 'unknown')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    python = runtime_environment()
    document = _run(
        Path(sys.executable).parent / "cyclonedx-py",
        "environment",
        "--pyproject",
        "pyproject.toml",
        "--mc-type",
        "application",
        "--sv",
        SPEC_VERSION,
        "--output-reproducible",
        "--of",
        "JSON",
        python,
    )
    parsed = _without_links(json.loads(document))
    if missing := missing_pins(parsed):
        raise SystemExit(
            f"sbom: the runtime environment does not hold the locked versions: {', '.join(missing)}"
        )
    licences = licences_by_package(json.loads(_run(python, "-m", "release.licences", "--json")))
    fill_missing_licences(parsed, licences)
    document = json.dumps(parsed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    validate(document)
    OUT.mkdir(parents=True, exist_ok=True)
    SBOM.write_text(document, encoding="utf-8")
    INVENTORY.write_text(inventory_markdown(parsed, licences), encoding="utf-8")
    count = len(parsed["components"])
    print(f"sbom: wrote {SBOM.relative_to(ROOT)} ({count} components, valid CycloneDX {SPEC_VERSION})")
    print(f"sbom: wrote {INVENTORY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
