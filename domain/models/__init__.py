"""All ORM models, one module per aggregate, gathered here so that metadata is complete."""

from domain.base import Base
from domain.models._activity import ActivityRecordReview, CommissionerActivity
from domain.models._alert import Alert, AlertEvent
from domain.models._audit import AuditEvent
from domain.models._console_session import ConsoleSession
from domain.models._contact_note import ContactNote, ContactNoteRevision
from domain.models._notification import Delivery, DeliveryAttempt, Notification
from domain.models._organisation import District, Organisation, UserDistrict
from domain.models._published_statistics import PublishedStatistics
from domain.models._quarantine import QuarantinedRecord
from domain.models._resident import Assignment, Consent, EmergencyContact, LegalBasisRecord, Resident
from domain.models._sync_state import SyncDeviceState, SyncManifestVersion
from domain.models._user import Device, LoginThrottle, RefreshToken, User
from domain.models._visit import SafetyCheckCampaign, Visit, VisitPlan

__all__ = [
    "ActivityRecordReview",
    "Alert",
    "AlertEvent",
    "Assignment",
    "AuditEvent",
    "Base",
    "CommissionerActivity",
    "Consent",
    "ConsoleSession",
    "ContactNote",
    "ContactNoteRevision",
    "Delivery",
    "DeliveryAttempt",
    "Device",
    "District",
    "EmergencyContact",
    "LegalBasisRecord",
    "LoginThrottle",
    "Notification",
    "Organisation",
    "PublishedStatistics",
    "QuarantinedRecord",
    "RefreshToken",
    "Resident",
    "SafetyCheckCampaign",
    "SyncDeviceState",
    "SyncManifestVersion",
    "User",
    "UserDistrict",
    "Visit",
    "VisitPlan",
]
