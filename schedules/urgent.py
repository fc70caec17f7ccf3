"""What an urgent alert's inbox message says: what happened, where, the last time the person was
reached, who is assigned and when that person's phone last synced — what a coordinator or a
commissioner needs to act without opening three screens.

Only the inbox holds this text (it reaches only people who may see the resident:
`notifications.outbox.enqueue`). The push shows the resident's name and the reason, rendered from
the whitelisted `notifications.templates.URGENT_ALERT` template, because a lock screen is read by
whoever holds the phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import ContactOutcome
from domain.i18n import translate
from domain.models import ContactNote, Organisation, Resident, User, Visit
from notifications.templates import URGENT_REASONS, MessageKind
from schedules import audience

NOT_REACHED = (ContactOutcome.NO_ANSWER, ContactOutcome.AWAY)
KINDS = frozenset(URGENT_REASONS)  # alert kinds whose message carries these facts

_METHODS: dict[str, dict[str, str]] = {
    "home_visit": {"ja": "訪問", "en": "home visit"},
    "phone": {"ja": "電話", "en": "phone call"},
    "meeting_place": {"ja": "居場所", "en": "meeting place"},
    "meal_delivery": {"ja": "配食", "en": "meal delivery"},
    "message": {"ja": "メッセージ", "en": "message"},
    "sensor": {"ja": "センサー", "en": "sensor"},
    "other": {"ja": "その他", "en": "other"},
}


@dataclass(frozen=True)
class Facts:
    kind: str
    noted_at: datetime
    method: str
    author: str | None
    address: str
    last_reached_at: datetime | None
    last_reached_method: str | None
    assignee: str | None
    assignee_synced_at: datetime | None


async def gather(session: AsyncSession, kind: str, resident: Resident, note: ContactNote) -> Facts:
    """The facts for the alert `note` raised. The assignee is the visit's, else the person who
    visits the resident (`audience.next_visitor`); "last reached" is the latest other note in
    which somebody reached the resident."""
    visit = await session.get(Visit, note.visit_id) if note.visit_id else None
    assignee_id = visit.assignee_id if visit is not None and visit.assignee_id else None
    if assignee_id is None:
        assignee_id = (await audience.next_visitor(session, [resident.id])).get(resident.id)
    names = dict(
        (
            await session.execute(
                select(User.id, User.display_name).where(
                    User.id.in_([i for i in (note.author_id, assignee_id) if i])
                )
            )
        )
        .tuples()
        .all()
    )
    reached = (
        await session.execute(
            select(ContactNote.occurred_at, ContactNote.method)
            .where(
                ContactNote.resident_id == resident.id,
                ContactNote.deleted_at.is_(None),
                ContactNote.id != note.id,
                ContactNote.outcome.not_in(NOT_REACHED),
            )
            .order_by(ContactNote.occurred_at.desc(), ContactNote.received_at.desc(), ContactNote.id)
            .limit(1)
        )
    ).first()
    return Facts(
        kind=kind,
        noted_at=note.occurred_at,
        method=str(note.method),
        author=names.get(note.author_id),
        address=resident.address,
        last_reached_at=reached[0] if reached else None,
        last_reached_method=str(reached[1]) if reached else None,
        assignee=names.get(assignee_id) if assignee_id else None,
        assignee_synced_at=await audience.last_sync_of(session, [assignee_id]) if assignee_id else None,
    )


def _method(method: str | None, locale: str) -> str:
    words = _METHODS.get(method or "", _METHODS["other"])
    return words.get(locale, words["ja"])


def body(facts: Facts, org: Organisation, locale: str) -> str:
    """The inbox body, one fact a line, in `locale`."""
    at = audience.local_text
    lines = [
        translate(
            f"notify.alert.{facts.kind}.what",
            locale,
            at=at(facts.noted_at, org),
            method=_method(facts.method, locale),
            author=facts.author or translate("notify.alert.urgent.someone", locale),
        ),
        translate("notify.alert.urgent.where", locale, address=facts.address),
    ]
    if facts.last_reached_at is None:
        lines.append(translate("notify.alert.urgent.never_reached", locale))
    else:
        lines.append(
            translate(
                "notify.alert.urgent.last_reached",
                locale,
                at=at(facts.last_reached_at, org),
                method=_method(facts.last_reached_method, locale),
            )
        )
    if facts.assignee is None:
        lines.append(translate("notify.alert.urgent.no_assignee", locale))
    elif facts.assignee_synced_at is None:
        lines.append(translate("notify.alert.urgent.assignee_never_synced", locale, assignee=facts.assignee))
    else:
        lines.append(
            translate(
                "notify.alert.urgent.assignee",
                locale,
                assignee=facts.assignee,
                at=at(facts.assignee_synced_at, org),
            )
        )
    return "\n".join(lines)


def lock_screen(kind: str, resident: Resident) -> tuple[MessageKind, dict[str, str]]:
    """Name and reason only."""
    return MessageKind.URGENT_ALERT, {"resident_name": resident.name, "reason": kind}
