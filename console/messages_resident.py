"""What a resident's page says beyond its read-only parts: timeline, watchers, consent history, the
plan editor and the office contact form (Japanese and English)."""

from __future__ import annotations

from domain.enums import SUPPORT_FIELD_LABELS, SUPPORT_TOPIC_LABELS
from domain.i18n import register

# The activity record's words for a consultation's field and topic, from the one table in
# domain.enums, so the timeline says what the record counts.
register(
    {
        f"console.support_{kind}.{code}": {"ja": ja, "en": en}
        for kind, labels in (("field", SUPPORT_FIELD_LABELS), ("topic", SUPPORT_TOPIC_LABELS))
        for code, (ja, en) in labels.items()
    }
)

register(
    {
        "console.resident.timeline": {"ja": "経過（連絡記録と訪問）", "en": "Timeline (notes and visits)"},
        "console.resident.no_timeline": {"ja": "記録はまだありません。", "en": "Nothing recorded yet."},
        "console.resident.more": {"ja": "さらに表示", "en": "Show more"},
        "console.resident.restricted": {"ja": "限定公開", "en": "restricted"},
        "console.resident.support": {"ja": "相談・支援", "en": "Consultation"},
        "console.resident.warning_signs": {"ja": "気になるサイン", "en": "Warning signs"},
        "console.resident.referral": {"ja": "つなぎ先", "en": "Referred to"},
        "console.resident.wellbeing": {"ja": "体調・暮らしの様子", "en": "Wellbeing"},
        "console.visit_status.planned": {"ja": "予定", "en": "planned"},
        "console.visit_status.done": {"ja": "実施済み", "en": "done"},
        "console.visit_status.missed": {"ja": "未実施", "en": "missed"},
        "console.visit_status.cancelled": {"ja": "取消", "en": "cancelled"},
        "console.resident.late": {"ja": "期限後に記録", "en": "recorded late"},
        "console.resident.watchers": {"ja": "見守り担当", "en": "Watchers"},
        "console.resident.watcher": {"ja": "氏名", "en": "Name"},
        "console.resident.user_role": {"ja": "立場", "en": "Role"},
        "console.resident.assignment_role": {"ja": "担当", "en": "Assignment"},
        "console.resident.since": {"ja": "開始", "en": "Since"},
        "console.resident.phone_sync": {"ja": "端末の最終同期", "en": "Phone last synced"},
        "console.resident.past_assignments": {
            "ja": "過去の担当（{count}件）",
            "en": "Past assignments ({count})",
        },
        "console.resident.ended_value": {
            "ja": "{name}（{role}）{start}〜{end}",
            "en": "{name} ({role}) {start} – {end}",
        },
        "console.resident.consent_history": {"ja": "同意の変更履歴", "en": "Consent history"},
        "console.resident.no_consent_history": {
            "ja": "変更の記録はありません。",
            "en": "No change recorded.",
        },
        "console.resident.changed_at": {"ja": "日時", "en": "When"},
        "console.resident.change": {"ja": "変更", "en": "Change"},
        "console.resident.changed_fields": {"ja": "項目", "en": "Fields"},
        "console.resident.changed_by": {"ja": "記録者", "en": "Recorded by"},
        "console.consent_change.create": {"ja": "登録", "en": "recorded"},
        "console.consent_change.update": {"ja": "変更", "en": "changed"},
        "console.consent_change.withdraw": {"ja": "撤回", "en": "withdrawn"},
        "console.resident.plans": {"ja": "訪問計画", "en": "Visit plans"},
        "console.resident.no_plans": {"ja": "訪問計画はありません。", "en": "No visit plan."},
        "console.plan.status.active": {"ja": "実施中", "en": "active"},
        "console.plan.status.paused": {"ja": "一時停止", "en": "paused"},
        "console.plan.status.ended": {"ja": "終了", "en": "ended"},
        "console.plan.period": {"ja": "{start}から", "en": "from {start}"},
        "console.plan.period_until": {"ja": "{start}〜{end}", "en": "{start} – {end}"},
        "console.plan.new": {"ja": "新しい訪問計画", "en": "New visit plan"},
        "console.plan.edit": {"ja": "この計画を変更", "en": "Change this plan"},
        "console.plan.end": {"ja": "この計画を終了", "en": "End this plan"},
        "console.plan.shape": {"ja": "繰り返し", "en": "Repeats"},
        "console.plan.shape.weekly": {
            "ja": "曜日ごと（毎週・数週ごと）",
            "en": "On weekdays (every week or every few weeks)",
        },
        "console.plan.shape.monthly": {"ja": "毎月 第n曜日", "en": "Monthly, on the n-th weekday"},
        "console.plan.weekdays": {"ja": "曜日", "en": "Weekdays"},
        "console.plan.interval": {"ja": "何週ごと", "en": "Every how many weeks"},
        "console.plan.nth": {"ja": "第何週（毎月）", "en": "Which week (monthly)"},
        "console.plan.nth.-1": {"ja": "最終", "en": "last"},
        "console.plan.nth.1": {"ja": "第1", "en": "1st"},
        "console.plan.nth.2": {"ja": "第2", "en": "2nd"},
        "console.plan.nth.3": {"ja": "第3", "en": "3rd"},
        "console.plan.nth.4": {"ja": "第4", "en": "4th"},
        "console.weekday.MO": {"ja": "月曜", "en": "Monday"},
        "console.weekday.TU": {"ja": "火曜", "en": "Tuesday"},
        "console.weekday.WE": {"ja": "水曜", "en": "Wednesday"},
        "console.weekday.TH": {"ja": "木曜", "en": "Thursday"},
        "console.weekday.FR": {"ja": "金曜", "en": "Friday"},
        "console.weekday.SA": {"ja": "土曜", "en": "Saturday"},
        "console.weekday.SU": {"ja": "日曜", "en": "Sunday"},
        "console.plan.weekday": {"ja": "曜日（毎月）", "en": "Weekday (monthly)"},
        "console.plan.window_start": {"ja": "訪問時間（から）", "en": "Visit time from"},
        "console.plan.window_end": {"ja": "訪問時間（まで）", "en": "Visit time to"},
        "console.plan.starts_on": {"ja": "開始日", "en": "Start date"},
        "console.plan.holiday_rule": {"ja": "祝日・休業日", "en": "Public holidays and closures"},
        "console.plan.holiday.shift": {"ja": "翌営業日に振り替える", "en": "move to the next working day"},
        "console.plan.holiday.skip": {"ja": "その回は休み", "en": "skip that visit"},
        "console.plan.holiday.none": {"ja": "そのまま訪問", "en": "visit anyway"},
        "console.plan.preview": {"ja": "次の訪問を確認", "en": "Preview the next visits"},
        "console.plan.rule": {"ja": "ルール", "en": "Rule"},
        "console.plan.next_visits": {"ja": "次の訪問（{zone}）", "en": "Next visits ({zone})"},
        "console.plan.shifted": {"ja": "祝日のため振替", "en": "moved: holiday"},
        "console.plan.preview_hint": {
            "ja": "入力を変えると、ルールと次の訪問日がここに表示されます。",
            "en": "As you change the form, the rule and the next visit dates appear here.",
        },
        "console.plan.current_rule": {"ja": "現在のルール: {rule}", "en": "Current rule: {rule}"},
        "console.plan.save": {"ja": "計画を保存", "en": "Save the plan"},
        "console.cadence.weekdays_required": {
            "ja": "曜日を1つ以上選んでください。",
            "en": "Choose at least one weekday.",
        },
        "console.plan.field.weekdays": {"ja": "曜日", "en": "Weekdays"},
        "console.plan.field.interval": {"ja": "何週ごと", "en": "Every how many weeks"},
        "console.plan.field.window_start": {"ja": "訪問時間（から）", "en": "Visit time from"},
        "console.plan.field.window_end": {"ja": "訪問時間（まで）", "en": "Visit time to"},
        "console.plan.field.starts_on": {"ja": "開始日", "en": "Start date"},
        "console.plan.field.rrule": {"ja": "ルール", "en": "Rule"},
        "console.resident.plan_saved": {"ja": "訪問計画を保存しました。", "en": "The visit plan is saved."},
        "console.resident.plan_ended": {"ja": "訪問計画を終了しました。", "en": "The visit plan has ended."},
        "console.resident.record_contact": {"ja": "事務所での連絡を記録", "en": "Record an office contact"},
        "console.contact.method": {"ja": "方法", "en": "Method"},
        "console.contact.outcome": {"ja": "結果", "en": "Outcome"},
        "console.contact.occurred_at": {"ja": "日時", "en": "Date and time"},
        "console.contact.body": {"ja": "内容", "en": "Note"},
        "console.contact.visibility": {"ja": "公開範囲", "en": "Who may read it"},
        "console.contact.visibility.team": {"ja": "担当チーム", "en": "the team"},
        "console.contact.visibility.restricted": {
            "ja": "限定（記録者・地区の民生委員・コーディネーター）",
            "en": "restricted (author, district commissioners, coordinators)",
        },
        "console.contact.follow_up": {"ja": "フォローアップが必要", "en": "Follow-up needed"},
        "console.contact.save": {"ja": "記録する", "en": "Record"},
        "console.resident.note_recorded": {"ja": "連絡を記録しました。", "en": "The contact is recorded."},
    }
)
