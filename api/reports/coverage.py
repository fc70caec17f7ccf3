"""Coverage per district and period: counts only, no resident named.

The period is a range of the organisation's local days (`from`..`to`, inclusive): from local
midnight of `from` to local midnight after `to`. Resident counts, plans, consent and caseloads are
as they stand now; contacts, visits and alerts are those of the period:

* contacted: distinct active residents with at least one note in the period in which they were
  reached (`no_answer` / `away` are attempts), overall and per method;
* visits: those due (window start) in the period, by status; `done_late` is done after the window;
* alerts: those opened in the period (resident's current district); medians over the acknowledged
  and the resolved ones;
* safety checks (安否確認): campaigns started in the period that covered the district, each tallied
  as closing a campaign tallies it (`schedules.campaign_close.tally`: a closed campaign's stored
  final tally, a running one up to now), its residents counted in their district;
* residents without visiting consent: active residents that neither commissioners nor volunteers
  may see (`domain.access.consent_covers`, legal bases included): nobody can visit them.

Each query groups by district over the districts asked for, so the cost follows the rows of the
period, not one query per district.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from statistics import median
from typing import Any

from sqlalchemy import and_, case, exists, func, not_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.organisation.service import check_districts
from api.reports.schemas import (
    AlertCounts,
    AssigneeOut,
    CampaignCoverage,
    CaseloadRow,
    ContactCoverage,
    CoverageReport,
    DistrictCoverage,
    DistrictRef,
    ResidentCounts,
    SafetyCheckCoverage,
    Share,
    VisitCounts,
)
from domain import audit
from domain.access import Principal, consent_covers, coverage_districts
from domain.clock import utcnow
from domain.enums import (
    AssignmentRole,
    ConsentRecipient,
    ContactMethod,
    ContactOutcome,
    Household,
    PlanStatus,
    ResidentStatus,
    RiskLevel,
    Role,
    VisitStatus,
)
from domain.errors import FieldError, Forbidden, InvalidInput
from domain.i18n import register
from domain.models import (
    Alert,
    Assignment,
    ContactNote,
    District,
    Resident,
    SafetyCheckCampaign,
    User,
    UserDistrict,
    Visit,
    VisitPlan,
)
from schedules import campaign_close

NOT_REACHED = (ContactOutcome.NO_ANSWER, ContactOutcome.AWAY)
MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30
# A whole-town report sorts the period's reached notes by district (count DISTINCT) and groups
# every resident: about 6-12 MB each at 100,000 residents, which PostgreSQL's default work_mem
# (4 MB) spills to disk. Raised for the report's own transaction only (SET LOCAL).
REPORT_WORK_MEM = "32MB"

register(
    {
        "field.period_reversed": {
            "ja": "終了日が開始日より前です。",
            "en": "The end date is before the start date.",
        },
        "field.period_too_long": {
            "ja": "期間が長すぎます（{max}日以内）。",
            "en": "The period is too long (at most {max} days).",
        },
        "field.suppressed_whole_month": {
            "ja": "秘匿処理をした統計は暦月単位で公表します。開始日（from）は月の初日、終了日（to）は"
            "同じ月の末日にしてください。",
            "en": "Suppressed statistics are published for whole calendar months: `from` must be the "
            "first day of a month and `to` the last day of the same month.",
        },
        "field.suppressed_month_not_ended": {
            "ja": "秘匿処理をした統計は暦月単位で、終わった月についてのみ公表します（{month}はまだ"
            "終わっていません）。",
            "en": "Suppressed statistics are published for whole calendar months, once the month has "
            "ended ({month} has not ended yet).",
        },
    }
)


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    start: datetime  # UTC, local midnight of `first`
    end: datetime  # UTC, local midnight after `last`


def period_of(principal: Principal, first: date | None, last: date | None) -> Period:
    last = last or principal.today()
    first = first or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    errors = []
    if last < first:
        errors.append(FieldError("to", "field.period_reversed"))
    elif (last - first).days + 1 > MAX_PERIOD_DAYS:
        errors.append(FieldError("from", "field.period_too_long", {"max": MAX_PERIOD_DAYS}))
    if errors:
        raise InvalidInput(errors=errors)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=principal.zone).astimezone(UTC)

    return Period(first, last, midnight(first), midnight(last + timedelta(days=1)))


def published_month(principal: Principal, period: Period) -> None:
    """Statistics leaving the office (suppress=true) are published for whole calendar months of the
    organisation's calendar only, once the month has ended: fixed periods that never overlap, so
    that no two published tables can be differenced into a smaller period (counts of events add up
    over periods). A month still running would change every day (its table on the 10th and on the
    11th differ by one day), so it is refused until its last day has passed."""
    first, last = period.first, period.last
    errors = []
    if first.day != 1:
        errors.append(FieldError("from", "field.suppressed_whole_month"))
    if last != month_end(first):
        errors.append(FieldError("to", "field.suppressed_whole_month"))
    elif last >= principal.today():
        errors.append(
            FieldError("to", "field.suppressed_month_not_ended", {"month": first.strftime("%Y-%m")})
        )
    if errors:
        raise InvalidInput(errors=errors)


def month_end(first: date) -> date:
    """The last day of the calendar month `first` falls in."""
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def ended_months(principal: Principal, n: int) -> list[Period]:
    """The last `n` calendar months of the organisation's calendar that have ended, oldest first:
    the periods suppressed statistics are published for (`published_month`), consecutive (one
    grouped count, `coverage_by_period`). The running month is never one of them."""
    last = (principal.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    return months_up_to(principal, last, n)


def months_up_to(principal: Principal, last: date, n: int) -> list[Period]:
    """`n` consecutive calendar months, oldest first, the last one the month starting on `last`."""
    months = []
    first = last
    for _ in range(n):
        months.append(period_of(principal, first, month_end(first)))
        first = (first - timedelta(days=1)).replace(day=1)
    return months[::-1]


async def districts_in_scope(
    session: AsyncSession, principal: Principal, district_id: str | None
) -> list[District]:
    allowed = coverage_districts(principal)
    if district_id:
        await check_districts(session, principal.org_id, [district_id], "district_id")
        if allowed is not None and district_id not in allowed:
            raise Forbidden()
    query = select(District).where(District.org_id == principal.org_id)
    if district_id:
        query = query.where(District.id == district_id)
    elif allowed is not None:
        query = query.where(District.id.in_(sorted(allowed)))
    return list((await session.scalars(query.order_by(District.name, District.id))).all())


async def organisation_districts(session: AsyncSession, principal: Principal) -> list[District]:
    """Every district of the organisation, whoever asks: the rows of the one suppressed table
    (suppression.py); never shown beyond the caller's scope."""
    query = select(District).where(District.org_id == principal.org_id)
    return list((await session.scalars(query.order_by(District.name, District.id))).all())


def _share(count: int, of: int) -> float | None:
    return round(count / of, 4) if of else None


async def report_memory(session: AsyncSession) -> None:
    """Let this transaction's sorts and hashes use `REPORT_WORK_MEM` (PostgreSQL; a no-op
    elsewhere)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))


async def coverage(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    district_id: str | None,
    *,
    purpose: str = "report",
    audited: bool = True,
) -> CoverageReport:
    """`audited=False`: a part of another report that records its own event."""
    shown = await districts_in_scope(session, principal, district_id)
    report = await _coverage_of(session, principal, period, shown)
    if audited:
        audit_coverage(session, principal, purpose, period, shown)
    return report


async def organisation_coverage(
    session: AsyncSession, principal: Principal, period: Period
) -> CoverageReport:
    """The coverage of every district of the organisation, whoever asks: the one table a month's
    suppressed statistics are published from (publication.py); never shown beyond the caller's
    scope. Not audited: publishing records its own event."""
    return await _coverage_of(session, principal, period, await organisation_districts(session, principal))


async def _coverage_of(
    session: AsyncSession, principal: Principal, period: Period, districts: list[District]
) -> CoverageReport:
    ids = [d.id for d in districts]
    await report_memory(session)
    counts = await resident_counts(session, principal, ids, gaps=True, period=period)
    visit_counts = await visits(session, principal, ids, [period])
    alert_counts = await alerts(session, principal, ids, [period])
    checks = await safety_checks(session, principal, ids, [period])
    commissioners, caseload = await _people(session, principal, ids)
    out = _district_rows(
        districts, counts, visit_counts[0], alert_counts[0], checks[0], commissioners, caseload
    )
    return CoverageReport(
        from_date=period.first,
        to_date=period.last,
        timezone=principal.timezone,
        districts=out,
        districts_without_commissioner=[
            DistrictRef(id=d.id, name=d.name) for d in districts if not commissioners[d.id]
        ],
    )


def audit_coverage(
    session: AsyncSession,
    principal: Principal,
    purpose: str,
    period: Period,
    shown: list[District],
    suppressed_k: int | None = None,
) -> None:
    audit.record(
        session,
        principal,
        purpose,
        "coverage",
        None,
        district_ids=[d.id for d in shown],
        period=[period.first.isoformat(), period.last.isoformat()],
        **({"suppressed_k": suppressed_k} if suppressed_k else {}),
    )


def _district_rows(
    districts: list[District],
    counts: dict[str, dict[str, Any]],
    visit_counts: dict[str, VisitCounts],
    alert_counts: dict[str, AlertCounts],
    checks: dict[str, SafetyCheckCoverage],
    commissioners: dict[str, list[AssigneeOut]],
    caseload: dict[str, list[CaseloadRow]],
) -> list[DistrictCoverage]:
    """A coverage table's rows from its counts: the one shape of a period's and a week's table."""
    out = []
    for district in districts:
        c = counts[district.id]
        active = c["active"]
        out.append(
            DistrictCoverage(
                district_id=district.id,
                name=district.name,
                residents=ResidentCounts(
                    active=active,
                    paused=c["paused"],
                    by_risk={r.value: c["risk"].get(r, 0) for r in RiskLevel},
                    by_household={h.value: c["household"].get(h, 0) for h in Household},
                ),
                contacted=ContactCoverage(
                    residents=c["reached"],
                    share=_share(c["reached"], active),
                    by_method={
                        m.value: Share(residents=n, share=_share(n, active))
                        for m in ContactMethod
                        for n in [c["by_method"].get(m, 0)]
                    },
                ),
                visits=visit_counts[district.id],
                alerts=alert_counts[district.id],
                safety_checks=checks[district.id],
                residents_without_plan=c["without_plan"],
                residents_without_visiting_consent=c["without_consent"],
                commissioners=commissioners[district.id],
                caseload=caseload[district.id],
            )
        )
    return out


async def coverage_by_period(
    session: AsyncSession, principal: Principal, periods: list[Period]
) -> list[CoverageReport]:
    """The coverage of every district of the organisation (the one suppressed table's rows,
    suppression.py; whoever asks, so never shown beyond the caller's scope) for each of `periods`
    (consecutive: the months of the suppressed trends, trends.monthly), as `coverage` counts each,
    in one grouped statement per row set (the period as a group key) instead of one whole report
    per period. Residents, plans, consent and caseloads stand as now, alike in every period's
    table: read once. Not audited: a part of another report."""
    districts = await organisation_districts(session, principal)
    ids = [d.id for d in districts]
    await report_memory(session)
    now = await resident_counts(session, principal, ids, gaps=True)
    reached, by_method = await contacted(session, principal, ids, periods)
    visit_counts = await visits(session, principal, ids, periods)
    alert_counts = await alerts(session, principal, ids, periods)
    checks = await safety_checks(session, principal, ids, periods)
    commissioners, caseload = await _people(session, principal, ids)
    reports = []
    for i, period in enumerate(periods):
        counts = {
            d: {**now[d], "reached": reached[i].get(d, 0), "by_method": by_method[i].get(d, {})} for d in ids
        }
        reports.append(
            CoverageReport(
                from_date=period.first,
                to_date=period.last,
                timezone=principal.timezone,
                districts=_district_rows(
                    districts, counts, visit_counts[i], alert_counts[i], checks[i], commissioners, caseload
                ),
                districts_without_commissioner=[
                    DistrictRef(id=d.id, name=d.name) for d in districts if not commissioners[d.id]
                ],
            )
        )
    return reports


def _period_keys(column: Any, periods: list[Period]) -> list[Any]:
    """With several consecutive periods: a group key, the index of the period `column` falls in
    (rows are limited to them by `_in_periods`); none for one period."""
    for before, after in pairwise(periods):
        if before.end != after.start:
            raise ValueError("periods must be consecutive")
    if len(periods) == 1:
        return []
    bounds = [(column < p.end, i) for i, p in enumerate(periods[:-1])]
    return [case(*bounds, else_=len(periods) - 1).label("period")]


def _in_periods(column: Any, periods: list[Period]) -> Any:
    return and_(column >= periods[0].start, column < periods[-1].end)


def _in_districts(principal: Principal, ids: list[str]) -> Any:
    return and_(
        Resident.org_id == principal.org_id, Resident.deleted_at.is_(None), Resident.district_id.in_(ids)
    )


_ACTIVE = Resident.status == ResidentStatus.ACTIVE


async def resident_counts(
    session: AsyncSession,
    principal: Principal,
    ids: list[str],
    *,
    gaps: bool = False,
    period: Period | None = None,
) -> dict[str, dict[str, Any]]:
    """Residents per district by status, risk and household; in the same pass, with `gaps`, the
    active ones without an active visit plan and those without visiting consent, and with
    `period`, the active ones reached in it, overall and per method (as `contacted` counts them).
    One read of the residents instead of three, the period's notes joined once."""
    counts: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "active": 0,
            "paused": 0,
            "risk": defaultdict(int),
            "household": defaultdict(int),
            "without_plan": 0,
            "without_consent": 0,
            "reached": 0,
            "by_method": defaultdict(int),
        }
    )
    # The two gaps are grouping keys, not FILTERs: as keys they are computed below the aggregate,
    # once per resident, where PostgreSQL hashes the consents once; in an aggregate's FILTER it
    # expects to evaluate them once per group and looks the consents up resident by resident
    # (1.3 s at 100,000).
    keys: list[Any] = [Resident.district_id, Resident.status, Resident.risk_level, Resident.household]
    if gaps:
        keys += [
            and_(_ACTIVE, not_(_planned())).label("without_plan"),
            and_(_ACTIVE, _no_visiting_consent(principal)).label("without_consent"),
        ]
    query = select(*keys, func.count()).where(
        _in_districts(principal, ids), Resident.status != ResidentStatus.ENDED
    )
    if period is not None:
        # The period's reached notes grouped per resident first (a 0/1 per method), so that each
        # resident meets at most one row: the counts below stay counts of residents.
        reached = (
            select(
                ContactNote.resident_id,
                *(func.max(case((ContactNote.method == m, 1), else_=0)) for m in ContactMethod),
            )
            .where(_reached_in(principal, [period]))
            .group_by(ContactNote.resident_id)
            .subquery("reached")
        )
        per_method = list(reached.c)[1:]
        query = query.add_columns(
            func.count(reached.c.resident_id), *(func.coalesce(func.sum(c), 0) for c in per_method)
        ).outerjoin(reached, reached.c.resident_id == Resident.id)
    async with _hashed_grouping(session):
        rows = (await session.execute(query.group_by(*keys))).tuples().all()
    n_keys = len(keys)
    for row in rows:
        district_id, status, risk, household = row[:4]
        flags, n, contacts = row[4:n_keys], row[n_keys], row[n_keys + 1 :]
        c = counts[district_id]
        if flags:
            c["without_plan"] += n if flags[0] else 0
            c["without_consent"] += n if flags[1] else 0
        if status == ResidentStatus.PAUSED:
            c["paused"] += n
            continue
        c["active"] += n
        c["risk"][risk] += n
        c["household"][household] += n
        if contacts:
            c["reached"] += contacts[0]
            for m, k in zip(ContactMethod, contacts[1:], strict=True):
                c["by_method"][m] += k
    return counts


