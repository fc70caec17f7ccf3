"""The service's Prometheus metrics, defined once and counted where the work happens.

Labels are bounded by construction: route templates (never raw paths), status codes, job ids,
table names, outcome words. No label ever holds an id, a name or a query value. Gauges that describe
the database (outbox depth, dispatch lag, open alerts) are not kept here: `api/metrics.py` reads
them at scrape time, so every process reports the same truth.

With several processes, set `PROMETHEUS_MULTIPROC_DIR` (an empty directory shared by them) before
they start: prometheus-client then keeps these values in files there and `/metrics` sums them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds: sync pulls take tens to hundreds of milliseconds, health checks well under one.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

HTTP_REQUEST_SECONDS = Histogram(
    "mimamori_http_request_duration_seconds",
    "Time to answer one HTTP request, by method, route template and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)

SYNC_PULLS = Counter("mimamori_sync_pulls_total", "Sync pulls answered, by mode.", ["mode"])
SYNC_PUSHES = Counter("mimamori_sync_pushes_total", "Sync pushes applied.")
SYNC_RECORDS_SENT = Counter(
    "mimamori_sync_records_sent_total", "Records sent to phones by sync pulls, by table.", ["table"]
)
SYNC_RECORDS_RECEIVED = Counter(
    "mimamori_sync_records_received_total",
    "Records received from phones by applied pushes, by table.",
    ["table"],
)
SYNC_FULL_RESENDS = Counter(
    "mimamori_sync_full_resends_total",
    "Pulls answered with everything in scope because the cursor could not be placed, by reason.",
    ["reason"],
)

PUSH_DELIVERIES = Counter(
    "mimamori_push_deliveries_total",
    "Push delivery attempts finished, by outcome (sent, retry, deactivated, dead, skipped).",
    ["outcome"],
)

JOB_SECONDS = Histogram(
    "mimamori_job_duration_seconds",
    "Run time of one scheduled job run, by job.",
    ["job"],
    buckets=JOB_BUCKETS,
)
JOB_FAILURES = Counter("mimamori_job_failures_total", "Scheduled job runs that failed, by job.", ["job"])
