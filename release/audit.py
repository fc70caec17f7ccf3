"""Known-vulnerability audit of the locked set (`make audit`, part of `make test` and CI).

pip-audit checks every pin of requirements/dev.txt (a superset of the runtime lock) against the
PyPI vulnerability data, without installing anything. Outcomes:

- a finding not accepted in release/audit-allowlist.toml, or an expired acceptance: exit 1;
- the vulnerability service cannot be reached, or cannot answer for some pins: a warning that
  names how many pins went unchecked, exit 0 — an outage must not block every merge, and the
  message says plainly that this run proved nothing about those pins. Set
  MIMAMORI_AUDIT_REQUIRED=1 (e.g. for a release build) to make an incomplete audit fail too;
- pip-audit itself failing for another reason: exit 1 with its error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.lockfile import DEV_LOCK, ROOT, RUNTIME_LOCK, parse_lock

ALLOWLIST = ROOT / "release" / "audit-allowlist.toml"
REQUIRED_ENV = "MIMAMORI_AUDIT_REQUIRED"
# Errors of the HTTP stack that mean "could not reach the service", not "pip-audit is broken".
_UNREACHABLE_MARKERS = (
    "ConnectionError",
    "ProxyError",
    "ConnectTimeout",
    "ReadTimeout",
    "SSLError",
    "Timeout",
)


@dataclass(frozen=True)
class Acceptance:
    id: str
    reason: str
    expires: dt.date


@dataclass
class Finding:
    package: str
    version: str
    id: str
    aliases: list[str]
    fix_versions: list[str]
    runtime: bool

    def ids(self) -> set[str]:
        return {self.id, *self.aliases}


@dataclass
class Report:
    """What one audit run found, and whether it passes."""

    findings: list[Finding] = field(default_factory=list)  # not accepted
    accepted: list[tuple[Finding, Acceptance]] = field(default_factory=list)
    expired: list[Acceptance] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # "name==version: why"
    checked: int = 0
    unreachable: str | None = None  # why the service could not be asked at all

    def failed(self, *, required: bool) -> bool:
        incomplete = self.unreachable is not None or bool(self.unchecked)
        return bool(self.findings or self.expired) or (required and incomplete)

    def lines(self) -> list[str]:
        out = []
        for f in self.findings:
            where = "runtime" if f.runtime else "dev only"
            fix = ", ".join(f.fix_versions) or "none yet"
            aliases = f" ({', '.join(f.aliases)})" if f.aliases else ""
            out.append(f"FINDING {f.package}=={f.version} [{where}]: {f.id}{aliases}; fixed in {fix}")
        for entry in self.expired:
            out.append(
                f"EXPIRED acceptance of {entry.id} (until {entry.expires}): look again, extend or remove it"
            )
        for f, entry in self.accepted:
            out.append(f"accepted {f.id} in {f.package}=={f.version} until {entry.expires}: {entry.reason}")
        if self.unreachable:
            out.append(
                f"WARNING: vulnerability service unreachable, nothing was checked ({self.unreachable})"
            )
        elif self.unchecked:
            out.append(
                f"WARNING: the vulnerability service could not answer for {len(self.unchecked)} of "
                f"{len(self.unchecked) + self.checked} locked packages; they were NOT checked "
                f"(first: {self.unchecked[0]})"
            )
        return out


def load_allowlist(path: Path = ALLOWLIST) -> list[Acceptance]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = []
    for number, raw in enumerate(data.get("accept", []), start=1):
        missing = {"id", "reason", "expires"} - raw.keys()
        if missing:
            raise ValueError(f"{path.name}: entry {number} lacks {', '.join(sorted(missing))}")
        if not isinstance(raw["expires"], dt.date) or not str(raw["reason"]).strip():
            raise ValueError(f"{path.name}: entry {number} needs a date `expires` and a non-empty `reason`")
        entries.append(Acceptance(str(raw["id"]), str(raw["reason"]), raw["expires"]))
    return entries


def interpret(
    audit: dict[str, Any], allowlist: list[Acceptance], runtime_names: set[str], today: dt.date
) -> Report:
    """Turn pip-audit's JSON into a report, applying the allowlist."""
    report = Report()
    live = {}
    for entry in allowlist:
        if entry.expires < today:
            report.expired.append(entry)
        else:
            live[entry.id] = entry
    for dep in audit.get("dependencies", []):
        if "skip_reason" in dep:
            report.unchecked.append(f"{dep['name']}: {dep['skip_reason']}")
            continue
        report.checked += 1
        for vuln in dep.get("vulns", []):
            finding = Finding(
                package=dep["name"],
                version=dep["version"],
                id=vuln["id"],
                aliases=list(vuln.get("aliases", [])),
                fix_versions=list(vuln.get("fix_versions", [])),
                runtime=dep["name"] in runtime_names,
            )
            entry = next((live[i] for i in sorted(finding.ids()) if i in live), None)
            if entry is None:
                report.findings.append(finding)
            else:
                report.accepted.append((finding, entry))
    return report


def run_pip_audit(lock: Path) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON, or None and the reason it gave none."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "audit.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(lock),
            "--require-hashes",
            "--disable-pip",  # the lock is complete and hashed: audit it as it is, install nothing
            "--vulnerability-service",
            "pypi",
            "--format",
            "json",
            "--output",
            str(output),
            "--progress-spinner",
            "off",
            "--timeout",
            "20",
        ]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)  # noqa: S603
        if output.exists() and output.stat().st_size:
            return json.loads(output.read_text(encoding="utf-8")), ""
        return None, (done.stderr or done.stdout).strip()


def main() -> int:
    required = os.environ.get(REQUIRED_ENV, "").lower() in {"1", "true", "yes"}
    runtime_names = set(parse_lock(RUNTIME_LOCK).pins)
    allowlist = load_allowlist()
    audit, error = run_pip_audit(DEV_LOCK)
    today = dt.datetime.now(dt.UTC).date()
    if audit is None:
        last = error.splitlines()[-1] if error else "no output"
        if not any(marker in error for marker in _UNREACHABLE_MARKERS):
            print(f"audit: pip-audit failed: {last}")
            return 1
        report = interpret({}, allowlist, runtime_names, today)
        report.unreachable = last[:300]
        report.unchecked = [f"{name}: service unreachable" for name in parse_lock(DEV_LOCK).pins]
    else:
        report = interpret(audit, allowlist, runtime_names, today)
    for line in report.lines():
        print(f"audit: {line}")
    if report.failed(required=required):
        print(
            "audit: FAILED — upgrade the package (`make lock LOCK_ARGS='--upgrade-package NAME'`) or accept "
            "the finding in release/audit-allowlist.toml with a reason and an expiry date"
            + (f" ({REQUIRED_ENV} is set: an incomplete audit fails)" if required else "")
        )
        return 1
    total = report.checked + len(report.unchecked)
    if report.unreachable or report.unchecked:
        print(
            f"audit: INCOMPLETE — {report.checked} of {total} locked packages checked, no unaccepted finding "
            f"among them; passing with a warning ({REQUIRED_ENV}=1 makes this fail)"
        )
    else:
        print(f"audit: {total} locked packages checked, no unaccepted known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