@asynccontextmanager
async def _hashed_grouping(session: AsyncSession) -> AsyncIterator[None]:
    """Group by hashing, not by sorting every resident (PostgreSQL; a no-op elsewhere). The groups
    are few (district x status x risk x household x the two gaps), but the consent sub-queries'
    estimated cost, evaluated per resident, dwarfs the difference, so the planner calls the two
    plans equal and keeps the sorted one: a sort of 100,000 rows (~400 ms at 100,000 residents
    against ~80 ms for the hash)."""
    if session.bind.dialect.name != "postgresql":
        yield
        return
    await session.execute(text("SET LOCAL enable_sort = off"))
    yield
    await session.execute(text("SET LOCAL enable_sort TO DEFAULT"))


def _planned() -> Any:
    return exists(
        select(VisitPlan.id).where(
            VisitPlan.resident_id == Resident.id, VisitPlan.status == PlanStatus.ACTIVE
        )
    )


def _no_visiting_consent(principal: Principal) -> Any:
    """Neither commissioners nor volunteers may see the resident (`consent_covers`): nobody can
    visit them."""
    today = principal.today()
    return and_(
        not_(consent_covers(ConsentRecipient.DISTRICT_COMMISSIONER, today)),
        not_(consent_covers(ConsentRecipient.VOLUNTEERS, today)),
    )


def _reached_in(principal: Principal, periods: list[Period]) -> Any:
    """The notes of the periods in which the person was reached (`no_answer` / `away` are
    attempts): the one rule of both `contacted` and `resident_counts`."""
    return and_(
        ContactNote.org_id == principal.org_id,
        ContactNote.deleted_at.is_(None),
        ContactNote.outcome.not_in(NOT_REACHED),
        _in_periods(ContactNote.occurred_at, periods),
    )


async def contacted(
    session: AsyncSession, principal: Principal, ids: list[str], periods: list[Period]
) -> tuple[list[dict[str, int]], list[dict[str, dict[str, int]]]]:
    """Per period (by index), the distinct active residents reached per district, overall and per
    method (every method, 0 included)."""
    reached = and_(ContactNote.resident_id == Resident.id, _reached_in(principal, periods))
    keys = [Resident.district_id, *_period_keys(ContactNote.occurred_at, periods)]
    # One read of the period's notes, one GROUP BY district: the distinct residents reached,
    # overall and per method (a CASE per method, NULL for the other methods' notes).
    columns = [func.count(Resident.id.distinct())] + [
        func.count(case((ContactNote.method == m, Resident.id)).distinct()) for m in ContactMethod
    ]
    rows = await session.execute(
        select(*keys, *columns)
        .select_from(Resident)
        .join(ContactNote, reached)
        .where(_in_districts(principal, ids), _ACTIVE)
        .group_by(*keys)
    )
    reached_in: list[dict[str, int]] = [{} for _ in periods]
    by_method: list[dict[str, dict[str, int]]] = [{} for _ in periods]
    for row in rows.tuples():
        district_id, i = row[0], (row[1] if len(keys) > 1 else 0)
        overall, *per_method = row[len(keys) :]
        reached_in[i][district_id] = overall
        by_method[i][district_id] = dict(zip(ContactMethod, per_method, strict=True))
    return reached_in, by_method


