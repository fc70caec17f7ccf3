"""安否確認 (safety-check campaigns): after an earthquake or a typhoon, contact every resident of the
chosen districts now. Each active resident gets one `safety_check` visit due within the
organisation's `safety_check_hours`; visitors are told at once (urgent, through quiet hours); any
note fulfils the visit like any other; a resident not reached by the deadline raises a
`safety_check_missed` alert (no grace) through the same sweep and ladder.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import utcnow
from domain.enums import AssignmentRole, ResidentStatus, VisitKind, VisitStatus
from domain.errors import InvalidInput
from domain.models import (
    Assignment,
    ContactNote,
    District,
    Organisation,
    Resident,
    SafetyCheckCampaign,
    Visit,
)
from domain.org_settings import rules_for
from schedules import audience, ladder


async def start_campaign(
    session: AsyncSession,
    org: Organisation,
    *,
    title: str,
    district_ids: list[str],
    hours: int | None,
    actor_id: str,
) -> SafetyCheckCampaign:
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
    primary = dict(
        (
            await session.execute(
                select(Assignment.resident_id, Assignment.user_id).where(
                    Assignment.org_id == org.id,
                    Assignment.resident_id.in_([r.id for r in residents]),
                    Assignment.role == AssignmentRole.PRIMARY,
                    Assignment.ended_at.is_(None),
                    Assignment.deleted_at.is_(None),
                )
            )
        )
        .tuples()
        .all()
    )
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
    # Residents of those districts with nobody assigned go to the district's commissioners.
    unassigned = [r for r in residents if r.id not in primary]
    by_district = Counter(r.district_id for r in unassigned)
    for district_id, count in sorted(by_district.items()):
        await audience.send(
            session,
            org,
            await audience.commissioners_of(session, org.id, district_id)
            or await audience.coordinators_of(session, org.id, district_id),
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
    """Counts per status and district, outcomes of the notes that fulfilled the visits, and who is
    still not reached (ids only). `within` (a clause on Resident) limits every figure to the
    residents the caller may see."""
    rows = (
        await session.execute(
            select(Visit.id, Visit.resident_id, Visit.status, Resident.district_id, ContactNote.outcome)
            .join(Resident, Resident.id == Visit.resident_id)
            .outerjoin(ContactNote, ContactNote.id == Visit.fulfilled_by_note_id)
            .where(
                Visit.campaign_id == campaign.id,
                Visit.deleted_at.is_(None),
                *([] if within is None else [within]),
            )
        )
    ).all()
    by_status = Counter(str(r.status) for r in rows)
    outcomes = Counter(str(r.outcome) for r in rows if r.outcome is not None)
    districts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        districts[r.district_id]["total"] += 1
        districts[r.district_id]["reached" if r.status == VisitStatus.DONE else "not_reached"] += 1
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
        "not_reached_resident_ids": sorted(
            r.resident_id for r in rows if r.status in (VisitStatus.PLANNED, VisitStatus.MISSED)
        ),
    }
