"""Finding 15 of the hardening review: alert lists, the alert stream and the inbox handed out
residents' names without an audit event, and a database error logged its bound values.

Each read that returns names leaves exactly one audit event per request (naming the residents,
never their names); the engine hides bound parameters from error messages and logs.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from domain import alerts as lifecycle
from domain.clock import clock
from domain.db import create_db_config
from domain.models import AuditEvent, Resident
from notifications.outbox import enqueue
from notifications.templates import MessageKind
from tests.factories import login


@pytest.fixture
async def two_alerts(db, world):
    ids = []
    async with db() as session:
        for n, resident in enumerate((world.resident, world.other_resident)):
            alert = await lifecycle.open_alert(
                session,
                org_id=world.org.id,
                kind="missed_contact",
                cause_key=f"missed:{n}",
                resident_id=resident.id,
            )
            ids.append(alert.id)
            await enqueue(
                session,
                org_id=world.org.id,
                user_ids=[world.coordinator.id],
                kind=MessageKind.MISSED_CONTACT,
                alert_id=alert.id,
                resident_id=resident.id,
                params={"resident_name": resident.name},
            )
            clock.advance(timedelta(seconds=1))
    return ids


async def _events(db, action: str, entity: str) -> list[AuditEvent]:
    async with db() as session:
        return list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.entity == entity)
            )
        )


async def test_reads_that_name_residents_leave_one_audit_event_per_request(client, db, world, two_alerts):
    headers = await login(client, "coord")
    everyone = sorted([world.resident.id, world.other_resident.id])

    listed = await client.get("/api/v1/alerts", headers=headers)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 2
    [event] = await _events(db, "list", "alert")
    assert sorted(event.detail["resident_ids"]) == everyone and sorted(event.detail["alert_ids"]) == sorted(
        two_alerts
    )
    assert event.actor_id == world.coordinator.id and event.device_id is not None

    detail = await client.get(f"/api/v1/alerts/{two_alerts[0]}", headers=headers)
    assert detail.status_code == 200
    [event] = await _events(db, "read", "alert")
    assert event.entity_id == two_alerts[0] and event.detail["resident_id"] == world.resident.id

    inbox = await client.get("/api/v1/me/notifications", headers=headers)
    assert inbox.status_code == 200 and len(inbox.json()["items"]) == 2
    [event] = await _events(db, "list", "notification")
    assert sorted(event.detail["resident_ids"]) == everyone

    stream = await client.get(
        "/api/v1/alerts/stream?max_seconds=0.3", headers={**headers, "Last-Event-ID": "0"}
    )
    assert stream.status_code == 200 and stream.text.count("event: alert") == 2
    [event] = await _events(db, "stream", "alert")  # both alerts went out in one batch: one event
    assert sorted(event.detail["resident_ids"]) == everyone
    for audit_event in await _events(db, "stream", "alert"):
        assert world.resident.name not in str(audit_event.detail)  # ids only, never names


async def test_a_database_error_never_carries_bound_values(settings, world, caplog) -> None:
    secret_name = "秘密 花子 090-0000-0000"
    statement = insert(Resident).values(id="x", name=secret_name)  # no org, district...: refused

    def _failure(engine_error: DBAPIError) -> str:
        logging.getLogger("mimamori.test").error("database error", exc_info=engine_error)
        return str(engine_error)

    config = create_db_config(settings)
    with caplog.at_level(logging.ERROR):
        with pytest.raises(DBAPIError) as caught:
            async with config.get_engine().begin() as conn:
                await conn.execute(statement)
        message = _failure(caught.value)
    await config.get_engine().dispose()
    assert secret_name not in message and secret_name not in caplog.text
    assert "hidden" in message  # SQLAlchemy says the parameters were withheld

    # The same error from an engine without the setting does carry the value: the check is real.
    plain = create_async_engine(settings.database_url, poolclass=NullPool)
    with pytest.raises(DBAPIError) as caught:
        async with plain.begin() as conn:
            await conn.execute(statement)
    await plain.dispose()
    assert secret_name in str(caught.value)


async def test_nothing_is_audited_for_an_empty_stream_batch(client, db, world) -> None:
    headers = await login(client, "coord")
    stream = await client.get("/api/v1/alerts/stream?max_seconds=0.3", headers=headers)
    assert stream.status_code == 200
    async with db() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "stream")
            )
            == 0
        )
