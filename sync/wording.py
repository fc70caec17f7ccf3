"""Why a pushed record was held back, in words a volunteer or a coordinator reads (ja/en).

A held record stores its reason as codes (`sync.refused.invalid` with `{field, rule}`,
`sync.refused.forbidden` with `{cause, fields}`); this module turns them into a sentence at the
moment someone reads it, in that reader's language, naming tables and fields with everyday words
rather than the database's names. Records held before causes existed (`{what: ...}`) get the
general sentence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from domain.i18n import register, translate
from notifications.templates import normalise_locale as normalise

# Everyday words for the tables and columns a phone syncs; a name not listed reads "a detail".
_TABLES: dict[str, tuple[str, str]] = {
    "contact_notes": ("連絡記録", "contact note"),
    "residents": ("見守り対象者の情報", "resident details"),
    "visits": ("訪問予定", "planned visit"),
    "alerts": ("アラート", "alert"),
    "notifications": ("お知らせ", "notice"),
    "emergency_contacts": ("緊急連絡先", "emergency contact"),
    "commissioner_activities": ("活動の記録", "activity"),
}
_FIELDS: dict[str, tuple[str, str]] = {
    "resident_id": ("対象者", "person"),
    "visit_id": ("訪問予定", "planned visit"),
    "author_id": ("記録した人", "author"),
    "method": ("連絡方法", "contact method"),
    "outcome": ("連絡の結果", "outcome"),
    "body": ("記録の本文", "note text"),
    "occurred_at": ("連絡した日時", "time of contact"),
    "received_at": ("受信日時", "time received"),
    "follow_up_needed": ("要フォロー", "follow-up flag"),
    "visibility": ("共有範囲", "who may read it"),
    "warning_signs": ("気になる様子", "warning signs"),
    "referral": ("つなぎ先", "referral"),
    "wellbeing": ("体調・暮らしの様子", "wellbeing"),
    "district_id": ("地区", "district"),
    "name": ("氏名", "name"),
    "kana": ("ふりがな", "name reading"),
    "birth_year": ("生まれ年", "birth year"),
    "address": ("住所", "address"),
    "latitude": ("位置", "location"),
    "longitude": ("位置", "location"),
    "phone": ("電話番号", "phone number"),
    "household": ("世帯", "household"),
    "risk_level": ("見守りの必要度", "risk level"),
    "support_needs": ("必要な支援", "support needs"),
    "status": ("状態", "status"),
    "status_reason": ("状態の理由", "status reason"),
    "last_contact_at": ("最終連絡日時", "last contact"),
    "assignee_id": ("担当者", "assignee"),
    "kind": ("種類", "kind"),
    "due_start": ("訪問予定の開始", "visit window start"),
    "due_end": ("訪問予定の終了", "visit window end"),
    "fulfilled_by_note_id": ("訪問を記録した連絡記録", "note that fulfilled the visit"),
    "completed_at": ("完了日時", "time completed"),
    "severity": ("重要度", "severity"),
    "resolution": ("解決の内容", "resolution"),
    "escalation_level": ("エスカレーション段階", "escalation level"),
    "opened_at": ("発生日時", "time opened"),
    "acknowledged_at": ("確認日時", "time acknowledged"),
    "acknowledged_by": ("確認した人", "acknowledged by"),
    "resolved_at": ("解決日時", "time resolved"),
    "title": ("件名", "title"),
    "urgent": ("緊急", "urgent flag"),
    "alert_id": ("アラート", "alert"),
    "read_at": ("既読日時", "time read"),
    "relation": ("続柄", "relationship"),
    "priority": ("連絡の順番", "order to call"),
    "support_field": ("相談・支援の分野", "support field"),
    "support_topic": ("相談・支援の内容", "support topic"),
    "commissioner_id": ("委員", "commissioner"),
    "activity_date": ("活動日", "activity date"),
    "count": ("件数", "count"),
    "memo": ("メモ", "memo"),
    "created_at": ("作成日時", "time created"),
    "updated_at": ("更新日時", "time updated"),
}
_UNKNOWN = ("一部の項目", "a detail")
_LANG = {"ja": 0, "en": 1}

# What is wrong with a field value (rule code → words); an unknown rule reads "is not valid".
_PROBLEMS: dict[str, tuple[str, str]] = {
    "field.required": ("が入力されていません", "is missing"),
    "field.type": ("の形式が正しくありません", "is not in the expected form"),
    "field.too_long": ("が長すぎます", "is too long"),
    "field.not_allowed": ("に選べない値が入っています", "has a value that cannot be chosen"),
    "field.range": ("が範囲外です", "is out of range"),
    "field.not_found": ("が見つかりません", "refers to something that no longer exists"),
    "sync.future_time": ("が未来の日時になっています", "is in the future"),
    "field.invalid": ("が正しくありません", "is not valid"),
    "field.wellbeing": (
        "の形が正しくありません（短い項目と値の組み、入れ子は1段まで）",
        "is not in the expected form (short items and values, nested one level at most)",
    ),
}

# Rules whose refusal is a whole sentence of the API's catalogue: a visit's assignee who may not
# see its resident (`schedules.assignees.assignee_problem`) reads as over REST.
_REST_SENTENCES = ("sight.", "plan.assignee_unknown")

# Why a phone may not make a change (`validation.forbidden(cause)`).
FORBIDDEN_CAUSES: dict[str, tuple[str, str]] = {
    "foreign_id": ("同じ番号の別の記録がすでにあります。", "Another record already has the same id."),
    "create": (
        "この種類の記録は端末からは作れません。",
        "This kind of record cannot be created from a phone.",
    ),
    "delete": ("この記録は端末からは削除できません。", "This record cannot be deleted from a phone."),
    "other_author": (
        "ほかの人が書いた連絡記録は変更できません。",
        "A contact note written by someone else cannot be changed.",
    ),
    "move_resident": (
        "連絡記録の対象者は後から変えられません。",
        "The person a contact note is about cannot be changed afterwards.",
    ),
    "resident": (
        "この方の記録を書く権限がありません（担当外か、本人の同意の範囲外です）。",
        "You may not record for this person (not assigned to you, or outside their consent).",
    ),
    "not_held": (
        "この端末には届いていない記録のため変更できません。",
        "This phone does not hold this record, so it cannot change it.",
    ),
    "fields": (
        "端末からは変更できない項目があります：{fields}。",
        "Some details cannot be changed from a phone: {fields}.",
    ),
    "read_only": (
        "この記録は事務局が管理しているため、端末からは作成・変更・削除できません。"
        "変更はコーディネーターに依頼してください。",
        "The office keeps this record: it cannot be created, changed or deleted from a phone. "
        "Please ask a coordinator to change it.",
    ),
    "commissioners_only": (
        "活動の記録は民生委員の端末からだけ記録できます。",
        "Activities can only be recorded from a commissioner's phone.",
    ),
    "other_commissioner": (
        "ほかの委員の活動の記録は変更できません。",
        "Another commissioner's activity cannot be changed.",
    ),
    "acknowledge_only": (
        "アラートは端末からは「確認済み」にすることだけができます。",
        "From a phone, an alert can only be marked as acknowledged.",
    ),
}
_FORBIDDEN_GENERAL = ("この内容は端末からは変更できません。", "This change cannot be made from a phone.")

register(
    {
        "sync.quarantine.title": {
            "ja": "同期できなかった記録があります",
            "en": "A record could not be synced",
        },
        "sync.quarantine.body.author": {
            "ja": "あなたの端末から送られた{table}を1件保留しました。理由：{reason}"
            "記録は失われていません。コーディネーターが確認します。",
            "en": "One {table} from your phone was held back. Reason: {reason} "
            "Nothing is lost: a coordinator will review it.",
        },
        "sync.quarantine.body.coordinator": {
            "ja": "端末から送られた{table}を1件保留しました。理由：{reason}保留中の記録を確認してください。",
            "en": "One {table} from a phone was held back. Reason: {reason} Please review the held records.",
        },
        "sync.quarantine.summary.author": {
            "ja": "あなたの端末から送られた記録{count}件を保留しました（{tables}）。"
            "記録は失われていません。コーディネーターが確認します。",
            "en": "{count} records from your phone were held back ({tables}). "
            "Nothing is lost: a coordinator will review them.",
        },
        "sync.quarantine.summary.coordinator": {
            "ja": "端末から送られた記録{count}件を保留しました（{tables}）。保留中の記録を確認してください。",
            "en": "{count} records from a phone were held back ({tables}). Please review the held records.",
        },
    }
)


def table_word(table: str, locale: str | None) -> str:
    return _TABLES.get(table, _UNKNOWN)[_LANG[normalise(locale)]]


def field_word(field: str, locale: str | None) -> str:
    return _FIELDS.get(field, _UNKNOWN)[_LANG[normalise(locale)]]


def _words(fields: Iterable[str], locale: str) -> str:
    seen = list(dict.fromkeys(field_word(f, locale) for f in fields))
    return ("、" if locale == "ja" else ", ").join(seen)


def reason_text(reason: str, detail: Mapping[str, Any], locale: str | None) -> str:
    """One sentence (ending in its own full stop) saying what is wrong, without internal names."""
    lang = normalise(locale)
    i = _LANG[lang]
    if reason == "sync.refused.invalid":
        rule = str(detail.get("rule", ""))
        if rule.startswith(_REST_SENTENCES):  # the very words the API refuses the same value with
            return translate(rule, lang)
        field = field_word(str(detail.get("field", "")), lang)
        problem = _PROBLEMS.get(str(detail.get("rule", "")), _PROBLEMS["field.invalid"])[i]
        return f"{field}{problem}。" if lang == "ja" else f"The {field} {problem}."
    if reason == "sync.refused.forbidden":
        cause = FORBIDDEN_CAUSES.get(str(detail.get("cause", "")), _FORBIDDEN_GENERAL)[i]
        fields = detail.get("fields")
        names = _words(fields if isinstance(fields, list) else [], lang) or _UNKNOWN[i]
        return cause.format(fields=names)
    return translate(reason, lang, **detail)


def summary_tables(tables: Iterable[str], locale: str | None) -> str:
    """`連絡記録 2件、訪問予定 1件` / `contact note: 2, planned visit: 1`."""
    lang = normalise(locale)
    counts = Counter(tables)
    if lang == "ja":
        return "、".join(f"{table_word(t, lang)} {n}件" for t, n in sorted(counts.items()))
    return ", ".join(f"{table_word(t, lang)}: {n}" for t, n in sorted(counts.items()))
