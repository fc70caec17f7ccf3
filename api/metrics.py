"""`GET /metrics`: the Prometheus text format, for the operator's scraper only.

Who may scrape: with `MIMAMORI_METRICS_TOKEN` set, a request carrying `Authorization: Bearer
<token>` (from anywhere); without it, only a client on the loopback interface that did not come
through a proxy (any X-Forwarded-For / Forwarded header refuses it: a reverse proxy on the same host
would otherwise make every internet client look local). Everyone else gets 403. Not in the OpenAPI
document: it is an operator's port, not part of the API.

Counters and histograms are kept in the process (`domain/metrics.py`); gauges about the database are
read here, at scrape time, with three indexed queries.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import problem
from api.proxy import client_address
from domain.clock import utcnow
from domain.enums import AlertSeverity, AlertStatus, DeliveryStatus
from domain.i18n import register
from domain.models import Alert, Delivery
from domain.settings import Settings

# Litestar appends "; charset=utf-8" to every text/* media type itself; prometheus-client's type
# already names it, and a parameter given twice makes Prometheus 3 (Go's mime.ParseMediaType)
# refuse the scrape.
METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")

register(
    {
        "error.metrics_forbidden": {
            "ja": "この接続元からはメトリクスを取得できません（ループバックから直接、"
            "または MIMAMORI_METRICS_TOKEN の Bearer トークンで取得してください）。",
            "en": "Metrics cannot be read from here: scrape from loopback directly, or with the "
            "MIMAMORI_METRICS_TOKEN bearer token.",
        },
    }
)

FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def may_scrape(request: Request[Any, Any, Any], settings: Settings) -> bool:
    if settings.metrics_token:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), settings.metrics_token.encode()
        )
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    address = client_address(request, settings)
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:  # "testclient", a unix socket path…
        return False


@get(
    "/metrics",
    include_in_schema=False,
    security=[],
    media_type=METRICS_MEDIA_TYPE,
)
async def metrics(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    db_session: NamedDependency[AsyncSession],
) -> Response[Any]:
    if not may_scrape(request, settings):
        return problem(request, 403, "error.metrics_forbidden")
    database = await _database_gauges(db_session)
    body = generate_latest(_process_registry()) + generate_latest(_Fixed(database))
    return Response(body, media_type=METRICS_MEDIA_TYPE)


def _process_registry() -> CollectorRegistry:
    """This process's registry, or — under `PROMETHEUS_MULTIPROC_DIR` — the sum over every process
    writing there (prometheus-client's multiprocess mode, a fresh registry per scrape)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


async def _database_gauges(session: AsyncSession) -> list[GaugeMetricFamily]:
    now = utcnow()
    pending = Delivery.status == DeliveryStatus.PENDING.value
    depth = await session.scalar(select(func.count()).select_from(Delivery).where(pending))
    oldest_due = await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(pending, Delivery.next_attempt_at <= now)
    )
    unresolved = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)
    counts = {(severity.value, status): 0 for severity in AlertSeverity for status in unresolved}
    rows = await session.execute(
        select(Alert.severity, Alert.status, func.count())
        .where(Alert.status.in_(unresolved))
        .group_by(Alert.severity, Alert.status)
    )
    for severity, status, count in rows:
        counts[(str(severity), str(status))] = int(count)
    await session.commit()  # end the read transaction now, not at the end of the request

    outbox = GaugeMetricFamily("mimamori_outbox_depth", "Push deliveries waiting to be sent (pending).")
    outbox.add_metric([], int(depth or 0))
    lag = GaugeMetricFamily(
        "mimamori_outbox_dispatch_lag_seconds",
        "How long the oldest due push delivery has been waiting past its due time (0: none waiting).",
    )
    lag.add_metric([], _seconds_since(oldest_due, now))
    alerts = GaugeMetricFamily(
        "mimamori_alerts_unresolved",
        "Alerts not yet resolved, by severity and status.",
        labels=["severity", "status"],
    )
    for (severity, status), count in sorted(counts.items()):
        alerts.add_metric([severity, status], count)
    return [outbox, lag, alerts]


def _seconds_since(moment: Any, now: Any) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None and now.tzinfo is not None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds())


class _Fixed:
    """A collector of metric families already read (generate_latest wants a registry-like)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families
