"""What the schedules API answers when a plan, a visit query or a campaign is refused: Japanese
first, English available. The messages people receive (reminders, alerts, requests) are in
`notifications.templates`, the one message vocabulary."""

from __future__ import annotations

from domain.i18n import register

register(
    {
        # Validation of plans
        "rrule.empty": {"ja": "繰り返し規則が空です。", "en": "The recurrence rule is empty."},
        "rrule.single_line": {
            "ja": "繰り返し規則は1行のRRULEで指定してください。",
            "en": "Give the recurrence as a single RRULE line.",
        },
        "rrule.malformed_part": {
            "ja": "繰り返し規則の「{part}」は「名前=値」の形ではありません。",
            "en": "Recurrence part '{part}' is not of the form NAME=VALUE.",
        },
        "rrule.unknown_part": {
            "ja": "繰り返し規則の「{part}」は使用できません。",
            "en": "Recurrence part {part} is not supported.",
        },
        "rrule.use_plan_dates": {
            "ja": "{part} は使わず、計画の開始日・終了日（starts_on / ends_on）で指定してください。",
            "en": "Do not put {part} in the rule: use the plan's starts_on / ends_on.",
        },
        "rrule.repeated_part": {
            "ja": "繰り返し規則に「{part}」が2回あります。",
            "en": "Recurrence part {part} appears twice.",
        },
        "rrule.freq_required": {
            "ja": "繰り返し規則に FREQ（頻度）がありません。",
            "en": "The recurrence rule needs FREQ.",
        },
        "rrule.freq_not_allowed": {
            "ja": "「{part}」は使用できません。選択肢: {choices}",
            "en": "{part} is not allowed. Choices: {choices}",
        },
        "rrule.invalid_part": {
            "ja": "繰り返し規則の「{part}」が正しくありません。",
            "en": "Recurrence part {part} is not valid.",
        },
        "rrule.invalid": {
            "ja": "繰り返し規則が正しくありません。",
            "en": "The recurrence rule is not valid.",
        },
        "rrule.too_long": {
            "ja": "繰り返し規則が長すぎます（{max}文字以内）。",
            "en": "The recurrence rule is too long (at most {max} characters).",
        },
        "rrule.list_too_long": {
            "ja": "繰り返し規則の {part} の値が多すぎます（{max}個以内）。",
            "en": "Recurrence part {part} lists too many values (at most {max}).",
        },
        "rrule.repeated_value": {
            "ja": "繰り返し規則の {part} に同じ値が2回あります。",
            "en": "Recurrence part {part} repeats a value.",
        },
        "rrule.interval_too_large": {
            "ja": "「{part}」は大きすぎます（この頻度では{max}以内）。",
            "en": "{part} is too large (at most {max} for this frequency).",
        },
        "rrule.setpos_daily": {
            "ja": "FREQ=DAILY では BYSETPOS は使えません（1日の中に選ぶ日はありません）。",
            "en": "BYSETPOS cannot be used with FREQ=DAILY (a daily set holds only one day).",
        },
        "rrule.too_expensive": {
            "ja": "この繰り返し規則は計算に時間がかかりすぎるため受け付けられません。規則を簡単にしてください。",
            "en": "This recurrence rule takes too long to compute; please simplify it.",
        },
        "rrule.no_occurrences": {
            "ja": "この規則と期間では訪問日が1日もありません。",
            "en": "This rule and date range produce no visit at all.",
        },
        "window.days_range": {
            "ja": "連絡期間は1日以上{max}日以内にしてください。",
            "en": "The contact window must last 1 to {max} days.",
        },
        "window.end_before_start": {
            "ja": "連絡期間の終了時刻は開始時刻より後にしてください。",
            "en": "The window must end after it starts.",
        },
        "plan.ends_before_start": {
            "ja": "終了日は開始日以降にしてください。",
            "en": "The end date must not be before the start date.",
        },
        "plan.assignee_unknown": {
            "ja": "担当者が見つからないか、無効なアカウントです。",
            "en": "The assignee does not exist or is not active.",
        },
        "plan.not_active": {"ja": "この計画は有効ではありません。", "en": "This plan is not active."},
        "plan.not_paused": {"ja": "この計画は一時停止中ではありません。", "en": "This plan is not paused."},
        "plan.ended": {"ja": "この計画は終了しています。", "en": "This plan has ended."},
        "visits.range_too_long": {
            "ja": "期間は{max}日以内で指定してください。",
            "en": "The period may be at most {max} days.",
        },
        "visits.range_reversed": {
            "ja": "開始は終了より前にしてください。",
            "en": "'from' must be before 'to'.",
        },
        "campaign.no_districts": {
            "ja": "対象地区を1つ以上選んでください。",
            "en": "Choose at least one district.",
        },
        "campaign.unknown_district": {
            "ja": "地区が見つかりません。",
            "en": "A district does not exist.",
        },
    }
)
