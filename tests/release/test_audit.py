"""The vulnerability audit fails on findings and expired acceptances, and says plainly when the
service could not check anything."""

from __future__ import annotations

import datetime as dt

import pytest

from release import audit

TODAY = dt.date(2026, 12, 2)


def _audit_json(*vulns: dict, package: str = "jinja2", version: str = "3.1.4") -> dict:
    return {
        "dependencies": [
            {"name": package, "version": version, "vulns": list(vulns)},
            {"name": "six", "version": "1.17.0", "vulns": []},
        ]
    }


VULN = {"id": "GHSA-h75v-3vvj-5mfj", "aliases": ["CVE-2024-56326"], "fix_versions": ["3.1.5"]}


def test_a_finding_fails_and_is_named() -> None:
    report = audit.interpret(_audit_json(VULN), [], {"jinja2"}, TODAY)
    assert report.failed(required=False)
    [line] = report.lines()
    assert "jinja2==3.1.4 [runtime]" in line and "GHSA-h75v-3vvj-5mfj" in line and "3.1.5" in line


def test_an_accepted_finding_passes_until_its_expiry() -> None:
    accepted = [audit.Acceptance("CVE-2024-56326", "sandbox not used", dt.date(2026, 12, 31))]
    report = audit.interpret(_audit_json(VULN), accepted, {"jinja2"}, TODAY)
    assert not report.failed(required=True)
    assert report.accepted and "sandbox not used" in report.lines()[0]

    later = audit.interpret(_audit_json(VULN), accepted, {"jinja2"}, dt.date(2027, 1, 1))
    assert later.failed(required=False)
    assert any(line.startswith("EXPIRED") for line in later.lines())
    assert later.findings  # an expired acceptance accepts nothing


def test_an_expired_entry_fails_even_without_findings() -> None:
    old = [audit.Acceptance("GHSA-xxxx", "was fine", dt.date(2026, 1, 1))]
    assert audit.interpret(_audit_json(), old, set(), TODAY).failed(required=False)


def test_packages_the_service_could_not_check_warn_unless_required() -> None:
    skipped = {"dependencies": [{"name": "six", "skip_reason": "Dependency not found on PyPI"}]}
    report = audit.interpret(skipped, [], set(), TODAY)
    assert not report.failed(required=False)
    assert report.failed(required=True)
    assert "NOT checked" in report.lines()[0]


def test_allowlist_entries_need_id_reason_and_expiry(tmp_path) -> None:
    path = tmp_path / "allow.toml"
    path.write_text('[[accept]]\nid = "GHSA-1"\nexpires = 2027-01-01\n')
    with pytest.raises(ValueError, match="lacks reason"):
        audit.load_allowlist(path)
    path.write_text('[[accept]]\nid = "GHSA-1"\nreason = "ok"\nexpires = "soon"\n')
    with pytest.raises(ValueError, match="date"):
        audit.load_allowlist(path)


def test_the_projects_allowlist_loads_and_nothing_in_it_has_expired() -> None:
    today = dt.datetime.now(dt.UTC).date()
    assert [e for e in audit.load_allowlist() if e.expires < today] == []


def test_unreachable_service_warns_and_required_fails(monkeypatch, capsys) -> None:
    error = "requests.exceptions.ConnectionError: HTTPSConnectionPool: Max retries exceeded"
    monkeypatch.setattr(audit, "run_pip_audit", lambda lock: (None, error))
    monkeypatch.delenv(audit.REQUIRED_ENV, raising=False)
    assert audit.main() == 0
    out = capsys.readouterr().out
    assert "unreachable, nothing was checked" in out and "INCOMPLETE — 0 of" in out

    monkeypatch.setenv(audit.REQUIRED_ENV, "1")
    assert audit.main() == 1
    assert "FAILED" in capsys.readouterr().out


def test_pip_audit_breaking_for_another_reason_fails(monkeypatch, capsys) -> None:
    monkeypatch.setattr(audit, "run_pip_audit", lambda lock: (None, "ValueError: bad requirement"))
    assert audit.main() == 1
    assert "pip-audit failed: ValueError" in capsys.readouterr().out


def test_a_finding_in_the_lock_fails_the_run(monkeypatch, capsys) -> None:
    monkeypatch.setattr(audit, "run_pip_audit", lambda lock: (_audit_json(VULN), ""))
    assert audit.main() == 1
    assert "FINDING jinja2==3.1.4" in capsys.readouterr().out
