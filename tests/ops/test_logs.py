"""Logs an operator reads: one access line per request without personal data; APScheduler quiet."""

from __future__ import annotations

import asyncio
import json
import logging

from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from api.app import create_app
from api.logging import configure_logging
from domain.db import create_db_config
from domain.enums import ConsentRecipient, Role
from schedules import runner
from tests.factories import give_consent, login, make_district, make_org, make_resident, make_user

RESIDENT_NAME = "須藤 八重子"
LOGIN = "sudo.kenji"


async def test_one_access_line_per_request_without_personal_data(settings, db, capsys) -> None:
    async with db() as s:
        org = await make_org(s)
        district = await make_district(s, org)
        await make_user(s, org, Role.COORDINATOR, LOGIN, display_name="須藤 健二")
        resident = await make_resident(s, org, district, name=RESIDENT_NAME)
        await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
    app = create_app(settings.model_copy(update={"log_level": "INFO", "log_format": "json"}))
    capsys.readouterr()
    async with AsyncTestClient(app=app) as client:
        headers = await login(client, LOGIN)
        found = await client.get(f"/api/v1/residents?q={RESIDENT_NAME}", headers=headers)
        one = await client.get(f"/api/v1/residents/{resident.id}", headers=headers)
        failed = await client.post(
            "/api/v1/auth/login",
            json={"login": LOGIN, "password": "wrong-password!", "device": {"id": "p2", "platform": "ios"}},
        )
    assert found.status_code == one.status_code == 200
    assert failed.status_code == 401
    logged = capsys.readouterr().err

    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("POST", "/api/v1/auth/login", 200),
        ("GET", "/api/v1/residents", 200),
        ("GET", "/api/v1/residents/{resident_id}", 200),
        ("POST", "/api/v1/auth/login", 401),
    ]
    for line in access:
        assert line["duration_ms"] >= 0
        assert len(line["request_id"]) == 32
        assert resident.id not in json.dumps(line)
    assert one.headers["x-request-id"] == access[2]["request_id"]  # a user's report finds its line
    # Nothing personal anywhere in the log: not the resident's name (not even from the query), not the login.
    for personal in (RESIDENT_NAME, "須藤", LOGIN, "八重子"):
        assert personal not in logged


async def test_apscheduler_is_silent_at_info_while_jobs_run(settings, caplog) -> None:
    configure_logging(settings.model_copy(update={"log_level": "INFO"}))
    caplog.set_level(logging.INFO)
    before = REGISTRY.get_sample_value(
        "mimamori_job_duration_seconds_count", {"job": "schedules.expand_plans"}
    )
    config = create_db_config(settings)
    scheduler = runner.build_scheduler(config)
    scheduler.start()
    try:
        await asyncio.sleep(1.5)  # expansion starts at once, the sweep a second later
    finally:
        await runner.stop(scheduler)
        await config.get_engine().dispose()
    after = REGISTRY.get_sample_value(
        "mimamori_job_duration_seconds_count", {"job": "schedules.expand_plans"}
    )
    assert (after or 0) > (before or 0)  # a job did run (and its duration was measured)
    chatter = [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno < logging.WARNING]
    assert chatter == []


async def test_apscheduler_speaks_at_debug(settings, caplog) -> None:
    configure_logging(settings.model_copy(update={"log_level": "DEBUG"}))
    try:
        assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.DEBUG
    finally:
        configure_logging(settings)


async def test_error_lines_name_the_route_not_the_path(settings, db, capsys, monkeypatch) -> None:
    """A failure's log line is what an operator pastes into a ticket: the route template, never the
    resident's id from the path (security.md: logs name nobody)."""
    from api.residents import service as resident_service

    async with db() as s:
        org = await make_org(s)
        resident = await make_resident(s, org, await make_district(s, org), name=RESIDENT_NAME)
        await make_user(s, org, Role.COORDINATOR, LOGIN)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(resident_service, "read_resident", broken)
    app = create_app(settings.model_copy(update={"log_level": "INFO", "log_format": "json"}))
    capsys.readouterr()
    async with AsyncTestClient(app=app) as client:
        headers = await login(client, LOGIN)
        failed = await client.get(f"/api/v1/residents/{resident.id}", headers=headers)
        console = await client.get(f"/console/residents/{resident.id}/no-such-page")
    assert failed.status_code == 500 and console.status_code == 404
    logged = capsys.readouterr().err
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    (error,) = [line for line in lines if line.get("event") == "unhandled_error"]
    assert error["route"] == "/api/v1/residents/{resident_id}" and error["error_type"] == "RuntimeError"
    assert error["request_id"] == failed.headers["x-request-id"]
    assert resident.id not in json.dumps(lines)  # (the test client's own httpx lines aside)
