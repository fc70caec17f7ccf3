from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, FeedMixin, IdMixin, OrgMixin, TimestampMixin
from domain.enums import (
    AssignmentRole,
    ConsentRecipient,
    ConsentStatus,
    Household,
    LegalBasis,
    ResidentStatus,
    RiskLevel,
)


class Resident(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """見守り対象者: a person under watch."""

    __tablename__ = "residents"
    __table_args__ = (
        Index("ix_residents_org_feed", "org_id", "feed_seq"),
        Index("ix_residents_org_district", "org_id", "district_id"),
        Index("ux_residents_org_register_number", "org_id", "register_number", unique=True),
        Index("ix_residents_org_last_contact", "org_id", "last_contact_at"),  # the working list's page
    )

    district_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("districts.id"))
    # The municipality's own number for the person in its register (宛名番号 / 住民番号): what a
    # re-imported register is matched on. Never the national My Number (個人番号).
    register_number: Mapped[str | None] = mapped_column(String(40), default=None)
    name: Mapped[str] = mapped_column(String(100))
    kana: Mapped[str] = mapped_column(String(100), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer, default=None)
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    household: Mapped[Household] = mapped_column(String(30), default=Household.ALONE)
    risk_level: Mapped[RiskLevel] = mapped_column(String(10), default=RiskLevel.MEDIUM)
    support_needs: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ResidentStatus] = mapped_column(String(10), default=ResidentStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # The last contact of any kind, kept by the contact-note path; drives the contact-gap alert.
    last_contact_at: Mapped[datetime | None] = mapped_column(default=None)


class EmergencyContact(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    __tablename__ = "emergency_contacts"
    # sync: "which emergency contacts changed since N" (a phone table from schema version 3)
    __table_args__ = (Index("ix_emergency_contacts_org_feed", "org_id", "feed_seq"),)

    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    relation: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(Integer, default=1)


class Consent(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """The resident's consent for one kind of recipient: given, withdrawn or not given, with its
    expiry in the organisation's calendar. A withdrawal withdraws; what may still allow sharing
    without consent is a `LegalBasisRecord` of its own. Changes are kept in the audit log."""

    __tablename__ = "consents"
    __table_args__ = (
        UniqueConstraint("resident_id", "recipient"),
        Index("ix_consents_org_feed", "org_id", "feed_seq"),  # sync: "which consents changed since N"
    )

    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"), index=True)
    recipient: Mapped[ConsentRecipient] = mapped_column(String(40))
    status: Mapped[ConsentStatus] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(300), default="")
    given_on: Mapped[date | None] = mapped_column(Date, default=None)
    expires_on: Mapped[date | None] = mapped_column(Date, default=None)
    recorded_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), default=None)


class LegalBasisRecord(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """A legal basis that allows sharing a resident with one kind of recipient without consent
    (the fixed list and what each basis covers: `domain.legal_bases`). It shares while it is not
    ended; ending it keeps the record (history) and stops the sharing. A feed table, so that
    recording or ending one reaches phones on their next pull (scope entry and exit)."""

    __tablename__ = "legal_bases"
    __table_args__ = (
        Index("ix_legal_bases_resident_active", "resident_id", "ended_at"),
        Index("ix_legal_bases_org_feed", "org_id", "feed_seq"),  # sync: "which bases changed since N"
    )

    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"))
    basis: Mapped[LegalBasis] = mapped_column(String(40))
    recipient: Mapped[ConsentRecipient] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(300), default="")
    recorded_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), default=None)
    recorded_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"), default=None)
    end_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class Assignment(IdMixin, OrgMixin, TimestampMixin, FeedMixin, Base):
    """Resident ↔ watcher. An assignment is never edited away: it ends (`ended_at`) and the history
    stays."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_user_active", "user_id", "ended_at"),
        Index("ix_assignments_resident_active", "resident_id", "ended_at"),
        Index("ix_assignments_org_feed", "org_id", "feed_seq"),  # sync: "which assignments changed"
    )

    resident_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("residents.id"))
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    role: Mapped[AssignmentRole] = mapped_column(String(10), default=AssignmentRole.PRIMARY)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    ended_by: Mapped[str | None] = mapped_column(String(ID_LENGTH), default=None)
    end_reason: Mapped[str | None] = mapped_column(String(200), default=None)
