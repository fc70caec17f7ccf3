"""What a person reads on their lock screen, per kind and locale (Japanese default, English).

`render(kind, locale, **params)` returns `(title, body)`. Only the parameters below are accepted,
so that no caller can put an address, a phone number or note text into a push: a push shows on a
lock screen, and a resident's name is the most the app needs to open the right screen.

The texts of the inbox messages the schedules slice writes (reminders, alerts, requests: the
`notify.*` codes of `domain.i18n`, rendered per reader by `schedules.audience`) are registered here
too: one message vocabulary for everything a person is told.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.i18n import DEFAULT_LOCALE, SUPPORTED, register


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

# The inbox messages the schedules slice writes (`domain.i18n` codes, rendered per reader by
# `schedules.audience`): their wording lives here, next to the push templates above.
register(
    {
        "notify.reminder_evening.title": {
            "ja": "明日の見守り訪問: {name}さん",
            "en": "Visit tomorrow: {name}",
        },
        "notify.reminder_morning.title": {
            "ja": "本日の見守り訪問: {name}さん",
            "en": "Visit today: {name}",
        },
        "notify.reminder.body": {
            "ja": "連絡期間: {start}〜{end}",
            "en": "Contact window: {start} – {end}",
        },
        "notify.record_or_sync.title": {
            "ja": "{name}さんの連絡記録がまだありません",
            "en": "No contact recorded yet for {name}",
        },
        "notify.record_or_sync.body": {
            "ja": "連絡期間が終了しました。連絡した場合は記録し、端末を同期してください。",
            "en": "The contact window has closed. If you made contact, record it and sync your phone.",
        },
        "notify.alert.missed_visit.title": {
            "ja": "【要確認】{name}さんへの予定連絡が確認できません",
            "en": "[Check] Planned contact with {name} not confirmed",
        },
        "notify.alert.safety_check_missed.title": {
            "ja": "【安否確認】{name}さんの安否が確認できていません",
            "en": "[Safety check] {name} has not been reached",
        },
        "notify.alert.contact_gap.title": {
            "ja": "【要確認】{name}さんへの連絡が{days}日以上ありません",
            "en": "[Check] No contact with {name} for over {days} days",
        },
        "notify.alert.no_answer_twice.title": {
            "ja": "【緊急】{name}さん 2回続けて応答なし",
            "en": "[Urgent] {name}: no answer twice in a row",
        },
        "notify.alert.emergency.title": {
            "ja": "【緊急】{name}さん 緊急の連絡記録",
            "en": "[Urgent] Emergency recorded for {name}",
        },
        "notify.alert.emergency.what": {
            "ja": "{author}さんが{at}に緊急の連絡を記録しました（{method}）。",
            "en": "{author} recorded an emergency at {at} ({method}).",
        },
        "notify.alert.no_answer_twice.what": {
            "ja": "2回続けて応答がありません。最後の試みは{at}の{method}です（記録：{author}さん）。",
            "en": "No answer twice in a row; the latest try was at {at} ({method}), recorded by {author}.",
        },
        "notify.alert.urgent.someone": {"ja": "担当者", "en": "A visitor"},
        "notify.alert.urgent.where": {"ja": "住所：{address}", "en": "Address: {address}"},
        "notify.alert.urgent.last_reached": {
            "ja": "最後に会えた・話せた連絡：{at}（{method}）",
            "en": "Last time they were reached: {at} ({method})",
        },
        "notify.alert.urgent.never_reached": {
            "ja": "会えた・話せた連絡の記録はまだありません。",
            "en": "Nobody has recorded reaching them yet.",
        },
        "notify.alert.urgent.assignee": {
            "ja": "担当：{assignee}さん（端末の最終同期：{at}）",
            "en": "Assigned: {assignee} (phone last synced {at})",
        },
        "notify.alert.urgent.assignee_never_synced": {
            "ja": "担当：{assignee}さん（端末はまだ同期していません）",
            "en": "Assigned: {assignee} (their phone has never synced)",
        },
        "notify.alert.urgent.no_assignee": {
            "ja": "担当：未定（担当を割り当ててください）",
            "en": "Assigned: nobody yet (please assign somebody)",
        },
        "notify.alert.synced_since": {
            "ja": "担当者の端末は期間終了後に同期済み（最終同期 {at}）：未連絡の可能性があります。",
            "en": "The visitor's phone synced after the window closed (last sync {at}): likely not contacted.",
        },
        "notify.alert.not_synced_since": {
            "ja": "担当者の端末は期間終了後に同期していません（最終同期 {at}）：未報告の可能性があります。",
            "en": "The visitor's phone has not synced since the window closed (last sync {at}): "
            "possibly not reported yet.",
        },
        "notify.alert.escalated.title": {
            "ja": "【未対応・{level}段階目】{name}さんのアラートが確認されていません",
            "en": "[Unacknowledged, step {level}] The alert for {name} is still open",
        },
        "notify.alert.nobody_can_visit.title": {
            "ja": "【要対応】{name}さんを訪問できる担当者がいません",
            "en": "[Action needed] Nobody who may see {name} can visit",
        },
        "notify.alert.nobody_can_visit.body": {
            "ja": "担当者が閲覧できなくなりました（同意・担当・地区の変更）。今後の訪問は担当者未定です。"
            "担当を割り当ててください。",
            "en": "The assignee may no longer see this resident (consent, assignment or district "
            "changed). Future visits have no assignee: please assign somebody.",
        },
        "notify.alert.nobody_can_visit.unassigned_body": {
            "ja": "訪問計画に担当者がいないため、予定の訪問を誰も行いません。担当者が割り当てられていないか、"
            "割り当てられた人がこの対象者を閲覧できません。担当を割り当ててください。",
            "en": "The visit plan has no assignee, so nobody will make the planned visits: nobody is "
            "assigned to this resident, or those assigned may not see them. Please assign somebody.",
        },
        "notify.alert.false_alarm.title": {
            "ja": "【解除】{name}さんの連絡記録が届きました",
            "en": "[Cleared] Contact with {name} was recorded",
        },
        "notify.alert.false_alarm.body": {
            "ja": "遅れて同期された記録により、先のアラートは誤報でした。",
            "en": "A record synced late shows the earlier alert was a false alarm.",
        },
        "notify.revisit.title": {
            "ja": "{name}さん 再訪問のお願い（{hours}時間以内）",
            "en": "Please visit {name} again (within {hours} h)",
        },
        "notify.plan_paused.title": {
            "ja": "{name}さんの見守り計画を一時停止しました（{reason}）",
            "en": "Visit plan for {name} paused ({reason})",
        },
        # The reason is the contact outcome that paused the plan (schedules.contacts.PAUSING).
        "notify.plan_paused.title.reason.refused": {
            "ja": "本人が訪問を断ったため",
            "en": "they declined visits",
        },
        "notify.plan_paused.title.reason.away": {
            "ja": "外出・入院などで不在のため",
            "en": "they are away, e.g. in hospital",
        },
        "notify.plan_paused.body": {
            "ja": "再開するには計画を「再開」してください。",
            "en": "Resume the plan when visits should start again.",
        },
        "notify.safety_check.title": {
            "ja": "【安否確認】{title}",
            "en": "[Safety check] {title}",
        },
        "notify.safety_check.body": {
            "ja": "担当の{count}名に{due}までに連絡し、記録してください。",
            "en": "Contact your {count} resident(s) by {due} and record it.",
        },
    }
)

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
