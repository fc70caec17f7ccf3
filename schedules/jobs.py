"""The periodic jobs. Each takes "now" from `domain.clock`, works in bounded batches of one
transaction each, and claims its rows through the database: `FOR UPDATE SKIP LOCKED` on PostgreSQL
(two workers never take the same row), serialised writers on SQLite. A worker killed half way loses
only its uncommitted batch, which the next run takes again; unique cause keys and the visits' step
column make every effect happen once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts as alert_lifecycle
from domain.clock import utcnow
from domain.db import session_scope
from domain.enums import AlertResolution, AlertStatus, PlanStatus, ResidentStatus
from domain.metrics import JOB_FAILURES
from domain.models import Alert, Organisation, Resident, Visit, VisitPlan
from domain.org_settings import OrgRules, rules_for
from schedules import alerting, ladder, plans, reassignment

log = logging.getLogger("mimamori.schedules")

BATCH = 200
# The sweep writes a batch's messages and alerts together. A batch's cost is mostly fixed (its
# round trips, and the sight check, which grows with the distinct people it names, not the
# visits): 2,000 visits a batch measured 0.8 ms per due visit on PostgreSQL (500: 2.1 ms), each
# transaction holding its claimed visits for about two seconds (bench/sweep_results.md).
SWEEP_BATCH = 2000
MAX_BATCHES = 10_000  # a guard: a run always ends


def _claim(session: AsyncSession, query: Select[Any], *of: Any) -> Select[Any]:
    # FOR NO KEY UPDATE: a claim must not block the foreign-key checks of rows that merely point at
    # the claimed one (an alert or a note about a claimed resident, written by a request), or the
    # two deadlock on PostgreSQL: the request waits for the claim while the job waits for the
    # request's uncommitted alert under the same cause key.
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=of or None, key_share=True)
    return query


class _Orgs:
    """Organisations and their rules, read once per batch."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._cache: dict[str, tuple[Organisation, OrgRules]] = {}

    async def get(self, org_id: str) -> tuple[Organisation, OrgRules]:
        if org_id not in self._cache:
            org = await self._session.get_one(Organisation, org_id)
            self._cache[org_id] = (org, rules_for(org))
        return self._cache[org_id]


async def _batches(
    db_config: SQLAlchemyAsyncConfig, work: Callable[[AsyncSession], Awaitable[int]], batch: int
) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        async with session_scope(db_config) as session:
            done = await work(session)
        total += done
        if done < batch:
            break
    return total


async def sweep_visits(db_config: SQLAlchemyAsyncConfig, batch: int = SWEEP_BATCH) -> int:
    """Walk every visit whose next ladder step is due: reminders, ask to record, missed alerts.

    A batch holds every organisation's due visits. Should one fail (and roll back), the sweep goes
    on organisation by organisation, so that one organisation's failure holds up no other's."""

    def work_for(org_id: str | None) -> Callable[[AsyncSession], Awaitable[int]]:
        async def work(session: AsyncSession) -> int:
            now = utcnow()
            query = (
                select(Visit)
                .where(Visit.next_check_at.is_not(None), Visit.next_check_at <= now)
                .order_by(Visit.next_check_at, Visit.id)
                .limit(batch)
            )
            if org_id is not None:
                query = query.where(Visit.org_id == org_id)
            visits = list(await session.scalars(_claim(session, query)))
            orgs = _Orgs(session)
            by_org = {oid: await orgs.get(oid) for oid in sorted({v.org_id for v in visits})}
            # The whole batch at once: its messages, history and alerts are written together.
            await ladder.walk_many(session, visits, by_org, now)
            return len(visits)

        return work

    try:
        return await _batches(db_config, work_for(None), batch)
    except Exception as exc:
        log.error("visit sweep failed, going on organisation by organisation: error=%s", type(exc).__name__)
        return await _each_org(db_config, "schedules.sweep", batch, work_for)


