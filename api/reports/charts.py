"""Charts of the reports as SVG, drawn here (no chart service, no new dependency): coverage per
district (horizontal bars of the share reached in the period) and the trend (share reached and
alerts raised per week; suppressed, counts reached and alerts raised per ended month).

Made to be read without colour and printed in black and white: every bar carries its value in
words next to it, the second series is hatched, text is near-black on white (contrast over 15:1),
bars are #0b5cad (6.6:1 against white). Each chart is `role="img"` with a `<title>` and a `<desc>`
that says every figure, so a screen reader hears the numbers. Figures hidden by small-cell
suppression (秘匿) are drawn as the word, never as a bar or a value. Every text is escaped; only
presentation attributes are used (no `style`), so the console's strict CSP allows the SVG inline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from api.reports import suppression
from api.reports.schemas import CoverageReport, MonthlyTrendReport, MonthTrend, TrendReport, WeekTrend
from domain.i18n import register, translate

register(
    {
        "chart.coverage.title": {
            "ja": "地区別の連絡できた割合（{first}〜{last}）",
            "en": "Share of residents reached per district ({first} to {last})",
        },
        "chart.coverage.value": {
            "ja": "{total}人中{reached}人（{share}）",
            "en": "{reached} of {total} ({share})",
        },
        "chart.coverage.none": {"ja": "対象者なし", "en": "no residents"},
        "chart.coverage.empty": {"ja": "表示できる地区がありません", "en": "No district to show"},
        "chart.trend.title": {
            "ja": "週ごとの推移：{scope}（直近{weeks}週）",
            "en": "Weekly trend: {scope} (last {weeks} weeks)",
        },
        "chart.trend.all": {"ja": "担当の全地区", "en": "all districts in view"},
        "chart.trend.contacted": {
            "ja": "連絡できた割合（現在の対象者{active}人に対して）",
            "en": "Share reached (of {active} residents now)",
        },
        "chart.trend.contacted_counts": {
            "ja": "連絡できた人数",
            "en": "Residents reached",
        },
        "chart.trend.alerts": {"ja": "発生したアラート（件）", "en": "Alerts raised"},
        "chart.trend.week": {"ja": "{start}〜{end}の週", "en": "week of {start} to {end}"},
        "chart.trend.monthly_title": {
            "ja": "月ごとの推移：{scope}（終わった直近{months}か月）",
            "en": "Monthly trend: {scope} (last {months} ended months)",
        },
        "chart.trend.month": {"ja": "{year}年{number}月", "en": "{month}"},
        "chart.hidden": {"ja": "秘匿", "en": "suppressed"},
        "chart.no_value": {"ja": "—", "en": "—"},
        "chart.suppressed_note": {
            "ja": "{k}人未満の数と、そこから分かる数は「秘匿」としています。",
            "en": "Counts below {k}, and those that would reveal them, are shown as “suppressed”.",
        },
    }
)

WIDTH = 720
TEXT = "#1a1a1a"
MUTED = "#4a4a4a"
BAR = "#0b5cad"
GRID = "#767676"  # 4.5:1 on white: also readable as text
FONT = "system-ui, 'Hiragino Sans', 'Noto Sans JP', 'Yu Gothic', Meiryo, sans-serif"
NAME_CHARS = 12  # district names longer than this are shortened on the axis (the full name is in <desc>)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _text(x: float, y: float, body: str, *, anchor: str = "start", size: int = 14, bold: bool = False) -> str:
    weight = ' font-weight="700"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{TEXT}" text-anchor="{anchor}"{weight}>'
        f"{_e(body)}</text>"
    )


def _svg(chart_id: str, height: int, title: str, desc: str, body: Sequence[str], lang: str) -> str:
    cid = _e(chart_id)
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" lang="{_e(lang)}" '
            f'aria-labelledby="{cid}-title {cid}-desc" font-family="{_e(FONT)}">',
            f'<title id="{cid}-title">{_e(title)}</title>',
            f'<desc id="{cid}-desc">{_e(desc)}</desc>',
            f'<defs><pattern id="{cid}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)">'
            f'<rect width="6" height="6" fill="#ffffff"/><rect width="2.5" height="6" fill="{TEXT}"/>'
            "</pattern></defs>",
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
            *body,
            "</svg>",
        ]
    )


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


@dataclass(frozen=True)
class CoverageRow:
    name: str
    reached: int | None  # None: hidden (秘匿)
    active: int | None
    share: float | None


def coverage_rows(report: CoverageReport, table: suppression.CoverageCells | None) -> list[CoverageRow]:
    """The figures the chart shows, one per district of `report`. With `table` (its rows of the
    organisation's one suppression, `coverage.suppressed_coverage`): hidden as the coverage CSV and
    the trends hide them; a share is shown only when both its counts are (a share and one count
    give the other)."""
    rows = []
    for d in report.districts:
        reached = d.contacted.residents
        active = d.residents.active
        if table is not None:
            reached = reached if table.shows(d.district_id, "contacted") else None
            active = active if table.shows(d.district_id, "active") else None
        share = d.contacted.share if reached is not None and active is not None else None
        rows.append(CoverageRow(d.name, reached, active, share))
    return rows


def coverage_svg(
    report: CoverageReport,
    locale: str,
    *,
    k: int | None = None,
    table: suppression.CoverageCells | None = None,
    chart_id: str = "coverage",
) -> str:
    """Horizontal bars: per district, the share of its active residents reached in the period, with
    "reached of residents (share)" written after each bar. Suppressed: `k` and `table` (see
    `coverage_rows`)."""
    t = _translator(locale)
    rows = coverage_rows(report, table)
    left, right = 190, WIDTH - 200  # name column; value text after the bar
    span = right - left
    top, step = 44, 34
    height = top + step * max(len(rows), 1) + 36 + (22 if k else 0)
    title = t("chart.coverage.title", first=report.from_date.isoformat(), last=report.to_date.isoformat())
    body: list[str] = [_text(10, 24, title, size=16, bold=True)]
    for tick in (0, 0.5, 1):  # the scale, with its own labels
        x = left + span * tick
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top + step * max(len(rows), 1)}" '
            f'stroke="{GRID}" stroke-width="1" stroke-dasharray="{"0" if tick == 0 else "3 3"}"/>'
        )
        body.append(
            _text(x, top + step * max(len(rows), 1) + 18, f"{tick * 100:.0f}%", anchor="middle", size=12)
        )
    descs = []
    for n, row in enumerate(rows):
        y = top + step * n
        body.append(_text(left - 8, y + 19, _short(row.name), anchor="end"))
        value = _coverage_value(row, t)
        if row.share is not None:
            width = max(span * row.share, 1.5) if row.share > 0 else 0
            if width:
                body.append(
                    f'<rect x="{left}" y="{y + 4}" width="{width:.1f}" height="22" fill="{BAR}" '
                    f'stroke="{TEXT}" stroke-width="1"/>'
                )
            body.append(_text(left + width + 8, y + 19, value))
        else:
            body.append(_text(left + 8, y + 19, value))
        descs.append(f"{row.name}: {value}")
    if not rows:
        body.append(_text(left, top + 19, t("chart.coverage.empty")))
        descs.append(t("chart.coverage.empty"))
    if k:
        body.append(_text(10, height - 10, t("chart.suppressed_note", k=k), size=12))
        descs.append(t("chart.suppressed_note", k=k))
    return _svg(chart_id, height, title, "; ".join(descs), body, locale)


def _coverage_value(row: CoverageRow, t: _T) -> str:
    if row.reached is None or row.active is None:
        return t("chart.hidden")
    if row.share is None:  # nobody active: no share to draw
        return t("chart.coverage.none")
    return t("chart.coverage.value", reached=row.reached, total=row.active, share=_percent(row.share))


def trend_svg(
    report: TrendReport | MonthlyTrendReport,
    locale: str,
    scope_name: str | None = None,
    *,
    chart_id: str = "trend",
) -> str:
    """Two panels over the periods, oldest first: the share of the residents reached each week
    (the count per month when the report is the suppressed monthly one: shares are left out then)
    and the alerts raised (hatched). Each bar has its value written above it; hidden values read
    秘匿."""
    t = _translator(locale)
    scope = scope_name or t("chart.trend.all")
    if isinstance(report, MonthlyTrendReport):
        k: int | None = report.suppressed_k
        entries: Sequence[WeekTrend | MonthTrend] = report.months
        title = t("chart.trend.monthly_title", scope=scope, months=len(entries))
        labels = [f"{m.month_start.year}/{m.month_start.month}" for m in report.months]
        spans = [
            t("chart.trend.month", month=m.month, year=m.month_start.year, number=m.month_start.month)
            for m in report.months
        ]
    else:
        k = None
        entries = report.weeks
        title = t("chart.trend.title", scope=scope, weeks=len(entries))
        labels = [f"{w.week_start.month}/{w.week_start.day}" for w in report.weeks]
        spans = [
            t("chart.trend.week", start=w.week_start.isoformat(), end=w.week_end.isoformat())
            for w in report.weeks
        ]
    left, right = 16, WIDTH - 16
    slot = (right - left) / max(len(entries), 1)
    panel = 150  # one panel's height: heading, bars, period labels
    bars_h = 90
    height = 34 + panel * 2 + (22 if k else 0)
    body: list[str] = [_text(10, 24, title, size=16, bold=True)]
    if isinstance(report, MonthlyTrendReport):
        first_heading = t("chart.trend.contacted_counts")
        first: list[float | None] = [m.contacted for m in report.months]
        first_text = [_count(m.contacted, t) for m in report.months]
        first_scale = max([v for v in first if v is not None] + [1])
    else:
        first_heading = t("chart.trend.contacted", active=report.active_residents)
        first = [w.contacted_share for w in report.weeks]
        first_text = [
            _percent(w.contacted_share) if w.contacted_share is not None else t("chart.no_value")
            for w in report.weeks
        ]
        first_scale = 1
    alerts: list[float | None] = [e.alerts_raised for e in entries]
    alerts_text = [_count(e.alerts_raised, t) for e in entries]
    alerts_scale = max([v for v in alerts if v is not None] + [1])
    descs = []
    for p, (heading, values, texts, scale, fill) in enumerate(
        (
            (first_heading, first, first_text, first_scale, BAR),
            (t("chart.trend.alerts"), alerts, alerts_text, alerts_scale, f"url(#{_e(chart_id)}-hatch)"),
        )
    ):
        y0 = 34 + panel * p
        base = y0 + 30 + bars_h
        body.append(_text(10, y0 + 18, heading, size=14, bold=True))
        body.append(
            f'<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="{TEXT}" stroke-width="1"/>'
        )
        parts = []
        for i in range(len(entries)):
            x = left + slot * i
            value = values[i]
            h = bars_h * value / scale if value else 0
            if value:
                body.append(
                    f'<rect x="{x + slot * 0.2:.1f}" y="{base - h:.1f}" width="{slot * 0.6:.1f}" '
                    f'height="{h:.1f}" fill="{fill}" stroke="{TEXT}" stroke-width="1"/>'
                )
            body.append(_text(x + slot / 2, base - h - 5, texts[i], anchor="middle", size=12))
            body.append(_text(x + slot / 2, base + 16, labels[i], anchor="middle", size=12))
            parts.append(f"{spans[i]} {texts[i]}")
        descs.append(f"{heading}: " + ", ".join(parts))
    if k:
        body.append(_text(10, height - 10, t("chart.suppressed_note", k=k), size=12))
        descs.append(t("chart.suppressed_note", k=k))
    return _svg(chart_id, height, title, "; ".join(descs), body, locale)


def _count(value: int | None, t: _T) -> str:
    return t("chart.hidden") if value is None else str(value)


class _T:
    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __call__(self, code: str, **params: object) -> str:
        return translate(code, self.locale, **params)


def _translator(locale: str) -> _T:
    return _T(locale)


def document(svg: str) -> str:
    """A standalone file: the XML declaration before the drawing."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg
