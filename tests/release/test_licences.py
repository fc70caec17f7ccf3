"""Licence policy: no copyleft (GPL, LGPL, AGPL) in the runtime set unless listed with a reason."""

from __future__ import annotations

from importlib import metadata

import pytest

from release.licences import UNKNOWN, Policy, canonical, is_copyleft, licence_of, load_policy, violations
from release.lockfile import RUNTIME_LOCK, parse_lock


def test_runtime_set_has_no_unlisted_copyleft_and_no_unknown_licence() -> None:
    inventory = {
        name: licence_of(metadata.distribution(name))
        for name, pin in parse_lock(RUNTIME_LOCK).pins.items()
        if pin.applies()
    }
    assert len(inventory) > 50
    assert violations(inventory, load_policy()) == []


@pytest.mark.parametrize(
    ("licence", "copyleft"),
    [
        ("GPL-3.0-only", True),
        ("AGPL-3.0-or-later", True),
        ("LGPL-2.1-or-later", True),
        ("GNU Lesser General Public License v2 or later (LGPLv2+)", True),
        ("GNU General Public License v3 (GPLv3)", True),
        ("MIT OR GPL-2.0-only", False),  # the choice is ours
        ("GPL-2.0-only OR LGPL-3.0-only", True),
        ("MPL-2.0", False),
        ("Apache-2.0 OR BSD-3-Clause", False),
        ("MIT AND PSF-2.0", False),
    ],
)
def test_copyleft_is_recognised(licence: str, copyleft: bool) -> None:
    assert is_copyleft(licence) is copyleft


def test_copyleft_passes_only_when_listed_with_a_reason() -> None:
    inventory = {"chardet": "LGPL-2.1-or-later", "six": "MIT"}
    [problem] = violations(inventory, Policy(exceptions={}, declared={}))
    assert "chardet" in problem and "LGPL" in problem
    assert (
        violations(inventory, Policy(exceptions={"chardet": "unmodified, dynamically linked"}, declared={}))
        == []
    )


def test_unknown_licence_must_be_declared() -> None:
    assert violations({"mystery": UNKNOWN}, Policy({}, {})) != []
    assert violations({"mystery": UNKNOWN}, Policy({}, {"mystery": "MIT"})) == []


def test_licence_read_from_expression_field_or_classifiers() -> None:
    assert licence_of(metadata.distribution("cryptography")) == "Apache-2.0 OR BSD-3-Clause"
    assert "BSD" in licence_of(metadata.distribution("jinja2"))  # classifier only
    assert canonical("Foo_Bar.baz") == "foo-bar-baz"