async def escalate_alerts(db_config: SQLAlchemyAsyncConfig, batch: int = BATCH) -> int:
    """Re-send unacknowledged alerts one rung up the ladder when their deadline passes (organisation
    by organisation should a batch of every organisation's alerts fail, as in `sweep_visits`)."""

    def work_for(org_id: str | None) -> Callable[[AsyncSession], Awaitable[int]]:
        async def work(session: AsyncSession) -> int:
            now = utcnow()
            query = (
                select(Alert)
                .where(
                    Alert.status == AlertStatus.OPEN,
                    Alert.next_escalation_at.is_not(None),
                    Alert.next_escalation_at <= now,
                    Alert.kind.in_(alerting.KINDS),
                )
                .order_by(Alert.next_escalation_at, Alert.id)
                .limit(batch)
            )
            if org_id is not None:
                query = query.where(Alert.org_id == org_id)
            found = list(await session.scalars(_claim(session, query)))
            orgs = _Orgs(session)
            for alert in found:
                resident = await session.get_one(Resident, alert.resident_id)
                if resident.status == ResidentStatus.ENDED:  # ended before ending resolved alerts
                    await alert_lifecycle.resolve(session, alert, AlertResolution.RESIDENT_ENDED)
                    continue
                org, _rules = await orgs.get(alert.org_id)
                await alerting.escalate(session, alert, org)
            return len(found)

        return work

    try:
        return await _batches(db_config, work_for(None), batch)
    except Exception as exc:
        log.error("escalation failed, going on organisation by organisation: error=%s", type(exc).__name__)
        return await _each_org(db_config, "schedules.sweep", batch, work_for)


async def sweep(db_config: SQLAlchemyAsyncConfig, batch: int | None = None) -> dict[str, int]:
    """The frequent job: visit ladder, then escalations — these even when the visits failed (the
    failure is raised after them, for the runner to log and count)."""
    try:
        visits = await sweep_visits(db_config, batch or SWEEP_BATCH)
    except Exception as exc:
        await escalate_alerts(db_config, batch or BATCH)
        raise exc from None
    return {"visits": visits, "escalations": await escalate_alerts(db_config, batch or BATCH)}


async def _org_ids(db_config: SQLAlchemyAsyncConfig) -> list[str]:
    async with session_scope(db_config) as session:
        return list(await session.scalars(select(Organisation.id).order_by(Organisation.id)))


async def _each_org(
    db_config: SQLAlchemyAsyncConfig,
    job: str,
    batch: int,
    work_for: Callable[[str], Callable[[AsyncSession], Awaitable[int]]],
) -> int:
    """Run an organisation's batches for every organisation. One organisation's failure (its
    batch rolled back) is logged — its id and the error's type, nothing the error says — and
    counted; the organisations after it still get their run. Returns the rows the organisations
    that did not fail worked through."""
    total = 0
    for org_id in await _org_ids(db_config):
        try:
            total += await _batches(db_config, work_for(org_id), batch)
        except Exception as exc:
            log.error(
                "job failed for one organisation: job=%s org=%s error=%s", job, org_id, type(exc).__name__
            )
            JOB_FAILURES.labels(job).inc()
    return total


async def expand_plans(db_config: SQLAlchemyAsyncConfig, batch: int = BATCH) -> int:
    """Expand every active plan up to its organisation's horizon (eight weeks by default)."""
    created = 0

    def work_for(org_id: str) -> Callable[[AsyncSession], Awaitable[int]]:
        async def work(session: AsyncSession) -> int:
            nonlocal created
            now = utcnow()
            org = await session.get_one(Organisation, org_id)
            horizon = plans.horizon_of(org, now)
            query = (
                select(VisitPlan)
                .join(Resident, Resident.id == VisitPlan.resident_id)
                .where(
                    VisitPlan.org_id == org_id,
                    VisitPlan.status == PlanStatus.ACTIVE,
                    (VisitPlan.expanded_until.is_(None)) | (VisitPlan.expanded_until < horizon),
                    Resident.status == ResidentStatus.ACTIVE,
                    Resident.deleted_at.is_(None),
                )
                .order_by(VisitPlan.id)
                .limit(batch)
            )
            claimed = list(await session.scalars(_claim(session, query, VisitPlan)))
            resident_ids = {p.resident_id for p in claimed}
            if resident_ids:
                list(await session.scalars(select(Resident).where(Resident.id.in_(resident_ids))))
            rows = []
            for plan in claimed:
                rows += await plans.expansion_rows(session, plan, org, now)
            created += await plans.insert_visits(session, org_id, rows)
            return len(claimed)

        return work

    await _each_org(db_config, "schedules.expand_plans", batch, work_for)
    return created


