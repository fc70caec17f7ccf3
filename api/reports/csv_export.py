"""CSV files people open in Excel: UTF-8 with a byte-order mark (without it Excel on Japanese
Windows reads UTF-8 as Shift_JIS and shows mojibake), CRLF line ends, headers and closed-list values
in the reader's language, a file name with the organisation's date.

A cell that starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`: Excel would otherwise run
a name or address typed as `=HYPERLINK(...)` as a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Response

from api.reports import suppression
from domain.i18n import register, translate

BOM = "\ufeff"
# Litestar appends "; charset=utf-8" to text/* media types itself (naming it here too gave it twice)
CSV_MEDIA_TYPE = "text/csv"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

register(
    {
        # working list
        "csv.name": {"ja": "氏名", "en": "Name"},
        "csv.kana": {"ja": "ふりがな", "en": "Kana"},
        "csv.address": {"ja": "住所", "en": "Address"},
        "csv.district": {"ja": "地区", "en": "District"},
        "csv.risk_level": {"ja": "リスク", "en": "Risk level"},
        "csv.limit_days": {"ja": "接触間隔の上限（日）", "en": "Limit (days)"},
        "csv.last_contact_at": {"ja": "最終接触日時", "en": "Last contact"},
        "csv.last_contact_method": {"ja": "最終接触の方法", "en": "Last contact method"},
        "csv.days_without_contact": {"ja": "接触なし日数", "en": "Days without contact"},
        "csv.assignee": {"ja": "主担当", "en": "Primary watcher"},
        "csv.assignee_last_sync_at": {"ja": "主担当端末の最終同期", "en": "Watcher's phone last synced"},
        "csv.state": {"ja": "状況", "en": "State"},
        # coverage
        "csv.active": {"ja": "見守り中", "en": "Active"},
        "csv.paused": {"ja": "休止中", "en": "Paused"},
        "csv.risk.high": {"ja": "リスク高", "en": "High risk"},
        "csv.risk.medium": {"ja": "リスク中", "en": "Medium risk"},
        "csv.risk.low": {"ja": "リスク低", "en": "Low risk"},
        "csv.contacted": {"ja": "期間内に接触した人数", "en": "Reached in period"},
        "csv.contacted_share": {"ja": "接触率", "en": "Share reached"},
        "csv.by_method": {"ja": "接触（{method}）", "en": "Reached by {method}"},
        "csv.visits_due": {"ja": "訪問予定", "en": "Visits due"},
        "csv.visits_done": {"ja": "訪問実施", "en": "Visits done"},
        "csv.visits_done_late": {"ja": "遅れて実施", "en": "Done late"},
        "csv.visits_missed": {"ja": "未実施", "en": "Missed"},
        "csv.visits_open": {"ja": "未記録（予定のまま）", "en": "Still planned"},
        "csv.alerts_raised": {"ja": "アラート発生", "en": "Alerts raised"},
        "csv.alerts_acknowledged": {"ja": "アラート確認済", "en": "Acknowledged"},
        "csv.alerts_resolved": {"ja": "アラート解決済", "en": "Resolved"},
        "csv.median_ack": {"ja": "確認までの中央値（分）", "en": "Median minutes to acknowledge"},
        "csv.median_resolve": {"ja": "解決までの中央値（分）", "en": "Median minutes to resolve"},
        "csv.safety_campaigns": {"ja": "安否確認（回）", "en": "Safety checks"},
        "csv.safety_residents": {"ja": "安否確認の対象者", "en": "Residents to check"},
        "csv.safety_confirmed_safe": {"ja": "無事を確認", "en": "Confirmed safe"},
        "csv.safety_needs_help": {"ja": "要支援", "en": "Needing help"},
        "csv.safety_unreachable": {"ja": "連絡つかず", "en": "Unreachable"},
        "csv.safety_not_checked": {"ja": "未確認", "en": "Not checked"},
        "csv.without_plan": {"ja": "計画なし", "en": "Without plan"},
        "csv.without_consent": {"ja": "同意がなく訪問できない人", "en": "Nobody may visit (no consent)"},
        "csv.total": {"ja": "合計", "en": "Total"},
        "csv.commissioners": {"ja": "民生委員", "en": "Commissioners"},
        # residents (the Japanese headers are those the resident import reads back)
        "csv.birth_year": {"ja": "生年", "en": "Birth year"},
        "csv.phone": {"ja": "電話", "en": "Phone"},
        "csv.household": {"ja": "世帯", "en": "Household"},
        "csv.status": {"ja": "状態", "en": "Status"},
        "csv.support_needs": {"ja": "支援内容", "en": "Support needs"},
        # contact notes
        "csv.note.occurred_at": {"ja": "日時", "en": "When"},
        "csv.note.resident": {"ja": "氏名", "en": "Resident"},
        "csv.note.district": {"ja": "地区", "en": "District"},
        "csv.note.method": {"ja": "方法", "en": "Method"},
        "csv.note.outcome": {"ja": "結果", "en": "Outcome"},
        "csv.note.author": {"ja": "記録者", "en": "Recorded by"},
        "csv.note.follow_up": {"ja": "要フォロー", "en": "Follow-up needed"},
        "csv.note.visibility": {"ja": "公開範囲", "en": "Visibility"},
        "csv.note.warning_signs": {"ja": "気になるサイン", "en": "Warning signs"},
        "csv.note.support_field": {"ja": "相談・支援の分野", "en": "Support field"},
        "csv.note.support_topic": {"ja": "相談・支援の内容", "en": "Support topic"},
        "csv.note.body": {"ja": "内容", "en": "Note"},
        # values
        "value.yes": {"ja": "○", "en": "yes"},
        "value.outcome.met_well": {"ja": "面会（元気）", "en": "met, well"},
        "value.outcome.met_concern": {"ja": "面会（気がかりあり）", "en": "met, concern"},
        "value.outcome.phone_only": {"ja": "電話のみ", "en": "phone only"},
        "value.outcome.no_answer": {"ja": "応答なし", "en": "no answer"},
        "value.outcome.refused": {"ja": "拒否", "en": "refused"},
        "value.outcome.away": {"ja": "不在", "en": "away"},
        "value.outcome.emergency": {"ja": "緊急", "en": "emergency"},
        "value.visibility.team": {"ja": "チーム", "en": "team"},
        "value.visibility.restricted": {"ja": "限定", "en": "restricted"},
        "value.household.alone": {"ja": "独居", "en": "alone"},
        "value.household.elderly_couple": {"ja": "高齢夫婦", "en": "elderly couple"},
        "value.household.with_family": {"ja": "家族と同居", "en": "with family"},
        "value.household.other": {"ja": "その他", "en": "other"},
        "value.status.active": {"ja": "見守り中", "en": "active"},
        "value.status.paused": {"ja": "休止", "en": "paused"},
        "value.status.ended": {"ja": "終了", "en": "ended"},
        "value.risk.high": {"ja": "高", "en": "high"},
        "value.risk.medium": {"ja": "中", "en": "medium"},
        "value.risk.low": {"ja": "低", "en": "low"},
        "value.method.home_visit": {"ja": "訪問", "en": "home visit"},
        "value.method.phone": {"ja": "電話", "en": "phone"},
        "value.method.meeting_place": {"ja": "居場所・サロン", "en": "meeting place"},
        "value.method.meal_delivery": {"ja": "配食", "en": "meal delivery"},
        "value.method.message": {"ja": "メッセージ", "en": "message"},
        "value.method.sensor": {"ja": "センサー・見守りサービス", "en": "sensor or check-in service"},
        "value.method.other": {"ja": "その他", "en": "other"},
        "value.state.not_contacted": {"ja": "未接触", "en": "not contacted"},
        "value.state.not_synced": {"ja": "未同期（端末に未送信の記録の可能性）", "en": "not synced"},
        "value.state.unassigned": {"ja": "担当者なし", "en": "no watcher"},
        "value.never": {"ja": "なし", "en": "never"},
    }
)


def header(code: str, locale: str, **params: Any) -> str:
    return translate(code, locale, **params)


def value(kind: str, raw: str | None, locale: str) -> str:
    return "" if raw is None else translate(f"value.{kind}.{raw}", locale)


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """As offices write it: local time, no zone suffix, no seconds."""
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _cell(item: object, zone: ZoneInfo | None = None) -> str:
    """A cell as text: a time in the organisation's zone, a day as ISO, a formula-like value
    with a leading apostrophe."""
    if isinstance(item, datetime):
        return local_time(item, zone) if zone else item.isoformat()
    if isinstance(item, date):
        return item.isoformat()
    text = "" if item is None else str(item)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[object]], zone: ZoneInfo | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in headers])
    for row in rows:
        writer.writerow([_cell(item, zone) for item in row])
    return BOM + out.getvalue()


def _file_headers(stem: str, day: date) -> dict[str, str]:
    filename = f"{stem}-{day.isoformat()}.csv"
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


def csv_response(text: str, stem: str, day: date) -> Response[bytes]:
    """A small file (one row per district) built whole."""
    return Response(text.encode("utf-8"), media_type=CSV_MEDIA_TYPE, headers=_file_headers(stem, day))


async def csv_text_chunks(
    headers: Sequence[str], batches: AsyncIterator[Iterable[Sequence[object]]], zone: ZoneInfo | None = None
) -> AsyncIterator[str]:
    """The CSV text as it is written: the header line, then one chunk per batch of rows, so
    memory follows a batch, not the file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def take() -> str:
        chunk = out.getvalue()
        out.seek(0)
        out.truncate()
        return chunk

    writer.writerow([_cell(h) for h in headers])
    yield take()
    async for rows in batches:
        for row in rows:
            writer.writerow([_cell(item, zone) for item in row])
        yield take()


async def csv_chunks(
    headers: Sequence[str], batches: AsyncIterator[Iterable[Sequence[object]]], zone: ZoneInfo | None = None
) -> AsyncIterator[bytes]:
    """The UTF-8 file as it is written: the BOM with the header line, then one chunk per batch."""
    first = True
    async for text in csv_text_chunks(headers, batches, zone):
        yield (BOM + text).encode("utf-8") if first else text.encode("utf-8")
        first = False


WORKING_LIST_COLUMNS = (
    "name",
    "kana",
    "address",
    "district",
    "risk_level",
    "limit_days",
    "last_contact_at",
    "last_contact_method",
    "days_without_contact",
    "assignee",
    "assignee_last_sync_at",
    "state",
)


def working_list_headers(locale: str) -> list[str]:
    return [header(f"csv.{c}", locale) for c in WORKING_LIST_COLUMNS]


def working_list_cells(rows: Iterable[Any], locale: str, zone: ZoneInfo) -> Iterator[list[object]]:
    """`rows`: `WorkingListRow`s."""
    never = translate("value.never", locale)
    return (
        [
            r.name,
            r.kana,
            r.address,
            r.district_name,
            value("risk", r.risk_level, locale),
            r.limit_days,
            r.last_contact_at or never,
            value("method", r.last_contact_method, locale),
            r.days_without_contact,
            r.assignee.display_name if r.assignee else "",
            r.assignee_last_sync_at,
            value("state", r.state, locale),
        ]
        for r in rows
    )


