"""What the working list and the residents' pages say, in Japanese and English. Closed-list values
(risk, state, method, status, household) use the words the CSV files use (`value.*`, registered in
api/reports/csv_export.py), so a page and its export say the same thing."""

from __future__ import annotations

import api.reports.csv_export  # noqa: F401  (registers the value.* words)
from domain.i18n import register

register(
    {
        "console.nav": {"ja": "メインメニュー", "en": "Main menu"},
        "console.filter": {"ja": "絞り込む", "en": "Filter"},
        "console.filter.any": {"ja": "すべて", "en": "All"},
        "console.filter.me": {"ja": "自分", "en": "Me"},
        "console.pages": {"ja": "ページ送り", "en": "Pages"},
        "console.page_of": {
            "ja": "{page} / {pages} ページ（全{total}件）",
            "en": "Page {page} of {pages} ({total} in all)",
        },
        "console.previous": {"ja": "前のページ", "en": "Previous page"},
        "console.next": {"ja": "次のページ", "en": "Next page"},
        "console.days": {"ja": "{days}日", "en": "{days} days"},
        # working list
        "console.working_list": {"ja": "未接触リスト", "en": "Working list"},
        "console.working_list.intro": {
            "ja": "リスクごとの間隔（高 {high}日・中 {medium}日・低 {low}日）を超えて連絡が取れていない対象者です。"
            "{date} 現在、組織の暦日で数えています。",
            "en": "Residents not reached within their risk level's limit (high {high} days, medium "
            "{medium}, low {low}), counted in the organisation's calendar days as of {date}.",
        },
        "console.working_list.district": {"ja": "地区", "en": "District"},
        "console.working_list.assignee": {"ja": "担当者", "en": "Assignee"},
        "console.working_list.risk": {"ja": "リスク", "en": "Risk level"},
        "console.working_list.sort": {"ja": "並び順", "en": "Order"},
        "console.working_list.oldest_first": {
            "ja": "最後の連絡が古い順",
            "en": "Oldest last contact first",
        },
        "console.working_list.newest_first": {
            "ja": "最後の連絡が新しい順",
            "en": "Newest last contact first",
        },
        "console.working_list.caption": {
            "ja": "未接触の対象者（{total}件）",
            "en": "Residents not contacted ({total})",
        },
        "console.working_list.none": {
            "ja": "条件に合う未接触の対象者はいません。",
            "en": "No resident matches: everyone here was reached within their limit.",
        },
        "console.working_list.download": {
            "ja": "CSVでダウンロード（Excel用）",
            "en": "Download as CSV (for Excel)",
        },
        "console.working_list.resident": {"ja": "対象者", "en": "Resident"},
        "console.working_list.last_contact": {"ja": "最後の連絡", "en": "Last contact"},
        "console.working_list.days_without": {"ja": "連絡なし", "en": "Without contact"},
        "console.working_list.state": {"ja": "状況", "en": "State"},
        "console.working_list.last_sync": {
            "ja": "担当者の端末の最終同期",
            "en": "Assignee's phone last synced",
        },
        "console.contact_value": {"ja": "{time}（{method}）", "en": "{time} ({method})"},
        # residents
        "console.residents": {"ja": "対象者", "en": "Residents"},
        "console.residents.heading": {"ja": "対象者の検索", "en": "Find a resident"},
        "console.residents.q": {"ja": "氏名・ふりがな", "en": "Name or kana"},
        "console.residents.q_hint": {
            "ja": "ひらがな・カタカナ・半角カナのどれでも探せます。",
            "en": "Hiragana, katakana and half-width kana all match.",
        },
        "console.residents.search": {"ja": "検索", "en": "Search"},
        "console.residents.caption": {"ja": "対象者（{total}件）", "en": "Residents ({total})"},
        "console.residents.none": {"ja": "該当する対象者はいません。", "en": "No resident matches."},
        "console.resident.kana": {"ja": "ふりがな", "en": "Kana"},
        "console.resident.status": {"ja": "状態", "en": "Status"},
        "console.resident.risk": {"ja": "リスク", "en": "Risk level"},
        "console.resident.district": {"ja": "地区", "en": "District"},
        "console.resident.household": {"ja": "世帯", "en": "Household"},
        "console.resident.address": {"ja": "住所", "en": "Address"},
        "console.resident.phone": {"ja": "電話", "en": "Phone"},
        "console.resident.support_needs": {"ja": "支援内容", "en": "Support needs"},
        "console.resident.last_contact": {"ja": "最後の連絡", "en": "Last contact"},
        "console.resident.back": {"ja": "対象者の検索に戻る", "en": "Back to the search"},
        "console.resident.assignees": {"ja": "担当者", "en": "Assignees"},
        "console.resident.no_assignees": {"ja": "担当者はいません。", "en": "Nobody is assigned."},
        "console.resident.role.primary": {"ja": "主担当", "en": "primary"},
        "console.resident.role.backup": {"ja": "副担当", "en": "backup"},
        "console.resident.assignee_value": {"ja": "{name}（{role}）", "en": "{name} ({role})"},
        "console.resident.consent": {"ja": "同意（情報提供先ごと）", "en": "Consent per recipient"},
        "console.resident.no_consent": {"ja": "同意の記録はありません。", "en": "No consent recorded."},
        "console.resident.recipient": {"ja": "提供先", "en": "Recipient"},
        "console.resident.consent_status": {"ja": "同意", "en": "Consent"},
        "console.resident.covers": {"ja": "今日の共有", "en": "Sharing today"},
        "console.resident.covers.yes": {"ja": "可", "en": "allowed"},
        "console.resident.covers.no": {"ja": "不可", "en": "not allowed"},
        "console.resident.expires_on": {"ja": "有効期限", "en": "Expires"},
        "console.resident.emergency_contacts": {"ja": "緊急連絡先", "en": "Emergency contacts"},
        "console.resident.no_emergency_contacts": {
            "ja": "緊急連絡先は登録されていません。",
            "en": "No emergency contact is recorded.",
        },
        "console.resident.contact_value": {"ja": "{name}（{relation}）", "en": "{name} ({relation})"},
        "console.resident.visits": {"ja": "今後の訪問予定", "en": "Upcoming visits"},
        "console.resident.no_visits": {"ja": "今後の訪問予定はありません。", "en": "No visit is planned."},
        "console.resident.visit_window": {"ja": "日時", "en": "When"},
        "console.resident.visit_kind": {"ja": "種類", "en": "Kind"},
        "console.resident.notes": {"ja": "最近の連絡記録", "en": "Recent contact notes"},
        "console.resident.no_notes": {"ja": "連絡記録はありません。", "en": "No contact note yet."},
        "console.resident.note_author": {"ja": "記録者", "en": "Recorded by"},
        "console.resident.note_outcome": {"ja": "結果", "en": "Outcome"},
        "console.resident.note_body": {"ja": "内容", "en": "Note"},
        "console.resident.follow_up": {"ja": "要フォローアップ", "en": "Follow-up needed"},
        "console.resident.alerts": {"ja": "未解決のアラート", "en": "Open alerts"},
        "console.resident.no_alerts": {"ja": "未解決のアラートはありません。", "en": "No open alert."},
        "console.resident.alert_status.open": {"ja": "未対応", "en": "open"},
        "console.resident.alert_status.acknowledged": {"ja": "対応中", "en": "being handled"},
        "console.resident.to_today": {"ja": "今日の画面で対応する", "en": "Handle it on the Today page"},
        "console.recipient.district_commissioner": {"ja": "民生委員", "en": "District commissioner"},
        "console.recipient.council_staff": {"ja": "社協職員", "en": "Council staff"},
        "console.recipient.volunteers": {"ja": "ボランティア", "en": "Volunteers"},
        "console.recipient.partner_npo": {"ja": "協力NPO", "en": "Partner NPO"},
        "console.recipient.community_support_centre": {
            "ja": "地域包括支援センター",
            "en": "Community support centre",
        },
        "console.consent.given": {"ja": "同意あり", "en": "given"},
        "console.consent.withdrawn": {"ja": "撤回", "en": "withdrawn"},
        "console.consent.not_given": {"ja": "同意なし", "en": "not given"},
        "console.visit_kind.planned": {"ja": "定期訪問", "en": "planned visit"},
        "console.visit_kind.revisit": {"ja": "再訪問", "en": "revisit"},
        "console.visit_kind.safety_check": {"ja": "安否確認", "en": "safety check"},
    }
)
