"""The commissioners' monthly activity record (民生委員・児童委員活動記録), prepared from what they
recorded instead of retyped: counts only, no resident named. Months are the organisation's
calendar months (local midnight of the 1st to local midnight of the next 1st).

Counting rules (docs/reports.md):

* consultations and support (相談・支援件数): the commissioner's contact notes of the month with a
  support field, by field × topic (a note without a topic counts under その他). Notes from phones on
  sync schema v1–v3 have no field: they count as visits or contacts, not as consultations;
* other activities: the commissioner's activities of the month, by kind, each weighing its
  `count` (three certificates in one sitting are three);
* visits (訪問回数): notes of the month whose method is a home visit, answered or not — a door
  nobody opened was still a visit made (`no_answer`, `away`);
* contacts (other methods: phone, meeting place, …) are shown beside visits, not in them;
* liaison (連絡調整回数): activities of kind `liaison`, by their count, also split by counterpart
  (sync schema v5; a liaison without one — older phones — counts under その他);
* days active (活動日数): distinct local days with any note or activity of the commissioner.

Deleted (tombstoned) notes and activities never count.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.reports.activity_record_csv import SINGLE_FIGURES
from api.reports.activity_record_schemas import (
    ActivityCount,
    ActivityFigures,
    ActivityRecord,
    ActivityReview,
    CommissionerRef,
    ConsultationField,
    Consultations,
    CounterpartCount,
    DistrictActivityTotal,
    DistrictMember,
    DistrictRef,
    FigureChange,
    TopicCount,
)
from domain import audit
from domain.access import (
    Principal,
    may_read_activity_record,
    may_read_district_activity_total,
)
from domain.clock import utcnow
from domain.enums import (
    ACTIVITY_KIND_LABELS,
    LIAISON_COUNTERPART_LABELS,
    SUPPORT_FIELD_LABELS,
    SUPPORT_TOPIC_LABELS,
    ActivityKind,
    ContactMethod,
    LiaisonCounterpart,
    Role,
    SupportField,
    SupportTopic,
    label,
)
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.i18n import register, translate
from domain.models import (
    ActivityRecordReview,
    CommissionerActivity,
    ContactNote,
    District,
    User,
    UserDistrict,
)

OTHER_ACTIVITY_KINDS = tuple(k for k in ActivityKind if k != ActivityKind.LIAISON)

register(
    {
        "field.month": {
            "ja": "月は YYYY-MM の形で指定してください（例：2026-11）。",
            "en": "Give the month as YYYY-MM (e.g. 2026-11).",
        },
        "field.month_future": {
            "ja": "まだ始まっていない月は確認できません。",
            "en": "A month that has not begun cannot be reviewed.",
        },
        "field.not_commissioner": {
            "ja": "民生委員ではありません。",
            "en": "This person is not a commissioner.",
        },
        "error.activity_review_own_only": {
            "ja": "活動記録の確認は、委員本人だけができます。",
            "en": "Only the commissioner can mark their own activity record as reviewed.",
        },
    }
)


@dataclass(frozen=True)
class Month:
    first: date
    next_first: date
    start: datetime  # UTC, local midnight of the 1st
    end: datetime  # UTC, local midnight of the next month's 1st

    @property
    def key(self) -> str:
        return self.first.strftime("%Y-%m")


def month_of(principal: Principal, text: str | None) -> Month:
    """`YYYY-MM` in the organisation's calendar (default: the current local month)."""
    if text is None:
        first = principal.today().replace(day=1)
    else:
        try:
            if len(text) != 7 or text[4] != "-":
                raise ValueError(text)
            first = date(int(text[:4]), int(text[5:]), 1)
        except ValueError:
            raise InvalidInput.field("month", "field.month") from None
        if not 2000 <= first.year <= 2100:
            raise InvalidInput.field("month", "field.month")
    next_first = date(first.year + first.month // 12, first.month % 12 + 1, 1)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=principal.zone).astimezone(UTC)

    return Month(first, next_first, midnight(first), midnight(next_first))


# --- counting -------------------------------------------------------------------------------------


@dataclass
class _Tally:
    consultations: Counter[tuple[str, str]]
    activities: Counter[str]
    visits: int
    contacts: int
    days: int
    liaison: Counter[str] = field(default_factory=Counter)  # by counterpart


async def _tallies(
    session: AsyncSession, principal: Principal, ids: Sequence[str], month: Month
) -> dict[str, _Tally]:
    """Each commissioner's counts for the month: a few grouped queries whatever their number."""
    out = {i: _Tally(Counter(), Counter(), 0, 0, 0) for i in ids}
    if not ids:
        return out
    notes_of_month = (
        ContactNote.org_id == principal.org_id,
        ContactNote.author_id.in_(list(ids)),
        ContactNote.deleted_at.is_(None),
        ContactNote.occurred_at >= month.start,
        ContactNote.occurred_at < month.end,
    )
    consultations = await session.execute(
        select(ContactNote.author_id, ContactNote.support_field, ContactNote.support_topic, func.count())
        .where(*notes_of_month, ContactNote.support_field.is_not(None))
        .group_by(ContactNote.author_id, ContactNote.support_field, ContactNote.support_topic)
    )
    for author, support_field, topic, n in consultations:
        out[author].consultations[(support_field, topic or SupportTopic.OTHER)] += n
    by_method = await session.execute(
        select(ContactNote.author_id, ContactNote.method, func.count())
        .where(*notes_of_month)
        .group_by(ContactNote.author_id, ContactNote.method)
    )
    for author, method, n in by_method:
        if method == ContactMethod.HOME_VISIT:
            out[author].visits += n
        else:
            out[author].contacts += n
    activities_of_month = (
        CommissionerActivity.org_id == principal.org_id,
        CommissionerActivity.commissioner_id.in_(list(ids)),
        CommissionerActivity.deleted_at.is_(None),
        CommissionerActivity.activity_date >= month.first,
        CommissionerActivity.activity_date < month.next_first,
    )
    kinds = await session.execute(
        select(
            CommissionerActivity.commissioner_id,
            CommissionerActivity.kind,
            CommissionerActivity.counterpart,
            func.sum(CommissionerActivity.count),
        )
        .where(*activities_of_month)
        .group_by(
            CommissionerActivity.commissioner_id, CommissionerActivity.kind, CommissionerActivity.counterpart
        )
    )
    for commissioner, kind, counterpart, n in kinds:
        out[commissioner].activities[kind] += int(n or 0)
        if kind == ActivityKind.LIAISON:
            known = counterpart in LIAISON_COUNTERPART_LABELS
            out[commissioner].liaison[counterpart if known else LiaisonCounterpart.OTHER] += int(n or 0)
    # Days active: local calendar days, so the moments are read and placed in the zone here (a
    # commissioner records a few dozen notes a month).
    days: dict[str, set[date]] = {i: set() for i in ids}
    moments = await session.execute(
        select(ContactNote.author_id, ContactNote.occurred_at).where(*notes_of_month)
    )
    for author, occurred_at in moments:
        days[author].add(occurred_at.astimezone(principal.zone).date())
    activity_days = await session.execute(
        select(CommissionerActivity.commissioner_id, CommissionerActivity.activity_date)
        .where(*activities_of_month)
        .distinct()
    )
    for commissioner, day in activity_days:
        days[commissioner].add(day)
    for i in ids:
        out[i].days = len(days[i])
    return out


def _sum(tallies: Sequence[_Tally]) -> _Tally:
    total = _Tally(Counter(), Counter(), 0, 0, 0)
    for t in tallies:
        total.consultations.update(t.consultations)
        total.activities.update(t.activities)
        total.liaison.update(t.liaison)
        total.visits += t.visits
        total.contacts += t.contacts
        total.days += t.days
    return total


def _figures(tally: _Tally, locale: str) -> ActivityFigures:
    """The national form's figures, every row and column present (zeros included)."""
    fields = []
    for support_field in SupportField:
        topics = [
            TopicCount(
                topic=topic,
                label=label(SUPPORT_TOPIC_LABELS, topic, locale),
                count=tally.consultations[(support_field, topic)],
            )
            for topic in SupportTopic
        ]
        fields.append(
            ConsultationField(
                field=support_field,
                label=label(SUPPORT_FIELD_LABELS, support_field, locale),
                total=sum(t.count for t in topics),
                topics=topics,
            )
        )
    by_topic = [
        TopicCount(
            topic=topic,
            label=label(SUPPORT_TOPIC_LABELS, topic, locale),
            count=sum(tally.consultations[(f, topic)] for f in SupportField),
        )
        for topic in SupportTopic
    ]
    others = [
        ActivityCount(
            kind=kind, label=label(ACTIVITY_KIND_LABELS, kind, locale), count=tally.activities[kind]
        )
        for kind in OTHER_ACTIVITY_KINDS
    ]
    return ActivityFigures(
        consultations=Consultations(total=sum(f.total for f in fields), by_field=fields, by_topic=by_topic),
        other_activities=others,
        other_activities_total=sum(a.count for a in others),
        visits=tally.visits,
        contacts=tally.contacts,
        liaison=tally.activities[ActivityKind.LIAISON],
        liaison_by_counterpart=[
            CounterpartCount(
                counterpart=c, label=label(LIAISON_COUNTERPART_LABELS, c, locale), count=tally.liaison[c]
            )
            for c in LiaisonCounterpart
        ],
        days_active=tally.days,
    )


def fingerprint(figures: ActivityFigures) -> str:
    """The counts (not the words) of a record, hashed: equal iff every figure is equal."""
    text = json.dumps(_strip_labels(figures.model_dump()), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _strip_labels(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_labels(v) for k, v in value.items() if k != "label"}
    if isinstance(value, list):
        return [_strip_labels(v) for v in value]
    return value


# --- who --------------------------------------------------------------------------------------------


async def _commissioner(session: AsyncSession, principal: Principal, commissioner_id: str | None) -> User:
    """The commissioner whose record is asked for (default: the caller). Another organisation's
    user reads as unknown (404); someone else's record without the right is 403."""
    if principal.role == Role.VOLUNTEER:
        raise Forbidden()
    if commissioner_id is None and principal.role != Role.COMMISSIONER:
        # only a commissioner has a record of their own: everyone else names whose they want
        raise InvalidInput.field("commissioner_id", "field.required")
    user_id = commissioner_id or principal.user_id
    user = await session.get(User, user_id)
    if user is None or user.org_id != principal.org_id:
        raise NotFound()
    if not may_read_activity_record(principal, user):
        raise Forbidden()
    if user.role != Role.COMMISSIONER:
        raise InvalidInput.field("commissioner_id", "field.not_commissioner")
    return user


async def _reviews(
    session: AsyncSession, principal: Principal, ids: Sequence[str], month: Month
) -> dict[str, ActivityRecordReview]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(ActivityRecordReview).where(
            ActivityRecordReview.org_id == principal.org_id,
            ActivityRecordReview.commissioner_id.in_(list(ids)),
            ActivityRecordReview.month == month.key,
        )
    )
    return {r.commissioner_id: r for r in rows}


def _by_figure(counts: dict[str, Any]) -> dict[str, int]:
    """Each count of a record (label-free, as reviews keep it) by its name, in the form's order:
    the field × topic cells, the other activities by kind, the single figures. Totals are left out:
    they follow from these. A figure a stored review lacks (a later version's) reads as absent."""
    out: dict[str, int] = {}
    for by_field in counts.get("consultations", {}).get("by_field", []):
        for topic in by_field.get("topics", []):
            out[f"consultations.{by_field['field']}.{topic['topic']}"] = topic["count"]
    for activity in counts.get("other_activities", []):
        out[f"other_activities.{activity['kind']}"] = activity["count"]
    for name in SINGLE_FIGURES:
        if name in counts:
            out[name] = counts[name]
        if name == "liaison":
            for by in counts.get("liaison_by_counterpart", []):
                out[f"liaison.{by['counterpart']}"] = by["count"]
    return out


def _figure_labels(figures: ActivityFigures, locale: str) -> dict[str, str]:
    labels = {
        f"consultations.{f.field}.{t.topic}": f"{f.label}／{t.label}"
        for f in figures.consultations.by_field
        for t in f.topics
    }
    labels |= {f"other_activities.{a.kind}": a.label for a in figures.other_activities}
    labels |= {name: translate(code, locale) for name, code in SINGLE_FIGURES.items()}
    liaison = labels["liaison"]
    return labels | {
        f"liaison.{c.counterpart}": f"{liaison}／{c.label}" for c in figures.liaison_by_counterpart
    }


def _changes(reviewed: dict[str, Any], figures: ActivityFigures, locale: str) -> list[FigureChange]:
    """Which counts differ from those reviewed, old → new. A breakdown the review predates (the
    liaison by counterpart, sync schema v5) is not a change: its total was reviewed."""
    before, now = _by_figure(reviewed or {}), _by_figure(_strip_labels(figures.model_dump()))
    if "liaison_by_counterpart" not in (reviewed or {}):
        now = {k: v for k, v in now.items() if not k.startswith("liaison.")}
    labels = _figure_labels(figures, locale)
    return [
        FigureChange(figure=name, label=labels.get(name, name), reviewed=before.get(name, 0), current=count)
        for name, count in (now | {k: 0 for k in before if k not in now}).items()
        if before.get(name, 0) != count
    ]


def _review_out(
    review: ActivityRecordReview | None, figures: ActivityFigures, locale: str
) -> ActivityReview | None:
    if review is None:
        return None
    changes = _changes(review.figures, figures, locale) if review.fingerprint != fingerprint(figures) else []
    return ActivityReview(
        reviewed_at=review.reviewed_at,
        reviewed_by=review.reviewed_by,
        changed_since_review=bool(changes),
        changes=changes,
    )


# --- the three operations -------------------------------------------------------------------------


async def activity_record(
    session: AsyncSession, principal: Principal, month: Month, commissioner_id: str | None, locale: str
) -> ActivityRecord:
    user = await _commissioner(session, principal, commissioner_id)
    tally = (await _tallies(session, principal, [user.id], month))[user.id]
    figures = _figures(tally, locale)
    review = (await _reviews(session, principal, [user.id], month)).get(user.id)
    audit.record(session, principal, "read", "activity_record", user.id, month=month.key)
    return ActivityRecord(
        month=month.key,
        commissioner=CommissionerRef(id=user.id, display_name=user.display_name),
        figures=figures,
        review=_review_out(review, figures, locale),
    )


async def review(session: AsyncSession, principal: Principal, month: Month, locale: str) -> ActivityRecord:
    """The commissioner marks their month reviewed. Idempotent: while the figures are those
    reviewed, marking it again changes nothing; after a change it records the new review."""
    if principal.role != Role.COMMISSIONER:
        raise Forbidden("error.activity_review_own_only")
    if month.first > principal.today():
        raise InvalidInput.field("month", "field.month_future")
    record = await activity_record(session, principal, month, None, locale)
    current = fingerprint(record.figures)
    existing = (await _reviews(session, principal, [principal.user_id], month)).get(principal.user_id)
    if existing is not None and (
        existing.fingerprint == current or not _changes(existing.figures, record.figures, locale)
    ):
        return record  # unchanged (a review kept before a new breakdown existed included)
    counts = _strip_labels(record.figures.model_dump())
    now = utcnow()
    if existing is None:
        try:
            async with session.begin_nested():
                existing = ActivityRecordReview(
                    org_id=principal.org_id,
                    commissioner_id=principal.user_id,
                    month=month.key,
                    reviewed_at=now,
                    reviewed_by=principal.user_id,
                    fingerprint=current,
                    figures=counts,
                )
                session.add(existing)
        except IntegrityError:  # the same request twice at once: the other one recorded it
            existing = (await _reviews(session, principal, [principal.user_id], month))[principal.user_id]
    else:
        existing.reviewed_at, existing.reviewed_by = now, principal.user_id
        existing.fingerprint, existing.figures = current, counts
    await session.flush()
    audit.record(session, principal, "review", "activity_record", principal.user_id, month=month.key)
    return record.model_copy(update={"review": _review_out(existing, record.figures, locale)})


async def _counted_in(session: AsyncSession, principal: Principal, ids: Sequence[str]) -> dict[str, District]:
    """The one district each commissioner's record is counted in: of the districts they hold, the
    first by name (then id). Chosen here, in code-point order, because the databases' collations
    would order Japanese names differently (SQLite binary, PostgreSQL the locale's)."""
    if not ids:
        return {}
    held: dict[str, list[District]] = {}
    rows = await session.execute(
        select(UserDistrict.user_id, District)
        .join(District, District.id == UserDistrict.district_id)
        .where(UserDistrict.user_id.in_(list(ids)), District.org_id == principal.org_id)
    )
    for user_id, district in rows.tuples():
        held.setdefault(user_id, []).append(district)
    return {user_id: min(districts, key=lambda d: (d.name, d.id)) for user_id, districts in held.items()}


async def district_total(
    session: AsyncSession, principal: Principal, district_id: str, month: Month, locale: str
) -> DistrictActivityTotal:
    """The district council's (民児協) total: the sum of the records of the district's active
    commissioners, and how many of them reviewed the month (with figures unchanged since).
    A commissioner holding several districts is counted in one of them (`_counted_in`) and listed
    in the others as counted elsewhere, so the district totals add up to the records."""
    if principal.role == Role.VOLUNTEER:
        raise Forbidden()
    district = await session.get(District, district_id)
    if district is None or district.org_id != principal.org_id:
        raise NotFound()
    if not may_read_district_activity_total(principal, district.id):
        raise Forbidden()
    users = list(
        (
            await session.scalars(
                select(User)
                .join(UserDistrict, UserDistrict.user_id == User.id)
                .where(
                    UserDistrict.district_id == district.id,
                    User.org_id == principal.org_id,
                    User.role == Role.COMMISSIONER,
                    User.active.is_(True),
                )
                .order_by(User.display_name, User.id)
            )
        ).all()
    )
    homes = await _counted_in(session, principal, [u.id for u in users])
    counted = [u.id for u in users if homes[u.id].id == district.id]
    tallies = await _tallies(session, principal, [u.id for u in users], month)
    reviews = await _reviews(session, principal, [u.id for u in users], month)
    members = []
    for user in users:
        home = homes[user.id]
        members.append(
            DistrictMember(
                commissioner=CommissionerRef(id=user.id, display_name=user.display_name),
                review=_review_out(reviews.get(user.id), _figures(tallies[user.id], locale), locale),
                counted_in=DistrictRef(id=home.id, name=home.name),
                counted_elsewhere=home.id != district.id,
            )
        )
    audit.record(session, principal, "read", "activity_record_district", district.id, month=month.key)
    return DistrictActivityTotal(
        month=month.key,
        district_id=district.id,
        district_name=district.name,
        commissioners=len(counted),
        reviewed=sum(
            1
            for m in members
            if not m.counted_elsewhere and m.review is not None and not m.review.changed_since_review
        ),
        figures=_figures(_sum([tallies[i] for i in counted]), locale),
        members=members,
    )
