"""Who hears about a visit or an alert, and sending to them in their own language.

The ladder has three rungs: the visitor (the visit's assignee, else the resident's primary
watcher), the district's commissioners, and the coordinators (those holding the district, else every
coordinator of the organisation, so that an alert never goes nowhere).

Consent decides who hears: a message naming a resident is written only for people who may see the
resident now (`notifications.outbox.enqueue` asks `domain.access.who_may_see`). The visitor is the
assignee while they may see the resident, else the next person who can visit (`next_visitor`:
an active primary assignment, then a backup). Coordinators see the whole organisation, so an alert
whose chain nobody else may see still reaches them (`schedules.alerting`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import who_may_see
from domain.enums import AssignmentRole, Role
from domain.i18n import translate
from domain.models import Assignment, Device, Organisation, Resident, User, UserDistrict
from domain.org_settings import OrgRules, timezone_of
from notifications.outbox import Message, enqueue_many
from notifications.templates import MessageKind


async def next_visitor(session: AsyncSession, resident_ids: Iterable[str]) -> dict[str, str]:
    """resident id → the first person who can visit: of the active assignments whose holder may see
    the resident now, the primary, else the longest-serving backup. Residents nobody can visit are
    absent."""
    ids = sorted(set(resident_ids))
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(Assignment.resident_id, Assignment.user_id, Assignment.role, Assignment.started_at)
            .where(
                Assignment.resident_id.in_(ids),
                Assignment.ended_at.is_(None),
                Assignment.deleted_at.is_(None),
            )
            .order_by(Assignment.started_at, Assignment.user_id)
        )
    ).all()
    seeing = await who_may_see(session, {(row.user_id, row.resident_id) for row in rows})
    chosen: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.role != AssignmentRole.PRIMARY):  # stable: primary first
        if (row.user_id, row.resident_id) in seeing:
            chosen.setdefault(row.resident_id, row.user_id)
    return chosen


async def visitor_of(session: AsyncSession, resident_id: str, assignee_id: str | None) -> list[str]:
    """Who visits: the assignee while they may see the resident, else the next person who can."""
    return (await visitors_of(session, [(resident_id, assignee_id)]))[(resident_id, assignee_id)]


async def visitors_of(
    session: AsyncSession, pairs: Iterable[tuple[str, str | None]]
) -> dict[tuple[str, str | None], list[str]]:
    """`visitor_of` for many (resident id, assignee id) pairs in a fixed number of round trips."""
    wanted = set(pairs)
    seeing = await who_may_see(session, {(a, r) for r, a in wanted if a})
    stays = {(r, a) for r, a in wanted if a and (a, r) in seeing}
    others = await next_visitor(session, {r for r, a in wanted if (r, a) not in stays})
    return {
        (r, a): [a] if a is not None and (r, a) in stays else ([others[r]] if r in others else [])
        for r, a in wanted
    }


def _cached(session: AsyncSession, key: tuple[str, ...]) -> list[str] | None:
    # Per unit of work (a job batch): one batch asks the same questions for many visits.
    return session.info.setdefault("schedules_audience", {}).get(key)


def _remember(session: AsyncSession, key: tuple[str, ...], value: list[str]) -> list[str]:
    session.info.setdefault("schedules_audience", {})[key] = value
    return value


async def commissioners_of(session: AsyncSession, org_id: str, district_id: str) -> list[str]:
    key = ("commissioners", org_id, district_id)
    if (hit := _cached(session, key)) is not None:
        return hit
    rows = await session.scalars(
        select(User.id)
        .join(UserDistrict, UserDistrict.user_id == User.id)
        .where(
            User.org_id == org_id,
            User.active.is_(True),
            User.role == Role.COMMISSIONER,
            UserDistrict.district_id == district_id,
        )
    )
    return _remember(session, key, sorted(set(rows)))


async def coordinators_of(session: AsyncSession, org_id: str, district_id: str) -> list[str]:
    key = ("coordinators", org_id, district_id)
    if (hit := _cached(session, key)) is not None:
        return hit
    base = select(User.id).where(User.org_id == org_id, User.active.is_(True), User.role == Role.COORDINATOR)
    holding = list(
        await session.scalars(
            base.join(UserDistrict, UserDistrict.user_id == User.id).where(
                UserDistrict.district_id == district_id
            )
        )
    )
    if holding:
        return _remember(session, key, sorted(set(holding)))
    return _remember(session, key, sorted(set(await session.scalars(base))))


async def load_districts(session: AsyncSession, org_id: str, district_ids: Iterable[str]) -> None:
    """Read the commissioners and coordinators of many districts at once (a sweep batch), so that
    `commissioners_of` and `coordinators_of` answer from the unit of work's memory."""
    wanted = sorted({d for d in district_ids if _cached(session, ("coordinators", org_id, d)) is None})
    if not wanted:
        return
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    rows = await session.execute(
        select(User.role, UserDistrict.district_id, User.id)
        .join(UserDistrict, UserDistrict.user_id == User.id)
        .where(
            User.org_id == org_id,
            User.active.is_(True),
            User.role.in_((Role.COMMISSIONER, Role.COORDINATOR)),
            UserDistrict.district_id.in_(wanted),
        )
    )
    for role, district_id, user_id in rows.tuples():
        holders[(role, district_id)].add(user_id)
    everyone: list[str] | None = None
    for district_id in wanted:
        _remember(
            session, ("commissioners", org_id, district_id), sorted(holders[(Role.COMMISSIONER, district_id)])
        )
        coordinators = holders[(Role.COORDINATOR, district_id)]
        if not coordinators and everyone is None:  # nobody holds it: every coordinator, as above
            everyone = sorted(
                set(
                    await session.scalars(
                        select(User.id).where(
                            User.org_id == org_id, User.active.is_(True), User.role == Role.COORDINATOR
                        )
                    )
                )
            )
        _remember(
            session, ("coordinators", org_id, district_id), sorted(coordinators) or list(everyone or [])
        )


