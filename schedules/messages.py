"""What people read from the schedules slice: Japanese first, English available."""

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
        # Notifications
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
