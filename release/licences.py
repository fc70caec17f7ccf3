"""Licences of installed packages, read from their metadata, and the runtime set's policy.

Standard library only: `make sbom` runs it inside a venv that holds nothing but the runtime lock.
`python -m release.licences --json` prints `{name: {"version", "licence"}}` for every distribution
installed in the running interpreter.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "release" / "licence-policy.toml"
UNKNOWN = "unknown"
_COPYLEFT = re.compile(r"\b(A|L)?GPL|GNU (Affero |Lesser |Library )?General Public", re.IGNORECASE)
_CLASSIFIER_PREFIX = "License :: "


@dataclass(frozen=True)
class Policy:
    exceptions: dict[str, str]  # package -> reason a copyleft licence is accepted
    declared: dict[str, str]  # package -> licence read by hand where metadata names none


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def licence_of(dist: metadata.Distribution) -> str:
    """SPDX expression when declared (PEP 639); else a short License field; else the classifiers
    (several classifiers mean a choice, as packages use them for dual licences)."""
    meta = dist.metadata
    if expression := (meta.get("License-Expression") or "").strip():
        return expression
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 80 and text.upper() != "UNKNOWN":
        return text
    classifiers = [
        c.removeprefix(_CLASSIFIER_PREFIX).split(" :: ")[-1]
        for c in meta.get_all("Classifier") or []
        if c.startswith(_CLASSIFIER_PREFIX)
    ]
    return " OR ".join(classifiers) if classifiers else UNKNOWN


def is_copyleft(licence: str) -> bool:
    """Copyleft when every alternative of an OR is GPL-family (MIT OR GPL leaves the choice to us)."""
    alternatives = re.split(r"\s+OR\s+", licence.strip("() "))
    return all(_COPYLEFT.search(alternative) for alternative in alternatives)


def installed() -> dict[str, dict[str, str]]:
    out = {}
    for dist in metadata.distributions():
        name = canonical(dist.metadata["Name"])
        out[name] = {"version": dist.version, "licence": licence_of(dist)}
    return out


def load_policy(path: Path = POLICY) -> Policy:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    exceptions = {canonical(e["package"]): e["reason"] for e in data.get("exception", [])}
    declared = {canonical(e["package"]): e["licence"] for e in data.get("declared", [])}
    if any(not str(reason).strip() for reason in exceptions.values()):
        raise ValueError(f"{path.name}: every exception needs a reason")
    return Policy(exceptions, declared)


def violations(inventory: dict[str, str], policy: Policy) -> list[str]:
    """`inventory`: package -> licence. Every breach of the policy, in words."""
    out = []
    for name, licence in sorted(inventory.items()):
        licence = policy.declared.get(name, licence)
        if licence == UNKNOWN:
            out.append(f"{name}: its metadata names no licence; read it and add it under [[declared]]")
        elif is_copyleft(licence) and name not in policy.exceptions:
            out.append(
                f"{name}: copyleft licence {licence!r} in the runtime set and not listed under [[exception]]"
            )
    return out


def main(argv: list[str]) -> int:
    if argv != ["--json"]:
        print("usage: python -m release.licences --json", file=sys.stderr)
        return 2
    print(json.dumps(installed(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
