"""Closed vocabularies of the domain. Values are stored and sent as these strings."""

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    COMMISSIONER = "commissioner"
    VOLUNTEER = "volunteer"


class RiskLevel(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ResidentStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class Household(StrEnum):
    ALONE = "alone"  # 独居
    ELDERLY_COUPLE = "elderly_couple"  # 高齢夫婦
    WITH_FAMILY = "with_family"  # 家族と同居（日中独居など）
    OTHER = "other"


class ConsentRecipient(StrEnum):
    DISTRICT_COMMISSIONER = "district_commissioner"
    COUNCIL_STAFF = "council_staff"
    VOLUNTEERS = "volunteers"
    PARTNER_NPO = "partner_npo"
    COMMUNITY_SUPPORT_CENTRE = "community_support_centre"  # 地域包括支援センター


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    NOT_GIVEN = "not_given"  # never asked or declined; sharing only under a recorded legal basis


class LegalBasis(StrEnum):
    """What still allows sharing where there is no consent."""

    COUNCIL_CONFIDENTIALITY = "council_confidentiality"  # 孤独・孤立対策推進法の地域協議会（守秘義務）
    EVACUATION_SUPPORT_LIST = "evacuation_support_list"  # 避難行動要支援者名簿


class AssignmentRole(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class HolidayRule(StrEnum):
    NONE = "none"
    SKIP = "skip"
    SHIFT = "shift"  # move to the next working day


class PlanStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class VisitStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class VisitKind(StrEnum):
    PLANNED = "planned"
    REVISIT = "revisit"
    SAFETY_CHECK = "safety_check"


class ContactMethod(StrEnum):
    HOME_VISIT = "home_visit"
    PHONE = "phone"
    MEETING_PLACE = "meeting_place"  # 居場所
    MEAL_DELIVERY = "meal_delivery"
    MESSAGE = "message"
    SENSOR = "sensor"
    OTHER = "other"


class ContactOutcome(StrEnum):
    MET_WELL = "met_well"
    MET_CONCERN = "met_concern"
    PHONE_ONLY = "phone_only"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"
    AWAY = "away"
    EMERGENCY = "emergency"


# Attempts, not contact: the person was not reached, so the last contact stays where it was.
NOT_REACHED = frozenset({ContactOutcome.NO_ANSWER, ContactOutcome.AWAY})


class NoteVisibility(StrEnum):
    TEAM = "team"
    RESTRICTED = "restricted"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertSeverity(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class AlertResolution(StrEnum):
    CONTACT_RECORDED = "contact_recorded"
    RECORDED_LATE = "recorded_late"
    HANDLED = "handled"
    FALSE_ALARM = "false_alarm"
    RESIDENT_ENDED = "resident_ended"
    CAMPAIGN_CLOSED = "campaign_closed"  # a safety check closed before this resident was reached


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    SKIPPED = "skipped"
