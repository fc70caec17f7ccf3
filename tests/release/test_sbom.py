"""The SBOM and licence inventory committed under docs/release/ describe the current runtime lock
and the SBOM is valid CycloneDX (regenerate both with `make sbom`)."""

from __future__ import annotations

import json
import re
from importlib import metadata

from release import sbom
from release.lockfile import RUNTIME_LOCK, parse_lock

REGENERATE = "stale: run `make sbom` and commit docs/release/"


def _document() -> dict:
    return json.loads(sbom.SBOM.read_text(encoding="utf-8"))


def test_sbom_validates_against_the_cyclonedx_schema() -> None:
    text = sbom.SBOM.read_text(encoding="utf-8")
    sbom.validate(text)  # raises SystemExit naming the schema error
    document = json.loads(text)
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == sbom.SPEC_VERSION


def test_sbom_invalid_document_is_refused() -> None:
    document = _document()
    document["components"][0]["type"] = "not-a-type"
    try:
        sbom.validate(json.dumps(document))
    except SystemExit as exc:
        assert "not valid CycloneDX" in str(exc)
    else:
        raise AssertionError("an invalid SBOM passed validation")


def test_sbom_lists_exactly_the_runtime_lock() -> None:
    document = _document()
    assert sbom.missing_pins(document) == [], REGENERATE
    pins = {p.name for p in parse_lock(RUNTIME_LOCK).pins.values() if p.applies()}
    assert set(sbom.components(document)) == pins, REGENERATE
    root = document["metadata"]["component"]
    assert (root["name"], root["version"]) == ("mimamori", metadata.version("mimamori"))


def test_sbom_names_a_licence_for_every_component() -> None:
    for component in _document()["components"]:
        assert component.get("licenses"), component["name"]


def test_licence_inventory_matches_the_runtime_lock() -> None:
    rows = re.findall(
        r"^\| ([a-z0-9-]+) \| ([0-9][^ |]*) \| ([^|]+) \|$", sbom.INVENTORY.read_text(), re.MULTILINE
    )
    listed = {name: version for name, version, _ in rows}
    pins = {p.name: p.version for p in parse_lock(RUNTIME_LOCK).pins.values() if p.applies()}
    assert listed == pins, REGENERATE
    assert all(licence.strip() not in {"", "unknown"} for _, _, licence in rows)