async def visits(
    session: AsyncSession, principal: Principal, ids: list[str], periods: list[Period]
) -> list[dict[str, VisitCounts]]:
    """Per period (by index), the visits due in it per district, by status."""
    late = case(
        (and_(Visit.status == VisitStatus.DONE, Visit.completed_at > Visit.due_end), True), else_=False
    )
    keys = [Resident.district_id, *_period_keys(Visit.due_start, periods), Visit.status, late]
    rows = await session.execute(
        select(*keys, func.count())
        .join(Resident, Resident.id == Visit.resident_id)
        .where(
            _in_districts(principal, ids),
            Visit.org_id == principal.org_id,
            Visit.deleted_at.is_(None),
            _in_periods(Visit.due_start, periods),
        )
        .group_by(*keys)
    )
    tally: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows.tuples():
        district_id, i = row[0], (row[1] if len(keys) > 3 else 0)
        status, is_late, n = row[-3:]
        key = "done_late" if status == VisitStatus.DONE and is_late else str(status)
        tally[i, district_id][key] += n
    return [_visit_counts(tally, i, ids) for i in range(len(periods))]


def _visit_counts(
    tally: dict[tuple[int, str], dict[str, int]], i: int, ids: list[str]
) -> dict[str, VisitCounts]:
    result: dict[str, VisitCounts] = {}
    for district_id in ids:
        t = tally[i, district_id]
        done, done_late, missed, planned = t["done"], t["done_late"], t["missed"], t["planned"]
        result[district_id] = VisitCounts(
            due=done + done_late + missed + planned,
            done=done,
            done_late=done_late,
            missed=missed,
            open=planned,
            cancelled=t["cancelled"],
        )
    return result


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


async def alerts(
    session: AsyncSession, principal: Principal, ids: list[str], periods: list[Period]
) -> list[dict[str, AlertCounts]]:
    """Per period (by index), the alerts opened in it per district; the medians in Python."""
    keys = _period_keys(Alert.opened_at, periods)
    rows = await session.execute(
        select(Resident.district_id, Alert.opened_at, Alert.acknowledged_at, Alert.resolved_at, *keys)
        .join(Resident, Resident.id == Alert.resident_id)
        .where(
            _in_districts(principal, ids),
            Alert.org_id == principal.org_id,
            Alert.deleted_at.is_(None),
            _in_periods(Alert.opened_at, periods),
        )
    )
    raised: dict[tuple[int, str], int] = defaultdict(int)
    to_ack: dict[tuple[int, str], list[float]] = defaultdict(list)
    to_resolve: dict[tuple[int, str], list[float]] = defaultdict(list)
    for district_id, opened, acknowledged, resolved, *period in rows.tuples():
        at = (period[0] if period else 0, district_id)
        raised[at] += 1
        if acknowledged is not None:
            to_ack[at].append(_minutes(opened, acknowledged))
        if resolved is not None:
            to_resolve[at].append(_minutes(opened, resolved))
    return [
        {
            d: AlertCounts(
                raised=raised[i, d],
                acknowledged=len(to_ack[i, d]),
                resolved=len(to_resolve[i, d]),
                median_minutes_to_acknowledge=round(median(to_ack[i, d]), 1) if to_ack[i, d] else None,
                median_minutes_to_resolve=round(median(to_resolve[i, d]), 1) if to_resolve[i, d] else None,
            )
            for d in ids
        }
        for i in range(len(periods))
    ]


