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
# A safety check (安否確認) asks whether the person is safe: only an outcome in which somebody saw or
# heard them answers it (the final tally's `confirmed_safe` and `needs_help`). `no_answer`, `away`
# and `refused` are attempts: the check stays open and its deadline still alerts.
SAFETY_CHECK_ANSWERED = frozenset(
    {ContactOutcome.MET_WELL, ContactOutcome.PHONE_ONLY, ContactOutcome.MET_CONCERN, ContactOutcome.EMERGENCY}
)


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


# --- The commissioners' monthly activity record (民生委員・児童委員活動記録) ----------------------
# The national form's vocabularies. A contact note with a support field is a consultation
# (相談・支援); activities not about one resident are `CommissionerActivity` rows.


class SupportField(StrEnum):
    """分野: whom the consultation or support was about."""

    ELDERLY = "elderly"  # 高齢者に関すること
    DISABLED = "disabled"  # 障害者に関すること
    CHILDREN = "children"  # 子どもに関すること
    OTHER = "other"  # その他


class SupportTopic(StrEnum):
    """分野別の相談・支援内容 (the national form's topic rows)."""

    HOME_WELFARE = "home_welfare"  # 在宅福祉
    LONG_TERM_CARE = "long_term_care"  # 介護保険
    HEALTH = "health"  # 健康・保健医療
    CHILD_REARING = "child_rearing"  # 子育て・母子保健
    CHILD_COMMUNITY_LIFE = "child_community_life"  # 子どもの地域生活
    CHILD_EDUCATION = "child_education"  # 子どもの教育・学校生活
    LIVING_COSTS = "living_costs"  # 生活費
    PENSION_INSURANCE = "pension_insurance"  # 年金・保険
    WORK = "work"  # 仕事
    FAMILY = "family"  # 家族関係
    HOUSING = "housing"  # 住居
    LIVING_ENVIRONMENT = "living_environment"  # 生活環境
    DAILY_SUPPORT = "daily_support"  # 日常的な支援
    OTHER = "other"  # その他


class ActivityKind(StrEnum):
    """A commissioner's activity that is not about one resident."""

    SURVEY = "survey"  # 調査・実態把握
    EVENTS_MEETINGS = "events_meetings"  # 行事・事業・会議への参加協力
    COMMUNITY_WELFARE = "community_welfare"  # 地域福祉活動・自主活動
    COUNCIL_TRAINING = "council_training"  # 民児協運営・研修
    CERTIFICATES = "certificates"  # 証明事務
    CHILD_PROTECTION_REPORT = "child_protection_report"  # 要保護児童の発見の通告・仲介
    LIAISON = "liaison"  # 連絡調整


class LiaisonCounterpart(StrEnum):
    """With whom a liaison (連絡調整) was made (sync schema v5; older phones' liaisons: other)."""

    GOVERNMENT = "government"  # 行政
    SOCIAL_WELFARE_COUNCIL = "social_welfare_council"  # 社協
    SCHOOL = "school"  # 学校
    POLICE = "police"  # 警察
    MEDICAL_CARE = "medical_care"  # 医療・介護
    OTHER = "other"  # その他


# (ja, en) labels, as the national form words them; one table per vocabulary ("other" is in two).
SUPPORT_FIELD_LABELS: dict[str, tuple[str, str]] = {
    SupportField.ELDERLY: ("高齢者に関すること", "Older people"),
    SupportField.DISABLED: ("障害者に関すること", "People with disabilities"),
    SupportField.CHILDREN: ("子どもに関すること", "Children"),
    SupportField.OTHER: ("その他", "Other"),
}
SUPPORT_TOPIC_LABELS: dict[str, tuple[str, str]] = {
    SupportTopic.HOME_WELFARE: ("在宅福祉", "Welfare at home"),
    SupportTopic.LONG_TERM_CARE: ("介護保険", "Long-term care insurance"),
    SupportTopic.HEALTH: ("健康・保健医療", "Health and medical care"),
    SupportTopic.CHILD_REARING: ("子育て・母子保健", "Child rearing and maternal health"),
    SupportTopic.CHILD_COMMUNITY_LIFE: ("子どもの地域生活", "Children's life in the community"),
    SupportTopic.CHILD_EDUCATION: ("子どもの教育・学校生活", "Children's education and school life"),
    SupportTopic.LIVING_COSTS: ("生活費", "Living costs"),
    SupportTopic.PENSION_INSURANCE: ("年金・保険", "Pensions and insurance"),
    SupportTopic.WORK: ("仕事", "Work"),
    SupportTopic.FAMILY: ("家族関係", "Family relations"),
    SupportTopic.HOUSING: ("住居", "Housing"),
    SupportTopic.LIVING_ENVIRONMENT: ("生活環境", "Living environment"),
    SupportTopic.DAILY_SUPPORT: ("日常的な支援", "Everyday support"),
    SupportTopic.OTHER: ("その他", "Other"),
}
ACTIVITY_KIND_LABELS: dict[str, tuple[str, str]] = {
    ActivityKind.SURVEY: ("調査・実態把握", "Surveys and fact-finding"),
    ActivityKind.EVENTS_MEETINGS: (
        "行事・事業・会議への参加協力",
        "Taking part in events, programmes and meetings",
    ),
    ActivityKind.COMMUNITY_WELFARE: ("地域福祉活動・自主活動", "Community welfare and own initiatives"),
    ActivityKind.COUNCIL_TRAINING: ("民児協運営・研修", "Council (民児協) business and training"),
    ActivityKind.CERTIFICATES: ("証明事務", "Certificates"),
    ActivityKind.CHILD_PROTECTION_REPORT: (
        "要保護児童の発見の通告・仲介",
        "Reporting or referring children in need of protection",
    ),
    ActivityKind.LIAISON: ("連絡調整", "Liaison"),
}
LIAISON_COUNTERPART_LABELS: dict[str, tuple[str, str]] = {
    LiaisonCounterpart.GOVERNMENT: ("行政", "Local government"),
    LiaisonCounterpart.SOCIAL_WELFARE_COUNCIL: ("社協", "Social welfare council"),
    LiaisonCounterpart.SCHOOL: ("学校", "Schools"),
    LiaisonCounterpart.POLICE: ("警察", "Police"),
    LiaisonCounterpart.MEDICAL_CARE: ("医療・介護", "Medical and care services"),
    LiaisonCounterpart.OTHER: ("その他", "Other"),
}


def label(labels: dict[str, tuple[str, str]], value: str, locale: str | None) -> str:
    """The ja (default) or en label of a value of one of the tables above."""
    ja, en = labels[value]
    return en if locale == "en" else ja
