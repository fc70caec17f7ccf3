"""Sends due deliveries from the outbox. Interface agreed between slices:
`dispatch_once(db_config) -> int` claims due deliveries in bounded batches, sends them through the
configured transport and records each attempt. Returns how many deliveries it handled.

A run is three short transactions per batch, so that no database lock is held while FCM answers:

1. **claim** — due pending rows, `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises
   writers); each claimed row gets `attempts + 1` and a lease (`next_attempt_at = now + lease`).
   Rows whose device can no longer receive are skipped; non-urgent rows inside the organisation's
   quiet hours are moved to the morning without counting an attempt.
2. **send** — outside any transaction.
3. **record** — the result of each attempt (`DeliveryAttempt`), and the delivery's new state:
   sent; retry later (exponential backoff with jitter, at least `Retry-After`); dead token
   cleared from its device; dead-lettered (after the last attempt, or for a permanent error).

A dispatcher that dies after claiming leaves the rows pending: they are due again when the lease
ends. A row whose lease was taken over by another dispatcher is not overwritten (the attempt
number must still match). Delivery is at least once; the app drops duplicates by notification id.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.db import session_scope
from domain.enums import DeliveryStatus
from domain.models import Delivery, DeliveryAttempt, Device, Notification, Organisation
from domain.org_settings import OrgRules, rules_for, timezone_of
from notifications import transports
from notifications.config import PushSettings, push_settings
from notifications.devices import deactivate_token, stale_before
from notifications.transports import Outcome, PushMessage, SendResult, Transport

log = logging.getLogger("mimamori.push")

# Extra keys of `Notification.data` that may travel in a push (ids and screen names only).
PUSH_DATA_KEYS = frozenset({"screen", "campaign_id", "record_id", "plan_id", "note_id"})


@dataclass(frozen=True)
class _Claim:
    delivery_id: str
    attempt: int
    message: PushMessage


def backoff_seconds(attempt: int, config: PushSettings) -> float:
    """Exponential backoff with jitter: half fixed, half random, so retries spread out but grow."""
    ceiling = min(config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def quiet_hours_end(org: Organisation, now: datetime) -> datetime | None:
    """When the organisation's quiet hours end, if `now` is inside them."""
    try:
        rules, zone = rules_for(org), timezone_of(org)
    except (ValueError, KeyError):  # unreadable settings must not stop every organisation's pushes
        log.warning("organisation %s: unreadable quiet hours or timezone; using the defaults", org.id)
        rules, zone = OrgRules(), ZoneInfo("Asia/Tokyo")
    local = now.astimezone(zone)
    if not rules.in_quiet_hours(local.time()):
        return None
    end = datetime.combine(local.date(), rules.quiet_end, tzinfo=zone)
    if end <= local:
        end += timedelta(days=1)
    return end


def push_data(notification: Notification) -> dict[str, str]:
    """What the app needs to open the right screen and drop duplicates: ids, never content."""
    data = {"kind": notification.kind, "notification_id": notification.id,
            "urgent": "1" if notification.urgent else "0"}  # fmt: skip
    for key in ("resident_id", "visit_id", "alert_id"):
        value = getattr(notification, key)
        if value:
            data[key] = value
    for key, value in (notification.data or {}).items():
        if key in PUSH_DATA_KEYS and value is not None:
            data[key] = str(value)
    return data


async def dispatch_once(
    db_config: SQLAlchemyAsyncConfig,
    *,
    transport: Transport | None = None,
    config: PushSettings | None = None,
    max_batches: int | None = None,
) -> int:
    transport = transport or transports.current()
    config = config or push_settings()
    handled = 0
    for _ in range(max_batches or config.max_batches):
        claims, skipped, claimed_rows = await _claim(db_config, config)
        handled += skipped
        if claims:
            results = await transport.send([claim.message for claim in claims])
            await _record(db_config, config, transport.name, claims, results)
            handled += len(claims)
        if claimed_rows < config.batch_size:
            break
    return handled