async def safety_checks(
    session: AsyncSession, principal: Principal, ids: list[str], periods: list[Period]
) -> list[dict[str, SafetyCheckCoverage]]:
    """Campaigns are few (one per disaster), so each is tallied whole, by the one rule that
    closing uses, and its figures split by district; a district counts the campaigns that covered
    it, with nobody to check or not."""
    campaigns = (
        await session.scalars(
            select(SafetyCheckCampaign)
            .where(
                SafetyCheckCampaign.org_id == principal.org_id,
                _in_periods(SafetyCheckCampaign.started_at, periods),
            )
            .order_by(SafetyCheckCampaign.started_at, SafetyCheckCampaign.id)
        )
    ).all()
    rows: dict[tuple[int, str], list[CampaignCoverage]] = defaultdict(list)
    wanted = set(ids)
    starts = [p.start for p in periods[1:]]
    for campaign in campaigns:
        i = bisect_right(starts, _utc(campaign.started_at))
        covered = wanted.intersection(campaign.district_ids)
        if not covered:
            continue
        figures = campaign.final_tally or await campaign_close.tally(session, campaign, utcnow())
        for district_id in sorted(covered):
            counts = figures["by_district"].get(district_id, {})
            rows[i, district_id].append(
                CampaignCoverage(
                    campaign_id=campaign.id,
                    title=campaign.title,
                    started_at=campaign.started_at,
                    closed_at=campaign.closed_at,
                    residents=counts.get("residents", 0),
                    **{c: counts.get(c, 0) for c in campaign_close.CATEGORIES},
                )
            )
    return [_checks_of(rows, i, ids) for i in range(len(periods))]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _checks_of(
    rows: dict[tuple[int, str], list[CampaignCoverage]], i: int, ids: list[str]
) -> dict[str, SafetyCheckCoverage]:
    result = {}
    for district_id in ids:
        mine = rows[i, district_id]
        total = {c: sum(getattr(r, c) for r in mine) for c in ("residents", *campaign_close.CATEGORIES)}
        result[district_id] = SafetyCheckCoverage(
            campaigns=len(mine),
            completed_share=_share(total["confirmed_safe"] + total["needs_help"], total["residents"]),
            by_campaign=mine,
            **total,
        )
    return result


async def _people(
    session: AsyncSession, principal: Principal, ids: list[str]
) -> tuple[dict[str, list[AssigneeOut]], dict[str, list[CaseloadRow]]]:
    holders = await session.execute(
        select(UserDistrict.district_id, User.id, User.display_name)
        .join(User, User.id == UserDistrict.user_id)
        .where(
            UserDistrict.org_id == principal.org_id,
            UserDistrict.district_id.in_(ids),
            User.role == Role.COMMISSIONER,
            User.active.is_(True),
        )
        .order_by(User.display_name, User.id)
    )
    commissioners: dict[str, list[AssigneeOut]] = defaultdict(list)
    for district_id, user_id, name in holders.tuples():
        commissioners[district_id].append(AssigneeOut(id=user_id, display_name=name))
    # Counted per (district, watcher) first, the names joined to the counts: grouping the
    # assignments by the names as well sorts every assignment on wide keys (spilling to disk for a
    # town of 100,000). Primary and backup are counted in the same group (backup: the rest).
    counted = (
        select(
            Resident.district_id,
            Assignment.user_id,
            func.count().label("n"),
            func.count(case((Assignment.role == AssignmentRole.PRIMARY, 1))).label("primary"),
        )
        .join(Assignment, Assignment.resident_id == Resident.id)
        .where(
            _in_districts(principal, ids),
            Resident.status != ResidentStatus.ENDED,
            Assignment.ended_at.is_(None),
            Assignment.deleted_at.is_(None),
        )
        .group_by(Resident.district_id, Assignment.user_id)
        .subquery()
    )
    # A watcher per row (10,000 at 100,000 residents): read as plain tuples on the connection
    # (no ORM rows), each CaseloadRow built once, with its final figures.
    connection = await session.connection()
    rows = await connection.execute(
        select(
            counted.c.district_id, User.id, User.display_name, User.role, counted.c.n, counted.c.primary
        ).join(User, User.id == counted.c.user_id)
    )
    # Per district, the watcher's sort key and figures: most assigned first, then by name.
    loads: dict[str, dict[str, tuple[Any, ...]]] = defaultdict(dict)
    for district_id, user_id, name, role, n, primary in rows.tuples():
        loads[district_id][user_id] = (-n, name, user_id, role, primary, n - primary)
    for district_id, people in commissioners.items():  # a commissioner with nobody assigned: 0
        for person in people:
            loads[district_id].setdefault(
                person.id, (0, person.display_name, person.id, Role.COMMISSIONER, 0, 0)
            )
    caseload = {
        d: [
            CaseloadRow(user_id=user_id, display_name=name, role=role, primary=primary, backup=backup)
            for _, name, user_id, role, primary, backup in sorted(loads[d].values())
        ]
        for d in ids
    }
    return commissioners, caseload
