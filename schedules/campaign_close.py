"""Closing a safety-check campaign (安否確認の終了) and its final tally.

Closing stops the campaign for good: its visits not yet made are cancelled (phones drop them on
their next pull, the sweep has nothing left to chase) and its open `safety_check_missed` alerts
resolve as `campaign_closed` (no more re-sends up the ladder). The tally is taken at the moment of
closing, stored on the campaign and answered unchanged by every later close: closing twice is not
an error, and two coordinators closing at once get the same figures (the first UPDATE wins; the
other waits for it and reads what it stored).

Each resident of the campaign counts once, in the first of these that applies, from the notes that
occurred between the start and the close (notes of any method, on any visit):

  needs_help      a note said `emergency` or `met_concern`, or asked for follow-up
  confirmed_safe  a note said `met_well` or `phone_only`, or the visitor marked the check done
  unreachable     contact was tried but nobody confirmed them safe (`no_answer`, `away`, `refused`)
  not_checked     nothing recorded
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts as alert_lifecycle
from domain import feed
from domain.clock import utcnow
from domain.enums import AlertResolution, AlertStatus, ContactOutcome, VisitStatus
from domain.models import Alert, ContactNote, Resident, SafetyCheckCampaign, Visit
from schedules import alerting

CATEGORIES = ("needs_help", "confirmed_safe", "unreachable", "not_checked")
HELP = frozenset({ContactOutcome.EMERGENCY, ContactOutcome.MET_CONCERN})
SAFE = frozenset({ContactOutcome.MET_WELL, ContactOutcome.PHONE_ONLY})


async def close_campaign(session: AsyncSession, campaign: SafetyCheckCampaign, actor_id: str) -> bool:
    """Close the campaign and store its final tally. Returns False when it was already closed (the
    stored tally stands)."""
    now = utcnow()
    claimed = await session.execute(
        update(SafetyCheckCampaign)
        .where(SafetyCheckCampaign.id == campaign.id, SafetyCheckCampaign.closed_at.is_(None))
        .values(closed_at=now, closed_by=actor_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        await session.refresh(campaign)
        return False
    figures = await tally(session, campaign, now)
    await session.execute(
        update(Visit)
        .where(
            Visit.campaign_id == campaign.id,
            Visit.status == VisitStatus.PLANNED,
            Visit.deleted_at.is_(None),
        )
        .values(
            status=VisitStatus.CANCELLED,
            check_step=None,
            next_check_at=None,
            updated_at=now,
            feed_seq=await feed.next_position(session, campaign.org_id),
        )
        .execution_options(synchronize_session="fetch")
    )
    for alert in await session.scalars(
        select(Alert)
        .join(Visit, Visit.id == Alert.visit_id)
        .where(
            Alert.org_id == campaign.org_id,
            Alert.kind == alerting.SAFETY_CHECK_MISSED,
            Alert.status != AlertStatus.RESOLVED,
            Visit.campaign_id == campaign.id,
        )
        .order_by(Alert.id)
    ):
        await alert_lifecycle.resolve(
            session, alert, AlertResolution.CAMPAIGN_CLOSED, actor_id, note=f"campaign:{campaign.id}"
        )
    campaign.closed_at = now
    campaign.closed_by = actor_id
    campaign.final_tally = figures
    await session.flush()
    return True


async def tally(session: AsyncSession, campaign: SafetyCheckCampaign, until: datetime) -> dict[str, Any]:
    """Residents of the campaign per category (see module docstring), overall and per district, and
    the ids of those to follow up. Counts every resident of the campaign: the caller decides who may
    read it."""
    visits, category = await categorise(session, campaign, until)
    districts: dict[str, dict[str, int]] = {}
    for visit in visits:
        counts = districts.setdefault(visit.district_id, {"residents": 0, **dict.fromkeys(CATEGORIES, 0)})
        counts["residents"] += 1
        counts[category[visit.resident_id]] += 1
    totals = {"residents": len(category), **dict.fromkeys(CATEGORIES, 0)}
    for name in category.values():
        totals[name] += 1
    return {
        **totals,
        "by_district": dict(sorted(districts.items())),
        "follow_up_resident_ids": {
            name: sorted(r for r, c in category.items() if c == name)
            for name in ("needs_help", "unreachable", "not_checked")
        },
        "taken_at": until.isoformat(),
    }


async def categorise(
    session: AsyncSession, campaign: SafetyCheckCampaign, until: datetime
) -> tuple[list[Any], dict[str, str]]:
    """The campaign's visits (resident, status, fulfilling note, district) and each resident's
    category (see module docstring) from the notes up to `until`: the final tally's, and the live
    progress's."""
    visits = (
        await session.execute(
            select(Visit.resident_id, Visit.status, Visit.fulfilled_by_note_id, Resident.district_id)
            .join(Resident, Resident.id == Visit.resident_id)
            .where(Visit.campaign_id == campaign.id, Visit.deleted_at.is_(None))
            .order_by(Visit.resident_id)
        )
    ).all()
    notes = (
        await session.execute(
            select(ContactNote.resident_id, ContactNote.outcome, ContactNote.follow_up_needed)
            .join(
                Visit,
                and_(Visit.resident_id == ContactNote.resident_id, Visit.campaign_id == campaign.id),
            )
            .where(
                ContactNote.org_id == campaign.org_id,
                ContactNote.deleted_at.is_(None),
                ContactNote.occurred_at >= campaign.started_at,
                ContactNote.occurred_at <= until,
            )
        )
    ).all()
    heard: dict[str, set[str]] = defaultdict(set)
    for note in notes:
        outcome = ContactOutcome(note.outcome)
        if outcome in HELP or note.follow_up_needed:
            heard[note.resident_id].add("needs_help")
        elif outcome in SAFE:
            heard[note.resident_id].add("confirmed_safe")
        else:
            heard[note.resident_id].add("unreachable")
    category: dict[str, str] = {}
    for visit in visits:
        found = heard.get(visit.resident_id, set())
        if visit.status == VisitStatus.DONE and visit.fulfilled_by_note_id is None:
            # Marked done on the visitor's phone without a note (a note's outcome speaks for itself;
            # only a note that reached the person fulfils a safety check).
            found = found | {"confirmed_safe"}
        category[visit.resident_id] = next((c for c in CATEGORIES if c in found), "not_checked")
    return list(visits), category
