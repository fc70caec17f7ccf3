"""`mimamori serve --workers N`: several API processes on one port, and which of them runs jobs.

With one process nothing changes: it serves and, unless MIMAMORI_RUN_SCHEDULER=false, runs the
scheduler and the push dispatcher. With several (uvicorn's supervisor starts N interpreters, each
building the app with `create_app()`), every process would otherwise start its own scheduler. Jobs
are safe to run several times at once (work is claimed with SKIP LOCKED, unique keys forbid a
second alert), but N schedulers on one machine multiply the database work for nothing, so the
supervisor names a lock file and the first process to take it (`fcntl.flock`, held for the life of
the process) runs the jobs; the others only serve. When that process dies, the kernel releases
the lock and the process uvicorn starts in its place takes it. Several machines each running
`serve --workers N` run one scheduler each, which is safe; at scale, set
MIMAMORI_RUN_SCHEDULER=false and run `mimamori worker` instead.

Prometheus: counters and histograms live in each process. Unless the operator set
PROMETHEUS_MULTIPROC_DIR, the supervisor gives the processes a fresh private directory of its own
(removed when it stops), so that `/metrics`, whichever process answers it, reports the sum.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from domain.settings import Settings, ensure_private_dir

SCHEDULER_LOCK_ENV = "MIMAMORI_SCHEDULER_LOCK"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_held: IO[bytes] | None = None  # the open lock file of the process that runs the jobs


@contextlib.contextmanager
def worker_environment(settings: Settings, workers: int) -> Iterator[None]:
    """Set, for the N processes about to be started, the scheduler lock file and (unless given)
    a fresh metrics directory; undo both when they have stopped."""
    if workers <= 1:
        yield
        return
    saved = {name: os.environ.get(name) for name in (SCHEDULER_LOCK_ENV, MULTIPROC_ENV)}
    ensure_private_dir(settings.data_dir)
    lock = settings.data_dir / f"scheduler-{os.getpid()}.lock"
    created = None if saved[MULTIPROC_ENV] else Path(tempfile.mkdtemp(prefix="mimamori-metrics-"))
    os.environ[SCHEDULER_LOCK_ENV] = str(lock)
    if created is not None:
        os.environ[MULTIPROC_ENV] = str(created)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        lock.unlink(missing_ok=True)


def runs_jobs(settings: Settings) -> bool:
    """Whether this process runs the scheduler and the push dispatcher: as configured, and, among
    the processes of one `serve --workers N`, only in the one holding the lock."""
    global _held
    if not settings.run_scheduler:
        return False
    path = os.environ.get(SCHEDULER_LOCK_ENV)
    if not path:
        return True
    if _held is not None:
        return True
    handle = open(path, "ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _held = handle
    return True