async def last_sync_of(session: AsyncSession, user_ids: Iterable[str]) -> datetime | None:
    ids = list(user_ids)
    if not ids:
        return None
    return await session.scalar(
        select(func.max(Device.last_sync_at)).where(Device.user_id.in_(ids), Device.revoked_at.is_(None))
    )


async def last_syncs_of(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, datetime]:
    """user id → the last sync of their devices not revoked (users who never synced are absent)."""
    ids = sorted(set(user_ids))
    found: dict[str, datetime] = {}
    for start in range(0, len(ids), 1000):
        rows = await session.execute(
            select(Device.user_id, func.max(Device.last_sync_at))
            .where(Device.user_id.in_(ids[start : start + 1000]), Device.revoked_at.is_(None))
            .group_by(Device.user_id)
        )
        found.update({user_id: at for user_id, at in rows.tuples() if at is not None})
    return found


def next_allowed(moment: datetime, org: Organisation, rules: OrgRules) -> datetime:
    """`moment` if outside quiet hours, else the end of the quiet hours (local), as UTC."""
    zone = timezone_of(org)
    local = moment.astimezone(zone)
    if not rules.in_quiet_hours(local.time().replace(tzinfo=None)):
        return moment
    day = local.date()
    if rules.quiet_start > rules.quiet_end and local.time() >= rules.quiet_start:
        day = day + timedelta(days=1)
    return datetime.combine(day, rules.quiet_end, tzinfo=zone).astimezone(moment.tzinfo)


def local_text(moment: datetime | None, org: Organisation) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(timezone_of(org)).strftime("%Y-%m-%d %H:%M")


@dataclass
class Outgoing:
    """One message of `send_many`: the arguments of `send`."""

    org: Organisation
    user_ids: Iterable[str]
    kind: str
    title_code: str
    body_code: str | None = None
    params: dict[str, Any] | None = None
    body_params: dict[str, Any] | None = None
    extra_body_code: str | None = None
    extra_params: dict[str, Any] | None = None
    urgent: bool = False
    not_before: datetime | None = None
    resident: Resident | None = None
    alert_id: str | None = None
    visit_id: str | None = None
    data: dict[str, Any] | None = None
    body_for: Callable[[str], str] | None = None
    lock_screen: tuple[MessageKind, dict[str, Any]] | None = None


async def send(
    session: AsyncSession,
    org: Organisation,
    user_ids: Iterable[str],
    *,
    kind: str,
    title_code: str,
    body_code: str | None = None,
    params: dict[str, Any] | None = None,
    body_params: dict[str, Any] | None = None,
    extra_body_code: str | None = None,
    extra_params: dict[str, Any] | None = None,
    urgent: bool = False,
    not_before: datetime | None = None,
    resident: Resident | None = None,
    alert_id: str | None = None,
    visit_id: str | None = None,
    data: dict[str, Any] | None = None,
    body_for: Callable[[str], str] | None = None,
    lock_screen: tuple[MessageKind, dict[str, Any]] | None = None,
) -> int:
    """Write one notification per recipient, worded in each recipient's language. A message naming
    `resident` reaches only those who may see the resident now. Returns how many were written.

    `body_for(locale)` writes a body that needs more than one code (urgent alerts); `lock_screen`
    is the shorter push text (`notifications.outbox.enqueue`)."""
    outgoing = Outgoing(
        org=org,
        user_ids=user_ids,
        kind=kind,
        title_code=title_code,
        body_code=body_code,
        params=params,
        body_params=body_params,
        extra_body_code=extra_body_code,
        extra_params=extra_params,
        urgent=urgent,
        not_before=not_before,
        resident=resident,
        alert_id=alert_id,
        visit_id=visit_id,
        data=data,
        body_for=body_for,
        lock_screen=lock_screen,
    )
    return (await send_many(session, [outgoing]))[0]


async def send_many(session: AsyncSession, outgoing: Sequence[Outgoing]) -> list[int]:
    """`send` for many messages at once (a sweep batch): how many were told, per message."""
    ids_of = [sorted(set(item.user_ids)) for item in outgoing]
    everyone = sorted({user_id for ids in ids_of for user_id in ids})
    if not everyone:
        return [0 for _ in outgoing]
    locales: dict[str, str | None] = {}
    for start in range(0, len(everyone), 1000):
        rows = await session.execute(
            select(User.id, User.locale).where(User.id.in_(everyone[start : start + 1000]))
        )
        locales.update(rows.tuples().all())
    messages: list[Message] = []
    owner: list[int] = []
    for index, (item, ids) in enumerate(zip(outgoing, ids_of, strict=True)):
        groups: dict[str, list[str]] = defaultdict(list)
        for user_id in ids:
            groups[locales.get(user_id) or item.org.locale or "ja"].append(user_id)
        for locale, members in sorted(groups.items()):
            messages.append(_worded(item, locale, members))
            owner.append(index)
    told = [0 for _ in outgoing]
    for index, notifications in zip(owner, await enqueue_many(session, messages), strict=True):
        told[index] += len(notifications)
    return told


def _worded(item: Outgoing, locale: str, members: list[str]) -> Message:
    title = translate(item.title_code, locale, **(item.params or {}))
    body_parts = []
    if item.body_code:
        body_parts.append(translate(item.body_code, locale, **(item.body_params or item.params or {})))
    if item.body_for is not None:
        body_parts.append(item.body_for(locale))
    if item.extra_body_code:
        body_parts.append(translate(item.extra_body_code, locale, **(item.extra_params or {})))
    return Message(
        org_id=item.org.id,
        user_ids=members,
        kind=item.kind,
        title=title[:200],
        body="\n".join(body_parts),
        urgent=item.urgent,
        resident_id=item.resident.id if item.resident else None,
        alert_id=item.alert_id,
        visit_id=item.visit_id,
        data=item.data,
        not_before=item.not_before,
        lock_screen=item.lock_screen,
    )