async def detect_contact_gaps(db_config: SQLAlchemyAsyncConfig, batch: int = BATCH) -> int:
    """No contact at all for longer than the risk level allows: alert, plan or no plan.

    One gap alert at a time per resident: while one is open (or acknowledged) nothing more is
    raised. A gap alert a person resolved without a contact on record (`handled`, `false_alarm`, a
    contact reported by hand) starts the count again: a new alert after another full period of
    silence from its resolution. A gap alert resolved by a note (`contact_recorded`,
    `recorded_late`) leaves the count to the resident's last contact. Each alert's cause key counts
    the resident's earlier gap alerts, so workers racing on the same resident raise it once."""
    raised = 0

    def work_for(org_id: str) -> Callable[[AsyncSession], Awaitable[int]]:
        async def work(session: AsyncSession) -> int:
            nonlocal raised
            now = utcnow()
            org = await session.get_one(Organisation, org_id)
            rules = rules_for(org)
            basis = func.coalesce(Resident.last_contact_at, Resident.created_at)
            gap_alert = and_(
                Alert.org_id == org_id,
                Alert.resident_id == Resident.id,
                Alert.kind == alerting.CONTACT_GAP,
            )
            unresolved = exists(select(Alert.id).where(gap_alert, Alert.status != AlertStatus.RESOLVED))
            overdue = []
            for risk, days in rules.contact_gap_days.items():
                since = now - timedelta(days=days)
                # Resolved by a person less than a full period ago (by a note: the note's contact
                # is the resident's last contact, which `basis` already counts from).
                handled_lately = exists(
                    select(Alert.id).where(
                        gap_alert,
                        Alert.status == AlertStatus.RESOLVED,
                        Alert.resolved_by.is_not(None),
                        Alert.resolved_at > since,
                    )
                )
                overdue.append(and_(Resident.risk_level == risk, basis < since, ~handled_lately))
            query = (
                select(Resident)
                .where(
                    Resident.org_id == org_id,
                    Resident.status == ResidentStatus.ACTIVE,
                    Resident.deleted_at.is_(None),
                    or_(*overdue),
                    ~unresolved,
                )
                .order_by(Resident.id)
                .limit(batch)
            )
            found = list(await session.scalars(_claim(session, query, Resident)))
            earlier = await _gap_alert_counts(session, org_id, [r.id for r in found])
            for resident in found:
                since = resident.last_contact_at or resident.created_at
                limit = rules.contact_gap_days[resident.risk_level]
                alert = await alerting.raise_alert(
                    session,
                    org,
                    kind=alerting.CONTACT_GAP,
                    cause_key=f"contact_gap:{resident.id}:{since.isoformat()}:{earlier.get(resident.id, 0)}",
                    resident=resident,
                    title_params={"days": max(limit, (now - since).days)},
                )
                raised += alert is not None
            return len(found)

        return work

    await _each_org(db_config, "schedules.contact_gaps", batch, work_for)
    return raised


async def _gap_alert_counts(session: AsyncSession, org_id: str, resident_ids: list[str]) -> dict[str, int]:
    if not resident_ids:
        return {}
    rows = await session.execute(
        select(Alert.resident_id, func.count())
        .where(
            Alert.org_id == org_id,
            Alert.resident_id.in_(resident_ids),
            Alert.kind == alerting.CONTACT_GAP,
        )
        .group_by(Alert.resident_id)
    )
    return {resident_id: count for resident_id, count in rows.tuples()}


async def follow_sight(db_config: SQLAlchemyAsyncConfig, batch: int = BATCH) -> int:
    """Time changes sight too (a consent expires at local midnight): move future visits and live
    plans off assignees who may no longer see their resident, and give orphans (no assignee) the
    next person who can visit, else one `nobody_can_visit` alert per resident. Residents are
    claimed in id order, a batch per transaction; rows already right are left alone, so a second
    run changes nothing."""
    moved = 0

    def work_for(org_id: str) -> Callable[[AsyncSession], Awaitable[int]]:
        after = ""

        async def work(session: AsyncSession) -> int:
            nonlocal moved, after
            now = utcnow()
            to_check = or_(
                exists(
                    select(Visit.id).where(
                        Visit.resident_id == Resident.id, *reassignment.future_visits_to_check(now)
                    )
                ),
                exists(
                    select(VisitPlan.id).where(
                        VisitPlan.resident_id == Resident.id, *reassignment.plans_to_check()
                    )
                ),
            )
            query = (
                select(Resident.id)
                .where(
                    Resident.org_id == org_id,
                    Resident.deleted_at.is_(None),
                    Resident.status != ResidentStatus.ENDED,
                    Resident.id > after,
                    to_check,
                )
                .order_by(Resident.id)
                .limit(batch)
            )
            claimed = list(await session.scalars(_claim(session, query, Resident)))
            if claimed:
                after = claimed[-1]
                moved += await reassignment.follow_sight(session, claimed)
            return len(claimed)

        return work

    await _each_org(db_config, "schedules.follow_sight", batch, work_for)
    return moved


async def dispatch_notifications(db_config: SQLAlchemyAsyncConfig) -> int:
    """Send due deliveries (the notifications slice implements the dispatcher)."""
    from notifications import dispatcher

    try:
        return await dispatcher.dispatch_once(db_config)
    except NotImplementedError:
        return 0
