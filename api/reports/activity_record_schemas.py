"""Response bodies of the monthly activity record (民生委員・児童委員活動記録)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import InputModel
from domain.enums import ActivityKind, LiaisonCounterpart, SupportField, SupportTopic


class TopicCount(BaseModel):
    topic: SupportTopic
    label: str
    count: int


class ConsultationField(BaseModel):
    field: SupportField
    label: str
    total: int
    topics: list[TopicCount] = Field(description="every topic of the national form, zeros included")


class Consultations(BaseModel):
    """相談・支援件数: notes with a support field, by field × topic."""

    total: int
    by_field: list[ConsultationField]
    by_topic: list[TopicCount] = Field(description="each topic summed over the fields")


class ActivityCount(BaseModel):
    kind: ActivityKind
    label: str
    count: int


class CounterpartCount(BaseModel):
    counterpart: LiaisonCounterpart
    label: str
    count: int


class ActivityFigures(BaseModel):
    consultations: Consultations
    other_activities: list[ActivityCount] = Field(
        description="the six other activities of the national form, each kind's counts summed"
    )
    other_activities_total: int
    visits: int = Field(description="訪問回数: notes whose method is a home visit, answered or not")
    contacts: int = Field(description="notes of every other method (phone, meeting place, …): not visits")
    liaison: int = Field(description="連絡調整回数: liaison activities, their counts summed")
    liaison_by_counterpart: list[CounterpartCount] = Field(
        default_factory=list,
        description="the liaison split by counterpart (行政, 社協, 学校, 警察, 医療・介護, その他), every "
        "counterpart present; a liaison without one (older phones) counts as その他",
    )
    days_active: int = Field(description="活動日数: distinct local days with a note or an activity")


class FigureChange(BaseModel):
    figure: str = Field(
        description="which count: `consultations.<field>.<topic>`, `other_activities.<kind>`, `visits`, "
        "`contacts`, `liaison`, `liaison.<counterpart>` or `days_active`"
    )
    label: str = Field(description="the figure as the form names it, in the reader's language")
    reviewed: int = Field(description="the count when the month was reviewed")
    current: int = Field(description="the count now")


class ActivityReview(BaseModel):
    reviewed_at: datetime
    reviewed_by: str
    changed_since_review: bool = Field(description="whether any figure differs from those reviewed")
    changes: list[FigureChange] = Field(
        default_factory=list,
        description="each count that differs from the reviewed one, old → new, in the form's order "
        "(totals, which follow from these, are not repeated); empty when nothing changed",
    )


class CommissionerRef(BaseModel):
    id: str
    display_name: str


class ActivityRecord(BaseModel):
    month: str = Field(description="YYYY-MM, the organisation's calendar")
    commissioner: CommissionerRef
    figures: ActivityFigures
    review: ActivityReview | None = Field(description="null until the commissioner reviews the month")


class DistrictRef(BaseModel):
    id: str
    name: str


class DistrictMember(BaseModel):
    commissioner: CommissionerRef
    review: ActivityReview | None
    counted_in: DistrictRef = Field(
        description="the one district whose total holds this commissioner's record: of the districts "
        "they hold, the first by name (so that district totals add up to the commissioners' records)"
    )
    counted_elsewhere: bool = Field(
        description="true when the record is counted in another district's total (`counted_in`), "
        "not in this one"
    )


class DistrictActivityTotal(BaseModel):
    month: str
    district_id: str
    district_name: str
    commissioners: int = Field(
        description="active commissioners counted in this district, whose records are summed (one who "
        "holds several districts counts in one of them only: see `members[].counted_in`)"
    )
    reviewed: int = Field(
        description="how many of those counted here reviewed the month (and nothing changed since)"
    )
    figures: ActivityFigures = Field(description="the sum of their records (days active: summed too)")
    members: list[DistrictMember] = Field(
        description="every active commissioner of the district, those counted elsewhere included"
    )


class ActivityReviewIn(InputModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, the organisation's calendar")
