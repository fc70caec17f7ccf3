"""`make lock`: compile both lock files from pyproject.toml with uv, with hashes, for Python 3.11
on every platform (`--universal`: platform-only packages carry their markers), then record the
digest of pyproject's dependency sections in each header (see release/lockfile.py).

Upgrades are deliberate: by default pins already in the lock are kept when they still satisfy
pyproject; `python -m release.lock --upgrade` (or `--upgrade-package NAME`) moves them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from release.lockfile import (
    DEV_LOCK,
    DIGEST_KEY,
    INSTALLER_REQUIREMENTS,
    PYPROJECT,
    PYTHON_VERSION,
    ROOT,
    RUNTIME_LOCK,
    pyproject_digest,
    read_pyproject,
)


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        sys.exit("uv is not installed: run `make lock` (it installs the dev set first)")
    return found


def compile_lock(output: Path, *, extras: list[str], constraints: list[Path], upgrade: list[str]) -> None:
    pyproject = read_pyproject()
    with tempfile.TemporaryDirectory() as tmp:
        build_in = Path(tmp) / "build.in"
        build_in.write_text(
            "\n".join([*pyproject.get("build-system", {}).get("requires", []), *INSTALLER_REQUIREMENTS])
            + "\n"
        )
        command = [
            _uv(),
            "pip",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--universal",
            "--python-version",
            PYTHON_VERSION,
            "--no-header",
            "--output-file",
            str(output),
            str(PYPROJECT.relative_to(ROOT)),
            str(build_in),
        ]
        for extra in extras:
            command += ["--extra", extra]
        for constraint in constraints:
            command += ["--constraint", str(constraint.relative_to(ROOT))]
        command += upgrade
        subprocess.run(command, check=True, cwd=ROOT)  # noqa: S603 - fixed argv, no shell
    version = subprocess.run([_uv(), "--version"], check=True, capture_output=True, text=True).stdout.strip()  # noqa: S603
    kind = "dev (runtime + [dev] extra)" if extras else "runtime"
    header = [
        f"# Mimamori lock, {kind} set. Written by `make lock`; do not edit by hand.",
        f"# {DIGEST_KEY}: {pyproject_digest(pyproject)}",
        f"# python: {PYTHON_VERSION}",
        f"# compiled-by: {version}",
        "# Install: pip install --require-hashes -r <this file> && pip install --no-deps --no-build-isolation -e .",
    ]
    body = output.read_text(encoding="utf-8").replace(f"-r {build_in}", "build-system.requires / installer")
    output.write_text("\n".join(header) + "\n" + body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="move every pin to the newest allowed release")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    upgrade = ["--upgrade"] if args.upgrade else []
    for name in args.upgrade_package:
        upgrade += ["--upgrade-package", name]
    compile_lock(RUNTIME_LOCK, extras=[], constraints=[], upgrade=upgrade)
    # The dev set is constrained by the runtime lock: both install the same runtime versions.
    compile_lock(DEV_LOCK, extras=["dev"], constraints=[RUNTIME_LOCK], upgrade=upgrade)
    print(f"wrote {RUNTIME_LOCK.relative_to(ROOT)} and {DEV_LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
