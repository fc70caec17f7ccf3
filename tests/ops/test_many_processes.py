"""Many processes, one truth (issue #13): two API processes (`mimamori serve`, scheduler off) and two
`mimamori worker` processes on one PostgreSQL database.

The alert streams' poll interval is 60 s, so an alert that reaches API B's stream within 3 s of an
emergency pushed to API A — or of a worker's sweep — can only have come through PostgreSQL
LISTEN/NOTIFY. The two workers sweep the same overdue visits at once: one alert per visit, one
notification per recipient, one send per delivery. The harness is `bench/multiprocess.py`, which
`make bench` runs for the figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.multiprocess import POLL_SECONDS, exercise, running_cluster, summary

# Timing-sensitive: `make test` runs it after the parallel phase, with nothing else running.
pytestmark = [pytest.mark.alone]

EMERGENCIES = 5
VISITS = 30


@pytest.mark.slow
@pytest.mark.postgres_only
async def test_an_alert_raised_in_one_process_reaches_a_stream_on_another_at_once(
    backend: str, empty_database_url: str, tmp_path: Path
) -> None:
    with running_cluster(empty_database_url, tmp_path) as cluster:
        cluster.migrate()
        figures = await exercise(cluster, EMERGENCIES, VISITS)
        logs = {name: cluster.log(name) for name in cluster.processes}
    print("\n" + summary(figures))  # the figures, with -s or -rP

    # Every emergency pushed to A was on B's stream within 3 s (the streams poll every 60 s).
    assert len(figures.alert_latencies) == EMERGENCIES
    assert max(figures.alert_latencies) < 3.0 < POLL_SECONDS
    # Every sweep alert raised by a worker was on B's stream too, without waiting for a poll.
    assert figures.sweep_alerts_on_stream == VISITS
    # The urgent pushes left from a worker woken by the outbox's NOTIFY, not its 15 s job.
    assert max(figures.push_latencies) < 5.0

    # Two workers swept the same visits: exactly one alert per cause ...
    swept = figures.swept
    assert len(swept.alerts_per_visit) == VISITS and set(swept.alerts_per_visit.values()) == {1}
    # ... each told to the commissioner and the coordinator once (one device each) ...
    assert swept.notifications == 2 * (VISITS + EMERGENCIES)
    assert swept.deliveries == {"sent": swept.notifications}
    # ... and every delivery sent exactly once, though both workers dispatch.
    assert swept.attempts_per_delivery == {1: swept.notifications}
    for name, text in logs.items():
        assert "Traceback" not in text, (name, text)