def working_list_csv(rows: Sequence[Any], locale: str, zone: ZoneInfo) -> str:
    """`rows`: `WorkingListRow`s, the whole file at once."""
    return csv_text(working_list_headers(locale), working_list_cells(rows, locale, zone), zone)


SAFETY_COLUMNS = suppression.SAFETY_RESULTS
_RISKS = suppression.RISKS
_VISITS = suppression.VISIT_OUTCOMES


def _blank_none(x: object) -> object:
    return "" if x is None else x


def _coverage_columns(report: Any, locale: str) -> list[tuple[str, str, Callable[[Any], object], bool]]:
    """(key, header, cell of a `DistrictCoverage`, is a count) in file order."""
    methods = list(report.districts[0].contacted.by_method) if report.districts else []
    h = partial(header, locale=locale)
    return [
        ("active", h("csv.active"), lambda d: d.residents.active, True),
        ("paused", h("csv.paused"), lambda d: d.residents.paused, True),
        *(
            (f"risk.{r}", h(f"csv.risk.{r}"), lambda d, r=r: d.residents.by_risk.get(r, 0), True)
            for r in _RISKS
        ),
        ("contacted", h("csv.contacted"), lambda d: d.contacted.residents, True),
        ("contacted_share", h("csv.contacted_share"), lambda d: _blank_none(d.contacted.share), False),
        *(
            (
                f"method.{m}",
                h("csv.by_method", method=value("method", m, locale)),
                lambda d, m=m: d.contacted.by_method[m].residents,
                True,
            )
            for m in methods
        ),
        *((f"visits.{c}", h(f"csv.visits_{c}"), lambda d, c=c: getattr(d.visits, c), True) for c in _VISITS),
        ("alerts.raised", h("csv.alerts_raised"), lambda d: d.alerts.raised, True),
        ("alerts.acknowledged", h("csv.alerts_acknowledged"), lambda d: d.alerts.acknowledged, True),
        ("alerts.resolved", h("csv.alerts_resolved"), lambda d: d.alerts.resolved, True),
        (
            "median_ack",
            h("csv.median_ack"),
            lambda d: _blank_none(d.alerts.median_minutes_to_acknowledge),
            False,
        ),
        (
            "median_resolve",
            h("csv.median_resolve"),
            lambda d: _blank_none(d.alerts.median_minutes_to_resolve),
            False,
        ),
        *(
            (f"safety.{c}", h(f"csv.safety_{c}"), lambda d, c=c: getattr(d.safety_checks, c), True)
            for c in SAFETY_COLUMNS
        ),
        ("without_plan", h("csv.without_plan"), lambda d: d.residents_without_plan, True),
        ("without_consent", h("csv.without_consent"), lambda d: d.residents_without_visiting_consent, True),
        (
            "commissioners",
            h("csv.commissioners"),
            lambda d: "、".join(c.display_name for c in d.commissioners),
            False,
        ),
    ]


