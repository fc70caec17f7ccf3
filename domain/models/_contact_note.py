from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, FeedMixin, IdMixin, OrgMixin, TimestampMixin
from domain.enums import ContactMethod, ContactOutcome, NoteVisibility, SupportField, SupportTopic


class ContactNote(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """A recorded contact of any kind. Append-only for everybody but its author."""

    __tablename__ = "contact_notes"
    __table_args__ = (
        Index("ix_contact_notes_org_feed", "org_id", "feed_seq"),
        Index("ix_contact_notes_resident_occurred", "resident_id", "occurred_at"),
    )

    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"))
    visit_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None, index=True)
    author_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    method: Mapped[ContactMethod] = mapped_column(String(20))
    outcome: Mapped[ContactOutcome] = mapped_column(String(20))
    warning_signs: Mapped[list[str]] = mapped_column(JsonB, default=list)
    wellbeing: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    follow_up_needed: Mapped[bool] = mapped_column(default=False)
    referral: Mapped[str | None] = mapped_column(String(200), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[NoteVisibility] = mapped_column(String(12), default=NoteVisibility.TEAM)
    occurred_at: Mapped[datetime]  # the phone's clock
    received_at: Mapped[datetime]  # the server's
    # The activity record (民生委員・児童委員活動記録): a note with a support field is a
    # consultation (相談・支援) in that field, about `support_topic` (sync schema v4).
    support_field: Mapped[SupportField | None] = mapped_column(String(20), default=None)
    support_topic: Mapped[SupportTopic | None] = mapped_column(String(30), default=None)


class ContactNoteRevision(IdMixin, OrgMixin, Base):
    """One correction of a contact note: who changed which fields, why, and the values they had
    before. The audit event of the correction names the fields and this row; the values stay here,
    readable only by those who may read the note's history (`domain.access`). Not synced."""

    __tablename__ = "contact_note_revisions"
    __table_args__ = (Index("ix_contact_note_revisions_note_at", "note_id", "revised_at"),)

    note_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("contact_notes.id"))
    revised_at: Mapped[datetime]
    revised_by: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")
    fields: Mapped[list[str]] = mapped_column(JsonB, default=list)
    # The replaced values, JSON-ready (times as ISO 8601 strings).
    previous: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
