"""Which build of Mimamori is running: the package version and the git commit it was built from.

Shown by `mimamori --version`, `GET /healthz` and the OpenAPI document's `info.version`, so an
operator can always say which code (and, through requirements/runtime.txt at that commit, which
dependency versions) a deployed service runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

COMMIT_ENV = "MIMAMORI_GIT_COMMIT"  # set by a build that ships no .git (e.g. a container image)
UNKNOWN = "unknown"
_SOURCE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str  # full hash, "-dirty" appended when tracked files differ from it; or "unknown"

    @property
    def full(self) -> str:
        """`0.1.0+abc123def456` (build metadata after "+", as semver and PEP 440 allow)."""
        if self.commit == UNKNOWN:
            return self.version
        short = self.commit[:12] + (".dirty" if self.commit.endswith("-dirty") else "")
        return f"{self.version}+{short}"


@lru_cache(maxsize=1)
def build_info() -> BuildInfo:
    return BuildInfo(version=metadata.version("mimamori"), commit=_commit())


def _commit() -> str:
    if from_env := os.environ.get(COMMIT_ENV, "").strip():
        return from_env
    git = shutil.which("git")
    if git is None or not (_SOURCE / ".git").exists():
        return UNKNOWN
    try:
        head = _git(git, "rev-parse", "--verify", "HEAD")
        changed = _git(git, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return head + ("-dirty" if changed else "")


def _git(git: str, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [git, "-C", str(_SOURCE), *args], capture_output=True, text=True, timeout=5, check=True
    )
    return done.stdout.strip()
