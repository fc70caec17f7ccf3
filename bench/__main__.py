"""`python -m bench` (`make bench`): every benchmark at a quick scale, one after another.

Full-size runs (100,000 residents) take tens of minutes each; run them one by one:
    python -m bench.sync_bench            # sync: first syncs, no-op pull, push (ratios to a bare query)
    python -m bench.sched_bench           # schedules: sweep and expansion cost vs. table size
    python -m bench.sweep_bench           # the sweep per due visit, 1,000 and 10,000 due (vs a bare SELECT)
    python -m bench.notify_bench          # push dispatch vs. bare send_each_async
    python -m bench.reports_bench         # working list, coverage, CSV export vs. bare aggregates
    python -m bench.multiprocess          # 2 API + 2 worker processes: cross-process alert latency
    python -m bench.throughput --floor    # req/s over HTTP (wrk): no-op pull, list, /healthz, the list's floor
Recorded figures: bench/sync_results.md, bench/sched_results.md, bench/multiprocess_results.md,
bench/throughput_results.md, bench/reports_results.md and the issues' closing notes.
"""

from __future__ import annotations

import subprocess
import sys

QUICK = [
    ["bench.sync_bench", "--scale", "0.05", "--runs", "3", "--fault-rounds", "300"],
    ["bench.sched_bench", "--scale", "0.02"],
    ["bench.sweep_bench", "--due", "1000", "10000"],
    ["bench.notify_bench", "--n", "2000", "--rounds", "2"],
    ["bench.reports_bench", "--scale", "0.02", "--runs", "2"],
    ["bench.multiprocess", "--alerts", "20", "--visits", "40"],
    ["bench.throughput", "--workers", "1", "2", "--duration", "5", "--floor"],
]


def main() -> int:
    status = 0
    for module, *args in QUICK:
        print(f"\n=== python -m {module} {' '.join(args)}", flush=True)
        status |= subprocess.call([sys.executable, "-m", module, *args])
    return status


if __name__ == "__main__":
    sys.exit(main())
