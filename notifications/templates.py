"""What a person reads on their lock screen, per kind and locale (Japanese default, English).

`render(kind, locale, **params)` returns `(title, body)`. Only the parameters below are accepted,
so that no caller can put an address, a phone number or note text into a push: a push shows on a
lock screen, and a resident's name is the most the app needs to open the right screen.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.i18n import DEFAULT_LOCALE, SUPPORTED


class MessageKind(StrEnum):
    MISSED_CONTACT = "missed_contact"  # a window closed with no contact, after the grace period
    ESCALATION = "escalation"  # an alert nobody acknowledged climbs the ladder
    URGENT_ALERT = "urgent_alert"  # emergency outcome, two no-answers in a row: through quiet hours
    REMINDER = "reminder"  # a visit this evening / this morning
    REVISIT_REQUEST = "revisit_request"  # no answer: please go again within 48 h
    RECORD_OR_SYNC_REQUEST = "record_or_sync_request"  # window closed: record or sync, please
    FALSE_ALARM = "false_alarm"  # the note arrived late; the alert resolved as recorded_late
    QUARANTINED_RECORD = "quarantined_record"  # a synced record was kept aside for a reason
    ALERT_RESOLVED = "alert_resolved"  # somebody resolved an alert you were told about
    GENERIC = "generic"  # explicit title and body


# Parameters a template may use. Anything else is refused (see module docstring).
ALLOWED_PARAMS = frozenset(
    {"resident_name", "due", "tz", "hours", "level", "count", "title", "body", "reason"}
)

LOCK_SCREEN = "lock_screen"  # Notification.data key: the push's own title and body, when they differ

# `reason` is a code from this closed list, never free text: the lock screen of an urgent alert
# says who and why, and nothing a caller could fill with an address or a note.
URGENT_REASONS: dict[str, dict[str, str]] = {
    "emergency": {"ja": "緊急の連絡記録がありました", "en": "An emergency was recorded"},
    "no_answer_twice": {"ja": "2回続けて応答がありません", "en": "No answer twice in a row"},
}

_TEMPLATES: dict[MessageKind, dict[str, tuple[str, str]]] = {
    MessageKind.MISSED_CONTACT: {
        "ja": (
            "【見守り】{resident_name}さんの連絡記録がありません",
            "予定の連絡期間（{due}まで）に記録がありません。状況を確認してください。",
        ),
        "en": (
            "No contact recorded for {resident_name}",
            "Nothing was recorded in the planned contact window (until {due}). Please check on them.",
        ),
    },
    MessageKind.ESCALATION: {
        "ja": (
            "【要対応】{resident_name}さんのアラートが未対応です",
            "アラートがまだ確認されていません（段階{level}）。確認して対応してください。",
        ),
        "en": (
            "Unhandled alert: {resident_name}",
            "Nobody has acknowledged this alert yet (level {level}). Please look at it.",
        ),
    },
    MessageKind.URGENT_ALERT: {
        "ja": ("【緊急】{resident_name}さん", "{reason}。すぐにアプリで確認してください。"),
        "en": ("URGENT: {resident_name}", "{reason}. Open the app now."),
    },
    MessageKind.REMINDER: {
        "ja": ("訪問予定：{resident_name}さん", "{due}に訪問の予定があります。"),
        "en": ("Visit planned: {resident_name}", "You have a visit planned for {due}."),
    },
    MessageKind.REVISIT_REQUEST: {
        "ja": (
            "再訪問のお願い：{resident_name}さん",
            "応答がありませんでした。{due}までにもう一度訪ねてください。",
        ),
        "en": ("Please visit again: {resident_name}", "There was no answer. Please try again before {due}."),
    },
    MessageKind.RECORD_OR_SYNC_REQUEST: {
        "ja": (
            "記録または同期のお願い",
            "{resident_name}さんへの連絡記録が届いていません。連絡済みの場合はアプリで同期してください。",
        ),
        "en": (
            "Please record or sync",
            "No contact with {resident_name} has reached us. If you were in touch, please sync the app.",
        ),
    },
    MessageKind.FALSE_ALARM: {
        "ja": (
            "誤報のお知らせ：{resident_name}さん",
            "連絡記録が遅れて届きました。アラートは解決済みです（記録の遅れ）。",
        ),
        "en": (
            "False alarm: {resident_name}",
            "The contact record arrived late. The alert is resolved (recorded late).",
        ),
    },
    MessageKind.QUARANTINED_RECORD: {
        "ja": (
            "保存できなかった記録があります",
            "同期した記録のうち{count}件を保留にしました。アプリで内容を確認してください。",
        ),
        "en": (
            "Some records were not saved",
            "{count} synced record(s) were set aside. Please check them in the app.",
        ),
    },
    MessageKind.ALERT_RESOLVED: {
        "ja": ("対応済み：{resident_name}さん", "アラートは解決されました。"),
        "en": ("Resolved: {resident_name}", "The alert has been resolved."),
    },
    MessageKind.GENERIC: {
        "ja": ("{title}", "{body}"),
        "en": ("{title}", "{body}"),
    },
}

_FALLBACK = {
    "ja": {
        "resident_name": "対象者",
        "due": "期限",
        "level": "",
        "count": "一部の",
        "hours": "",
        "reason": "緊急の対応が必要です",
    },
    "en": {
        "resident_name": "a resident",
        "due": "the deadline",
        "level": "",
        "count": "Some",
        "hours": "",
        "reason": "Immediate action is needed",
    },
}

TITLE_MAX = 200
BODY_MAX = 1000


def _format_due(value: Any, locale: str, tz: ZoneInfo | None) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(tz or ZoneInfo("Asia/Tokyo"))
        if locale == "ja":
            return f"{local.month}月{local.day}日 {local:%H:%M}"
        return local.strftime("%d %b %H:%M")
    return str(value)


def normalise_locale(locale: str | None) -> str:
    return locale if locale in SUPPORTED else DEFAULT_LOCALE


def render(kind: str, locale: str | None = None, **params: Any) -> tuple[str, str]:
    """The `(title, body)` of a message of `kind` for a reader of `locale` (ja/en; others → ja).

    `due` may be an aware datetime (shown in `tz`, an IANA name or ZoneInfo; default Asia/Tokyo).
    Raises ValueError for an unknown kind or a parameter outside `ALLOWED_PARAMS`.
    """
    refused = set(params) - ALLOWED_PARAMS
    if refused:
        raise ValueError(f"template parameters not allowed in a push: {sorted(refused)}")
    try:
        templates = _TEMPLATES[MessageKind(kind)]
    except ValueError:
        raise ValueError(f"unknown message kind {kind!r}") from None
    locale = normalise_locale(locale)
    tz = params.pop("tz", None)
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    values = {**_FALLBACK[locale], "title": "", "body": ""}
    values.update({k: v for k, v in params.items() if v is not None})
    if params.get("reason") is not None:
        if params["reason"] not in URGENT_REASONS:
            raise ValueError(f"unknown urgent reason {params['reason']!r}")
        values["reason"] = URGENT_REASONS[params["reason"]][locale]
    if "due" in params and params["due"] is not None:
        values["due"] = _format_due(params["due"], locale, zone)
    title_template, body_template = templates[locale]
    title = title_template.format(**values)[:TITLE_MAX]
    body = body_template.format(**values)[:BODY_MAX]
    return title, body


def kinds() -> list[str]:
    return [kind.value for kind in MessageKind]
