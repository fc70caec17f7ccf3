"""Sends due deliveries from the outbox. Interface agreed between slices:
`dispatch_once(db_config) -> int` claims due deliveries in bounded batches, sends them through the
configured transport and records each attempt. Returns how many deliveries it handled.

A run is three short transactions per batch, so that no database lock is held while FCM answers:

1. **claim** — due pending rows, `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises
   writers); each claimed row gets `attempts + 1` and a lease (`next_attempt_at = now + lease`).
   Rows whose device can no longer receive are skipped, and so are rows whose message names a
   resident its recipient may no longer see (consent withdrawn, assignment ended since it was
   written: `resident_not_visible`, never sent); non-urgent rows inside the organisation's
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

from domain.access import who_may_see
from domain.clock import utcnow
from domain.db import session_scope
from domain.enums import DeliveryStatus
from domain.metrics import PUSH_DELIVERIES
from domain.models import Delivery, DeliveryAttempt, Device, Notification, Organisation, User
from domain.org_settings import OrgRules, rules_for, timezone_of
from domain.settings import PushSettings, get_settings
from notifications import transports
from notifications.devices import deactivate_token, stale_before
from notifications.templates import LOCK_SCREEN
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


def push_data(notification: Any) -> dict[str, str]:
    """What the app needs to open the right screen and drop duplicates: ids, never content.
    `notification`: a Notification, or a claim row with `notification_id`."""
    notification_id = getattr(notification, "notification_id", None) or notification.id
    data = {
        "kind": notification.kind,
        "notification_id": notification_id,
        "urgent": "1" if notification.urgent else "0",
    }
    for key in ("resident_id", "visit_id", "alert_id"):
        value = getattr(notification, key)
        if value:
            data[key] = value
    for key, value in (notification.data or {}).items():
        if key in PUSH_DATA_KEYS and value is not None:
            data[key] = str(value)
    return data


def push_text(notification: Any) -> tuple[str, str]:
    """The title and body a lock screen shows: the message's own shorter text when it has one
    (`templates.LOCK_SCREEN`), else the inbox title and body."""
    short = (notification.data or {}).get(LOCK_SCREEN)
    if isinstance(short, dict):
        return str(short.get("title", "")), str(short.get("body", ""))
    return notification.title, notification.body


async def dispatch_once(
    db_config: SQLAlchemyAsyncConfig,
    *,
    transport: Transport | None = None,
    config: PushSettings | None = None,
    max_batches: int | None = None,
) -> int:
    transport = transport or transports.current()
    config = config or get_settings().push
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


# Claimed, deferred, skipped: one executemany UPDATE per batch (rows are locked or, on SQLite, the
# writer is alone).
_CLAIM = (
    update(Delivery.__table__)
    .where(
        Delivery.__table__.c.id == bindparam("b_id"),
        Delivery.__table__.c.status == DeliveryStatus.PENDING.value,
    )
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        last_error_code=bindparam("b_code"),
        updated_at=bindparam("b_now"),
    )
)


async def _claim(db_config: SQLAlchemyAsyncConfig, config: PushSettings) -> tuple[list[_Claim], int, int]:
    async with session_scope(db_config) as session:
        now = utcnow()
        query = (
            select(
                Delivery.id,
                Delivery.org_id,
                Delivery.attempts,
                Delivery.last_error_code,
                Notification.id.label("notification_id"),
                Notification.kind,
                Notification.title,
                Notification.body,
                Notification.data,
                Notification.urgent,
                Notification.resident_id,
                Notification.visit_id,
                Notification.alert_id,
                Notification.collapse_key,
                Notification.user_id,
                Notification.deleted_at.label("notification_deleted_at"),
                Device.id.label("device_id"),
                Device.push_token,
                Device.push_token_updated_at,
                Device.revoked_at,
                Device.platform,
                Device.signed_out_at,
                User.active.label("user_active"),
            )
            .join(Notification, Notification.id == Delivery.notification_id)
            .join(Device, Device.id == Delivery.device_id)
            .join(User, User.id == Device.user_id)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(config.batch_size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Delivery)
        rows = (await session.execute(query)).all()
        if not rows:
            return [], 0, 0
        orgs = await _by_id(session, Organisation, {row.org_id for row in rows})
        quiet_end = {org_id: quiet_hours_end(org, now) for org_id, org in orgs.items()}
        stale = stale_before(now)
        # Consent may have changed since the message was written: ask again, for the whole batch.
        seeing = await who_may_see(
            session, {(row.user_id, row.resident_id) for row in rows if row.resident_id is not None}
        )
        claims: list[_Claim] = []
        changes: list[dict[str, Any]] = []
        finished: list[dict[str, Any]] = []
        for row in rows:
            change = {
                "b_id": row.id,
                "b_status": DeliveryStatus.PENDING.value,
                "b_attempts": row.attempts,
                "b_code": row.last_error_code,
                "b_now": now,
            }
            reason = _cannot_receive(row, stale)
            if (
                reason is None
                and row.resident_id is not None
                and (row.user_id, row.resident_id) not in seeing
            ):
                reason = "resident_not_visible"
            if reason is None and row.attempts >= config.max_attempts:
                # Every earlier claim ran out its lease without a result (a dispatcher died on it
                # each time): stop trying rather than loop on it forever.
                reason = "lease_expired"
            morning = quiet_end.get(row.org_id)
            if reason:
                dead = reason == "lease_expired"
                status = DeliveryStatus.DEAD if dead else DeliveryStatus.SKIPPED
                change.update(b_status=status.value, b_next=now, b_code=reason)
                finished.append(
                    {
                        "org_id": row.org_id,
                        "delivery_id": row.id,
                        "at": now,
                        "transport": "none",
                        "outcome": "dead" if dead else "skipped",
                        "error_code": reason,
                    }
                )
            elif morning is not None and not row.urgent:
                change["b_next"] = morning  # quiet hours: not an attempt, just later
            else:
                attempt = row.attempts + 1
                title, body = push_text(row)
                change.update(b_attempts=attempt, b_next=now + timedelta(seconds=config.lease_seconds))
                claims.append(
                    _Claim(
                        row.id,
                        attempt,
                        PushMessage(
                            delivery_id=row.id,
                            device_id=row.device_id,
                            token=row.push_token or "",
                            title=title,
                            body=body,
                            data=push_data(row),
                            urgent=row.urgent,
                            collapse_key=row.collapse_key,
                            platform=row.platform,
                        ),
                    )
                )
            changes.append(change)
        await session.execute(_CLAIM, changes)
        if finished:
            await session.execute(insert(DeliveryAttempt), finished)
    _count_outcomes(finished)  # once committed
    return claims, len(finished), len(rows)


def _count_outcomes(attempts: list[dict[str, Any]]) -> None:
    for attempt in attempts:
        PUSH_DELIVERIES.labels(attempt["outcome"]).inc()


def _cannot_receive(row: Any, stale: datetime) -> str | None:
    if row.notification_deleted_at is not None:
        return "notification_deleted"
    if row.revoked_at is not None:
        return "device_revoked"
    if not row.user_active:
        return "user_inactive"
    if row.signed_out_at is not None and (
        row.push_token_updated_at is None or row.push_token_updated_at < row.signed_out_at
    ):
        return "device_signed_out"  # nobody is signed in on the phone: it must not show names
    if not row.push_token:
        return "no_token"
    if row.push_token_updated_at is None or row.push_token_updated_at < stale:
        return "stale_token"
    return None


async def _by_id(session: AsyncSession, model: Any, ids: set[str]) -> dict[str, Any]:
    rows = (await session.scalars(select(model).where(model.id.in_(ids)))).all()
    return {row.id: row for row in rows}


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
            change = {
                "b_id": row.id,
                "b_attempt": claim.attempt,
                "b_next": row.next_attempt_at,
                "b_sent_at": None,
                "b_code": result.error_code,
                "b_error": (result.error or "")[:500] or None,
                "b_provider": None,
                "b_now": now,
            }
            if result.outcome == Outcome.SENT:
                outcome = "sent"
                change.update(
                    b_status=DeliveryStatus.SENT.value,
                    b_sent_at=now,
                    b_provider=(result.message_id or "")[:200] or None,
                )
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
                {
                    "org_id": row.org_id,
                    "delivery_id": row.id,
                    "at": now,
                    "transport": transport_name,
                    "outcome": outcome,
                    "error_code": result.error_code,
                    "error": change["b_error"],
                    "retry_after_seconds": round(result.retry_after)
                    if result.retry_after is not None
                    else None,
                }
            )
        if changes:
            await session.execute(_RECORD, changes)
            await session.execute(insert(DeliveryAttempt), attempts)
    _count_outcomes(attempts)  # once committed