def coverage_table(
    report: Any, locale: str, table: suppression.CoverageCells | None = None
) -> tuple[list[str], list[list[object]]]:
    """`report`: a `CoverageReport`; one row per district. With `table` (statistics leaving the
    organisation, `coverage.suppressed_coverage`): counts only, small cells and their complements
    shown as X, hidden as in the chart and the trends (the report's rows of the organisation's one
    suppression), and a totals row where the table has one (not over some of the districts)."""
    columns = _coverage_columns(report, locale)
    if table is None:
        return (
            [header("csv.district", locale), *(c[1] for c in columns)],
            [[d.name, *(c[2](d) for c in columns)] for d in report.districts],
        )
    columns = [c for c in columns if c[3]]
    keys = [c[0] for c in columns]
    total = [suppression.TOTAL] if table.has_total else []
    rows = [*(d.district_id for d in report.districts), *total]
    names = [d.name for d in report.districts] + [header("csv.total", locale) for _ in total]
    return (
        [header("csv.district", locale), *(c[1] for c in columns)],
        [
            [
                name,
                *(table.cells[(row, key)] if table.shows(row, key) else suppression.HIDDEN for key in keys),
            ]
            for name, row in zip(names, rows, strict=True)
        ],
    )


def coverage_csv(report: Any, locale: str, table: suppression.CoverageCells | None = None) -> str:
    """`coverage_table` as one CSV text."""
    return csv_text(*coverage_table(report, locale, table))


RESIDENT_COLUMNS = (
    "name",
    "kana",
    "birth_year",
    "address",
    "phone",
    "district_id",
    "household",
    "risk_level",
    "status",
    "support_needs",
    "last_contact_at",
)
_RESIDENT_VALUES = {"household": "household", "risk_level": "risk", "status": "status"}


def resident_columns(fields: frozenset[str]) -> list[str]:
    """Only the `fields` the reader may see become columns."""
    return [c for c in RESIDENT_COLUMNS if c in fields]


def resident_headers(columns: Sequence[str], locale: str) -> list[str]:
    names = {"district_id": "district"}
    return [header(f"csv.{names.get(c, c)}", locale) for c in columns]


def resident_cells(
    residents: Iterable[Any], columns: Sequence[str], districts: dict[str, str], locale: str, zone: ZoneInfo
) -> Iterator[list[object]]:
    """`residents`: `ResidentOut`s."""

    def cell(resident: Any, column: str) -> object:
        raw = getattr(resident, column)
        if column == "district_id":
            return districts.get(raw, "")
        if column in _RESIDENT_VALUES:
            return value(_RESIDENT_VALUES[column], raw, locale)
        return raw

    return ([cell(r, c) for c in columns] for r in residents)
