"""/metrics: what an operator's Prometheus reads, and who may read it."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from api.app import create_app
from domain.clock import utcnow
from domain.enums import AlertSeverity, ConsentRecipient, Role
from domain.models import Alert
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user

TOKEN = "scrape-token-for-tests-0123456789abcdef"


class _FromLoopback:
    """The app as a client on 127.0.0.1 sees it (the test client calls itself "testclient")."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["client"] = ("127.0.0.1", 40000)
        await self.app(scope, receive, send)


async def _town(db) -> tuple[str, str]:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, "coord")
        resident = await make_resident(s, org, district, name="見守 太郎")
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
        for severity in (AlertSeverity.URGENT, AlertSeverity.URGENT, AlertSeverity.HIGH):
            s.add(
                Alert(
                    org_id=org.id,
                    kind="test",
                    cause_key=f"test:{severity}:{len(s.new)}",
                    resident_id=resident.id,
                    severity=severity,
                    opened_at=utcnow(),
                )
            )
        return org.id, resident.id


async def test_metrics_name_route_templates_and_database_gauges_never_ids(settings, db) -> None:
    _, resident_id = await _town(db)
    app = create_app(settings.model_copy(update={"metrics_token": TOKEN}))
    async with AsyncTestClient(app=app) as client:
        coord = await login(client, "coord")
        got = await client.get(f"/api/v1/residents/{resident_id}", headers=coord)
        assert got.status_code == 200, got.text
        missing = await client.get("/api/v1/residents/no-such-resident-id-xyz", headers=coord)
        assert missing.status_code == 404
        stray = await client.get("/no/such/path/secret-looking-id-123")
        assert stray.status_code == 404
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert scraped.status_code == 200, scraped.text
    assert scraped.headers["content-type"].startswith("text/plain")
    # Prometheus reads the header with Go's mime.ParseMediaType, which refuses a parameter given
    # twice ("charset=utf-8; charset=utf-8"): Prometheus 3 then fails the scrape.
    params = [part.split("=")[0].strip() for part in scraped.headers["content-type"].split(";")[1:]]
    assert sorted(params) == ["charset", "version"], scraped.headers["content-type"]
    text = scraped.text
    route = 'route="/api/v1/residents/{resident_id}"'
    assert f'mimamori_http_request_duration_seconds_count{{method="GET",{route},status="200"}}' in text
    assert f'mimamori_http_request_duration_seconds_count{{method="GET",{route},status="404"}}' in text
    assert 'route="unmatched",status="404"' in text  # the router's own 404: template, not the path
    for leaked in (resident_id, "no-such-resident-id-xyz", "secret-looking-id-123", "見守"):
        assert leaked not in text
    # Gauges read from the database at scrape time.
    assert 'mimamori_alerts_unresolved{severity="urgent",status="open"} 2.0' in text
    assert 'mimamori_alerts_unresolved{severity="high",status="open"} 1.0' in text
    assert 'mimamori_alerts_unresolved{severity="normal",status="open"} 0.0' in text
    assert "mimamori_outbox_depth 0.0" in text
    assert "mimamori_outbox_dispatch_lag_seconds 0.0" in text


async def test_scrape_refused_unless_loopback_or_token(settings, db) -> None:
    # Default (no token): the test client is not on loopback → refused, in the project's error format.
    async with AsyncTestClient(app=create_app(settings)) as client:
        refused = await client.get("/metrics", headers={"Accept-Language": "en"})
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "error.metrics_forbidden"
        assert "MIMAMORI_METRICS_TOKEN" in refused.json()["title"]
        # Kept out of the published API description.
        schema = (await client.get("/schema/openapi.json")).json()
        assert "/metrics" not in schema["paths"]

    loopback = _FromLoopback(create_app(settings))
    async with AsyncTestClient(app=loopback) as client:  # type: ignore[arg-type]
        assert (await client.get("/metrics")).status_code == 200
        # Through a reverse proxy on the same host: everyone would look local, so refused.
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 403

    # With a token, only the token counts: loopback alone, or a wrong token, is refused.
    tokened = _FromLoopback(create_app(settings.model_copy(update={"metrics_token": TOKEN})))
    async with AsyncTestClient(app=tokened) as client:  # type: ignore[arg-type]
        assert (await client.get("/metrics")).status_code == 403
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 403
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_sync_pulls_and_pushes_are_counted(client, db) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[district])
        resident = await make_resident(s, org, district)
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
    pulls = _sample("mimamori_sync_pulls_total", {"mode": "first"})
    sent = _sample("mimamori_sync_records_sent_total", {"table": "residents"})
    pushes = _sample("mimamori_sync_pushes_total", {})
    headers = await login(client, "comm")
    pulled = await client.get("/api/v1/sync/pull?last_pulled_at=0&schema_version=3", headers=headers)
    assert pulled.status_code == 200, pulled.text
    assert _sample("mimamori_sync_pulls_total", {"mode": "first"}) == pulls + 1
    assert _sample("mimamori_sync_records_sent_total", {"table": "residents"}) == sent + 1
    pushed = await client.post(
        "/api/v1/sync/push?last_pulled_at=" + str(pulled.json()["timestamp"]) + "&schema_version=3",
        json={"changes": {}},
        headers=headers,
    )
    assert pushed.status_code == 200, pushed.text
    assert _sample("mimamori_sync_pushes_total", {}) == pushes + 1


async def test_several_processes_are_summed_under_prometheus_multiproc_dir(
    settings, tmp_path, monkeypatch
) -> None:
    """Two processes (as two uvicorn workers would) count into one directory; a scrape of either
    reports the sum."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    count_one = (
        "from domain.metrics import JOB_FAILURES, HTTP_REQUEST_SECONDS\n"
        "JOB_FAILURES.labels('schedules.sweep').inc()\n"
        "HTTP_REQUEST_SECONDS.labels('GET', '/healthz', '200').observe(0.01)\n"
    )
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            count_one,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)},
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    async with AsyncTestClient(
        app=create_app(settings.model_copy(update={"metrics_token": TOKEN}))
    ) as client:
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert 'mimamori_job_failures_total{job="schedules.sweep"} 2.0' in scraped.text
    assert 'route="/healthz",status="200"} 2.0' in scraped.text
    assert "mimamori_alerts_unresolved" in scraped.text  # database gauges still read at scrape
