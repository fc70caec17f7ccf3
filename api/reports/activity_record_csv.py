"""The monthly activity record as a CSV file for Excel (api.reports.csv_export's conventions): one
row per figure of the national form, in the form's order, headers in the reader's language."""

from __future__ import annotations

from api.reports.activity_record_schemas import ActivityRecord
from api.reports.csv_export import csv_text, header
from domain.i18n import register

register(
    {
        "csv.activity.section": {"ja": "区分", "en": "Section"},
        "csv.activity.item": {"ja": "項目", "en": "Item"},
        "csv.activity.count": {"ja": "件数", "en": "Count"},
        "csv.activity.consultations": {"ja": "相談・支援件数", "en": "Consultations and support"},
        "csv.activity.by_topic": {"ja": "相談・支援件数（内容別）", "en": "Consultations by topic"},
        "csv.activity.total": {"ja": "合計", "en": "Total"},
        "csv.activity.other": {"ja": "その他の活動", "en": "Other activities"},
        "csv.activity.visits": {"ja": "訪問回数", "en": "Visits"},
        "csv.activity.contacts": {"ja": "訪問以外の連絡", "en": "Other contacts"},
        "csv.activity.liaison": {"ja": "連絡調整回数", "en": "Liaison"},
        "csv.activity.days_active": {"ja": "活動日数", "en": "Days active"},
    }
)


# The single figures of the form, by their field in `ActivityFigures`, with their words.
SINGLE_FIGURES = {
    "visits": "csv.activity.visits",
    "contacts": "csv.activity.contacts",
    "liaison": "csv.activity.liaison",
    "days_active": "csv.activity.days_active",
}


def activity_record_csv(record: ActivityRecord, locale: str) -> str:
    f = record.figures
    consult = header("csv.activity.consultations", locale)
    rows: list[list[object]] = [[consult, header("csv.activity.total", locale), f.consultations.total]]
    for by_field in f.consultations.by_field:
        rows.append([consult, by_field.label, by_field.total])
        rows += [[consult, f"{by_field.label}／{t.label}", t.count] for t in by_field.topics]
    by_topic = header("csv.activity.by_topic", locale)
    rows += [[by_topic, t.label, t.count] for t in f.consultations.by_topic]
    other = header("csv.activity.other", locale)
    rows += [[other, a.label, a.count] for a in f.other_activities]
    rows.append([other, header("csv.activity.total", locale), f.other_activities_total])
    for name, code in SINGLE_FIGURES.items():
        rows.append([header(code, locale), "", getattr(f, name)])
        if name == "liaison":
            rows += [[header(code, locale), c.label, c.count] for c in f.liaison_by_counterpart]
    headers = [header(c, locale) for c in ("csv.activity.section", "csv.activity.item", "csv.activity.count")]
    return csv_text(headers, rows)
