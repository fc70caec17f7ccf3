"""安否確認 (safety-check campaigns): after an earthquake or a typhoon, contact every resident of the
chosen districts now. Each active resident gets one `safety_check` visit due within the
organisation's `safety_check_hours`; visitors are told at once (urgent, through quiet hours); a
note in which somebody saw or heard the person (`SAFETY_CHECK_ANSWERED`, the final tally's
`confirmed_safe` and `needs_help`) fulfils the visit, a `no_answer`, `away` or `refused` does not;
a resident not reached by the deadline raises a `safety_check_missed` alert (no grace) through
the same sweep and ladder.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import who_may_see
from domain.clock import utcnow
from domain.enums import ResidentStatus, VisitKind, VisitStatus
from domain.errors import InvalidInput
from domain.models import (
    ContactNote,
    District,
    Organisation,
    Resident,
    SafetyCheckCampaign,
    Visit,
)
from domain.org_settings import rules_for
from schedules import audience, campaign_close, ladder


async def start_campaign(
    session: AsyncSession,
    org: Organisation,
    *,
    title: str,
    district_ids: list[str],
    hours: int | None,
    actor_id: str,
    campaign_id: str | None = None,
) -> SafetyCheckCampaign:
    """`campaign_id`: the caller's own id for the campaign (a form sent twice names the same one)."""
    if not district_ids:
        raise InvalidInput.field("district_ids", "campaign.no_districts")
    known = set(
        await session.scalars(
            select(District.id).where(District.org_id == org.id, District.id.in_(district_ids))
        )
    )
    if known != set(district_ids):
        raise InvalidInput.field("district_ids", "campaign.unknown_district")
    rules = rules_for(org)
    now = utcnow()
    campaign = SafetyCheckCampaign(
        **({"id": campaign_id} if campaign_id else {}),
        org_id=org.id,
        title=title,
        district_ids=sorted(known),
        started_at=now,
        due_at=now + timedelta(hours=hours or rules.safety_check_hours),
        created_by=actor_id,
    )
    session.add(campaign)
    await session.flush()
    residents = list(
        await session.scalars(
            select(Resident).where(
                Resident.org_id == org.id,
                Resident.district_id.in_(known),
                Resident.status == ResidentStatus.ACTIVE,
                Resident.deleted_at.is_(None),
            )
        )
    )
    # Each resident's visitor: the first assigned person who may see them (primary, then backup).
    primary = await audience.next_visitor(session, [r.id for r in residents])
    per_visitor: dict[str, int] = defaultdict(int)
    for resident in residents:
        assignee = primary.get(resident.id)
        visit = Visit(
            org_id=org.id,
            occurrence_key=f"campaign:{campaign.id}",
            kind=VisitKind.SAFETY_CHECK,
            resident_id=resident.id,
            assignee_id=assignee,
            due_start=now,
            due_end=campaign.due_at,
            status=VisitStatus.PLANNED,
            campaign_id=campaign.id,
        )
        ladder.schedule_first_step(visit, org, rules, now)
        session.add(visit)
        if assignee:
            per_visitor[assignee] += 1
    await session.flush()
    for visitor, count in sorted(per_visitor.items()):
        await audience.send(
            session,
            org,
            [visitor],
            kind="visit.safety_check",
            title_code="notify.safety_check.title",
            body_code="notify.safety_check.body",
            params={"title": title},
            body_params={"count": count, "due": audience.local_text(campaign.due_at, org)},
            urgent=True,
            data={"campaign_id": campaign.id},
        )
    # Residents with nobody who can visit go to the district's commissioners who may see them;
    # those no commissioner may see, to the coordinators (each person is told only their own count).
    unassigned = [r for r in residents if r.id not in primary]
    commissioners = {
        district_id: await audience.commissioners_of(session, org.id, district_id)
        for district_id in sorted({r.district_id for r in unassigned})
    }
    seeing = await who_may_see(
        session, {(user_id, r.id) for r in unassigned for user_id in commissioners[r.district_id]}
    )
    counts: dict[tuple[str, str], int] = defaultdict(int)  # (user, district) -> residents
    for resident in unassigned:
        told = [u for u in commissioners[resident.district_id] if (u, resident.id) in seeing]
        for user_id in told or await audience.coordinators_of(session, org.id, resident.district_id):
            counts[(user_id, resident.district_id)] += 1
    for (user_id, district_id), count in sorted(counts.items()):
        await audience.send(
            session,
            org,
            [user_id],
            kind="visit.safety_check",
            title_code="notify.safety_check.title",
            body_code="notify.safety_check.body",
            params={"title": title},
            body_params={"count": count, "due": audience.local_text(campaign.due_at, org)},
            urgent=True,
            data={"campaign_id": campaign.id, "district_id": district_id, "unassigned": True},
        )
    return campaign


async def progress(
    session: AsyncSession, campaign: SafetyCheckCampaign, within: ColumnElement[bool] | None = None
) -> dict[str, Any]:
    """Counts per status and district, outcomes of the notes that fulfilled the visits, who is
    still not reached (ids only), and the residents per category of the final tally so far
    (`categories`: confirmed_safe, needs_help, unreachable, not_checked). `within` (a clause on
    Resident) limits every figure to the residents the caller may see."""
    rows = (
        await session.execute(
            select(
                Visit.id,
                Visit.resident_id,
                Visit.status,
                Resident.district_id,
                Resident.status.label("resident_status"),
                ContactNote.outcome,
            )
            .join(Resident, Resident.id == Visit.resident_id)
            .outerjoin(ContactNote, ContactNote.id == Visit.fulfilled_by_note_id)
            .where(
                Visit.campaign_id == campaign.id,
                Visit.deleted_at.is_(None),
                *([] if within is None else [within]),
            )
        )
    ).all()
    category = (await campaign_close.categorise(session, campaign, campaign.closed_at or utcnow()))[1]
    categories = Counter(category.get(r.resident_id, "not_checked") for r in rows)
    by_status = Counter(str(r.status) for r in rows)
    outcomes = Counter(str(r.outcome) for r in rows if r.outcome is not None)
    districts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        districts[r.district_id]["total"] += 1
        # A visit cancelled because the resident was paused or ended meanwhile is nobody left to
        # reach; one cancelled by closing the check (resident still watched) was not reached.
        if r.status == VisitStatus.DONE:
            districts[r.district_id]["reached"] += 1
        elif r.status == VisitStatus.CANCELLED and r.resident_status != ResidentStatus.ACTIVE:
            districts[r.district_id]["cancelled"] += 1
        else:
            districts[r.district_id]["not_reached"] += 1
    return {
        "total": len(rows),
        "reached": by_status.get(VisitStatus.DONE, 0),
        "not_reached": len(rows)
        - by_status.get(VisitStatus.DONE, 0)
        - by_status.get(VisitStatus.CANCELLED, 0),
        "missed": by_status.get(VisitStatus.MISSED, 0),
        "by_status": dict(by_status),
        "outcomes": dict(outcomes),
        "by_district": {d: dict(c) for d, c in sorted(districts.items())},
        "categories": {name: categories.get(name, 0) for name in campaign_close.CATEGORIES},
        "not_reached_resident_ids": sorted(
            r.resident_id for r in rows if r.status in (VisitStatus.PLANNED, VisitStatus.MISSED)
        ),
    }