async def _claim(db_config: SQLAlchemyAsyncConfig, config: PushSettings) -> tuple[list[_Claim], int, int]:
    async with session_scope(db_config) as session:
        now = utcnow()
        query = (
            select(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(config.batch_size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        deliveries = (await session.scalars(query)).all()
        if not deliveries:
            return [], 0, 0
        notifications = await _by_id(session, Notification, {d.notification_id for d in deliveries})
        devices = await _by_id(session, Device, {d.device_id for d in deliveries})
        orgs = await _by_id(session, Organisation, {d.org_id for d in deliveries})
        quiet_end = {org_id: quiet_hours_end(org, now) for org_id, org in orgs.items()}
        stale = stale_before(now)
        claims: list[_Claim] = []
        skipped = 0
        for delivery in deliveries:
            notification = notifications[delivery.notification_id]
            device = devices[delivery.device_id]
            reason = _cannot_receive(device, notification, stale)
            if reason:
                _finish(session, delivery, DeliveryStatus.SKIPPED, reason, now, "none", "skipped")
                skipped += 1
                continue
            morning = quiet_end.get(delivery.org_id)
            if morning is not None and not notification.urgent:
                delivery.next_attempt_at = morning  # quiet hours: not an attempt, just later
                continue
            if delivery.attempts >= config.max_attempts:
                # Every earlier claim ran out its lease without a result (a dispatcher died on it
                # each time): stop trying rather than loop on it forever.
                _finish(session, delivery, DeliveryStatus.DEAD, "lease_expired", now, "none", "dead")
                skipped += 1
                continue
            delivery.attempts += 1
            delivery.next_attempt_at = now + timedelta(seconds=config.lease_seconds)
            claims.append(
                _Claim(delivery.id, delivery.attempts, PushMessage(
                    delivery_id=delivery.id, device_id=device.id, token=device.push_token or "",
                    title=notification.title, body=notification.body, data=push_data(notification),
                    urgent=notification.urgent, collapse_key=notification.collapse_key,
                    platform=device.platform,
                ))
            )  # fmt: skip
        return claims, skipped, len(deliveries)


def _cannot_receive(device: Device, notification: Notification, stale: datetime) -> str | None:
    if notification.deleted_at is not None:
        return "notification_deleted"
    if device.revoked_at is not None:
        return "device_revoked"
    if not device.push_token:
        return "no_token"
    if device.push_token_updated_at is None or device.push_token_updated_at < stale:
        return "stale_token"
    return None


async def _by_id(session: AsyncSession, model: Any, ids: set[str]) -> dict[str, Any]:
    rows = (await session.scalars(select(model).where(model.id.in_(ids)))).all()
    return {row.id: row for row in rows}


def _finish(
    session: AsyncSession,
    delivery: Delivery,
    status: DeliveryStatus,
    code: str | None,
    now: datetime,
    transport: str,
    outcome: str,
    error: str | None = None,
    retry_after: float | None = None,
) -> None:
    delivery.status = status
    delivery.last_error_code = code
    delivery.last_error = error[:500] if error else None
    session.add(
        DeliveryAttempt(
            org_id=delivery.org_id, delivery_id=delivery.id, at=now, transport=transport, outcome=outcome,
            error_code=code, error=error[:500] if error else None,
            retry_after_seconds=round(retry_after) if retry_after is not None else None,
        )
    )  # fmt: skip


# One statement for every result of a batch (executemany). The WHERE repeats the claim check, so
# a row another dispatcher took over after our lease ran out is left alone.
_RECORD = (
    update(Delivery.__table__)
    .where(
        Delivery.__table__.c.id == bindparam("b_id"),
        Delivery.__table__.c.status == DeliveryStatus.PENDING.value,
        Delivery.__table__.c.attempts == bindparam("b_attempt"),
    )
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        sent_at=bindparam("b_sent_at"),
        last_error_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        provider_message_id=bindparam("b_provider"),
        updated_at=bindparam("b_now"),
    )
)


async def _record(
    db_config: SQLAlchemyAsyncConfig,
    config: PushSettings,
    transport_name: str,
    claims: list[_Claim],
    results: list[SendResult],
) -> None:
    async with session_scope(db_config) as session:
        now = utcnow()
        current = {
            row.id: row
            for row in await session.execute(
                select(
                    Delivery.id, Delivery.org_id, Delivery.status, Delivery.attempts, Delivery.next_attempt_at
                ).where(Delivery.id.in_([claim.delivery_id for claim in claims]))
            )
        }
        changes: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        for claim, result in zip(claims, results, strict=True):
            row = current.get(claim.delivery_id)
            if row is None or row.status != DeliveryStatus.PENDING or row.attempts != claim.attempt:
                continue  # another dispatcher took the row over after our lease ran out
            change = {"b_id": row.id, "b_attempt": claim.attempt, "b_next": row.next_attempt_at, "b_sent_at": None,
                      "b_code": result.error_code, "b_error": (result.error or "")[:500] or None,
                      "b_provider": None, "b_now": now}  # fmt: skip
            if result.outcome == Outcome.SENT:
                outcome = "sent"
                change.update(b_status=DeliveryStatus.SENT.value, b_sent_at=now,
                              b_provider=(result.message_id or "")[:200] or None)  # fmt: skip
            elif result.outcome == Outcome.DEACTIVATE:
                outcome = "deactivated"
                change["b_status"] = DeliveryStatus.DEAD.value
                await deactivate_token(session, claim.message.device_id, claim.message.token)
                log.info(
                    "push token deactivated device=%s code=%s", claim.message.device_id, result.error_code
                )
            elif result.outcome == Outcome.RETRY and claim.attempt < config.max_attempts:
                outcome = "retry"
                delay = max(backoff_seconds(claim.attempt, config), result.retry_after or 0.0)
                change.update(b_status=DeliveryStatus.PENDING.value, b_next=now + timedelta(seconds=delay))
            else:
                outcome = "dead"
                change["b_status"] = DeliveryStatus.DEAD.value
                # No personal data: ids and FCM's error code only.
                log.warning(
                    "push dead-lettered delivery=%s attempts=%s code=%s",
                    row.id,
                    claim.attempt,
                    result.error_code,
                )
            changes.append(change)
            attempts.append(
                {"org_id": row.org_id, "delivery_id": row.id, "at": now, "transport": transport_name,
                 "outcome": outcome, "error_code": result.error_code, "error": change["b_error"],
                 "retry_after_seconds": round(result.retry_after) if result.retry_after is not None else None}
            )  # fmt: skip
        if changes:
            await session.execute(_RECORD, changes)
            await session.execute(insert(DeliveryAttempt), attempts)
