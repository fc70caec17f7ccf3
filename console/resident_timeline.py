"""A resident's timeline: contact notes and visits (done, missed, and planned ones of the coming
two weeks) merged newest first, a page at a time.

Both come from the API's services — notes from `api.contact_notes.service.list_notes` (restricted
notes only for whoever may read them, `domain.access.visible_notes`), visits from the visits
service (`schedules.controllers._visits`) — so the timeline shows nothing the API would not.
Page n needs at most n pages of each source: the newest n·size entries of the merged list are
among the newest n·size of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.contact_notes.schemas import ContactNoteOut
from api.contact_notes.service import NoteFilter, list_notes
from domain.access import Principal
from domain.clock import utcnow
from domain.enums import VisitStatus
from domain.models import User, Visit
from schedules.controllers import _visits as list_visits
from schedules.schemas import VisitOut

PAGE_SIZE = 20
MAX_PAGE = 50  # 1,000 entries back; older history is in the API and exports
SHOWN_VISITS = (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.PLANNED)
# Planned visits ahead show for the coming two weeks; the plan itself says what follows.
AHEAD = timedelta(days=14)


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: Literal["note", "visit"]
    note: ContactNoteOut | None = None
    visit: VisitOut | None = None

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.at, self.note.id if self.note else self.visit.id if self.visit else "")


@dataclass(frozen=True)
class Timeline:
    entries: list[Entry]
    page: int
    more: bool
    names: dict[str, str]  # visit assignees' display names

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.more and self.page < MAX_PAGE else None


async def timeline(session: AsyncSession, principal: Principal, resident_id: str, page: int = 1) -> Timeline:
    page = max(1, min(page, MAX_PAGE))
    depth = page * PAGE_SIZE
    notes, note_total = await list_notes(session, principal, NoteFilter(resident_id=resident_id), 0, depth)
    visits, visit_total = await list_visits(
        session,
        principal,
        Visit.resident_id == resident_id,
        Visit.status.in_(SHOWN_VISITS),
        or_(Visit.status != VisitStatus.PLANNED, Visit.due_start < utcnow() + AHEAD),
        limit=depth,
        newest_first=True,
    )
    merged = [Entry(n.occurred_at, "note", note=n) for n in notes]
    merged += [Entry(v.due_start, "visit", visit=v) for v in visits]
    merged.sort(key=lambda e: e.key, reverse=True)
    entries = merged[(page - 1) * PAGE_SIZE : depth]
    assignees = sorted({e.visit.assignee_id for e in entries if e.visit and e.visit.assignee_id})
    names = (
        dict(
            (
                await session.execute(
                    select(User.id, User.display_name).where(
                        User.id.in_(assignees), User.org_id == principal.org_id
                    )
                )
            )
            .tuples()
            .all()
        )
        if assignees
        else {}
    )
    return Timeline(entries=entries, page=page, more=note_total + visit_total > depth, names=names)
