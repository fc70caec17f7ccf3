"""The fault-injection suite (see tests/sync/faults.py): phones on a bad network with a coordinator
editing meanwhile converge to exactly their scope, lose nothing and never see a 5xx.

    make test                                              # the fast seeds, both databases
    .venv/bin/python -m pytest -m long_run tests/sync/test_faults.py -s   # the long run, with figures
    MIMAMORI_FAULT_ROUNDS=5000 ...                         # rounds per database in the long run
"""

from __future__ import annotations

import os

import pytest

from tests.sync import faults

FAST_SEEDS = (7, 2026)


@pytest.mark.parametrize("seed", FAST_SEEDS)
async def test_phones_survive_a_bad_network(app, live, db, now, seed: int) -> None:
    report = await faults.run(db, live, app, seed=seed, rounds=120)
    assert not [s for s in live.statuses if s >= 500]
    assert report.full_resends == 0
    assert report.lock_retries == 0  # pushes lock in one order: they never deadlock one another
    assert sum(report.faults.values()) > 20


@pytest.mark.long_run
async def test_phones_survive_a_bad_network_for_long(app, live, db, now, backend: str) -> None:
    rounds = int(os.environ.get("MIMAMORI_FAULT_ROUNDS", "3000"))
    report = faults.Report(seed=0)
    for seed in range(rounds // 300):  # several towns, so that each phone's history stays realistic
        part = await faults.run(db, live, app, seed=1000 + seed, rounds=300)
        report.rounds += part.rounds
        report.seconds += part.seconds
        report.faults.update(part.faults)
        report.full_resends += part.full_resends
        report.stale_full_resends += part.stale_full_resends
        report.lock_retries += part.lock_retries
    report.statuses.update(live.statuses)
    print(f"\n{backend}: {report.line()}")
    assert not [s for s in live.statuses if s >= 500]
    assert report.full_resends == 0
    assert report.lock_retries == 0
