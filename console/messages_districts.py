"""What the districts and safety-check pages say, in Japanese and English."""

from __future__ import annotations

from domain.i18n import register

register(
    {
        "console.districts": {"ja": "地区", "en": "Districts"},
        "console.districts.intro": {
            "ja": "{first}〜{last} の地区ごとの見守り状況です。人数だけで、対象者の名前は出しません。",
            "en": "How each district was watched over from {first} to {last}: counts only, nobody named.",
        },
        "console.districts.period": {"ja": "期間と地区", "en": "Period and district"},
        "console.districts.from": {"ja": "開始日", "en": "From"},
        "console.districts.to": {"ja": "終了日", "en": "To"},
        "console.districts.show": {"ja": "表示", "en": "Show"},
        "console.districts.coverage": {"ja": "連絡できた割合", "en": "Share of residents reached"},
        "console.districts.summary": {"ja": "地区ごとの集計", "en": "Figures per district"},
        "console.districts.active": {"ja": "見守り中の対象者", "en": "Residents watched"},
        "console.districts.reached": {"ja": "期間中に連絡できた人", "en": "Reached in the period"},
        "console.districts.reached_value": {
            "ja": "{count}人（{share}%）",
            "en": "{count} ({share}%)",
        },
        "console.districts.people": {"ja": "{count}人", "en": "{count}"},
        "console.districts.no_plan": {"ja": "訪問計画のない人", "en": "With no visit plan"},
        "console.districts.no_consent": {
            "ja": "同意がなく訪問できない人",
            "en": "Nobody may visit (no consent)",
        },
        "console.districts.alerts": {"ja": "アラート", "en": "Alerts"},
        "console.districts.commissioners": {"ja": "民生委員", "en": "Commissioners"},
        "console.districts.none": {"ja": "いません", "en": "none"},
        "console.districts.without_commissioner": {
            "ja": "民生委員のいない地区（{count}）",
            "en": "Districts without a commissioner ({count})",
        },
        "console.districts.trend": {"ja": "週ごとの推移", "en": "Weekly trend"},
        "console.districts.trend_choose": {
            "ja": "地区が多いため、全地区の合計を表示しています。地区ごとの推移は地区を選んでください。",
            "en": "Many districts: the trend is summed over all of them. Choose a district for its own.",
        },
        "console.districts.caseload": {
            "ja": "{name}の担当者ごとの受け持ち",
            "en": "Caseloads in {name}",
        },
        "console.districts.person": {"ja": "担当者", "en": "Person"},
        "console.districts.role": {"ja": "役割", "en": "Role"},
        "console.districts.primary": {"ja": "主担当", "en": "Primary"},
        "console.districts.backup": {"ja": "副担当", "en": "Backup"},
        "console.districts.no_caseload": {
            "ja": "担当している人はいません。",
            "en": "Nobody is assigned here.",
        },
        "console.districts.empty": {"ja": "表示できる地区がありません。", "en": "No district to show."},
        # Safety checks (安否確認)
        "console.safety": {"ja": "安否確認", "en": "Safety checks"},
        "console.safety.intro": {
            "ja": "災害のあとなどに、選んだ地区の対象者全員へすぐ連絡を求めます。進み具合は自動で更新されます。",
            "en": "After a disaster, ask for contact with every resident of the chosen districts now. "
            "Progress updates by itself.",
        },
        "console.safety.start": {"ja": "安否確認を始める", "en": "Start a safety check"},
        "console.safety.title": {"ja": "件名", "en": "Title"},
        "console.safety.title_hint": {"ja": "例：11月の地震", "en": "e.g. November earthquake"},
        "console.safety.districts": {"ja": "対象の地区", "en": "Districts"},
        "console.safety.hours": {"ja": "期限（時間）", "en": "Deadline (hours)"},
        "console.safety.hours_hint": {
            "ja": "空欄なら組織の設定（{hours}時間）",
            "en": "Empty: the organisation's setting ({hours} hours)",
        },
        "console.safety.running": {"ja": "実施中の安否確認（{count}件）", "en": "Running ({count})"},
        "console.safety.closed_list": {"ja": "終了した安否確認（{count}件）", "en": "Closed ({count})"},
        "console.safety.none_running": {
            "ja": "実施中の安否確認はありません。",
            "en": "No safety check is running.",
        },
        "console.safety.started_at": {"ja": "開始", "en": "Started"},
        "console.safety.due_at": {"ja": "期限", "en": "Due"},
        "console.safety.closed_at": {"ja": "終了", "en": "Closed"},
        "console.safety.progress": {"ja": "{title}の進み具合", "en": "Progress of {title}"},
        "console.safety.district": {"ja": "地区", "en": "District"},
        "console.safety.total": {"ja": "対象者", "en": "Residents"},
        "console.safety.done": {"ja": "連絡済み", "en": "Done"},
        "console.safety.remaining": {"ja": "残り", "en": "Remaining"},
        "console.safety.all": {"ja": "合計", "en": "Total"},
        "console.safety.updated": {"ja": "{time} 更新", "en": "Updated {time}"},
        "console.safety.close": {"ja": "締め切る", "en": "Close"},
        "console.safety.tally": {
            "ja": "最終集計：無事 {confirmed_safe}人、要支援 {needs_help}人、連絡つかず {unreachable}人、未確認 {not_checked}人",
            "en": "Final tally: safe {confirmed_safe}, needs help {needs_help}, unreachable "
            "{unreachable}, not checked {not_checked}",
        },
        "console.safety.started_flash": {
            "ja": "安否確認を始めました。",
            "en": "The safety check has started.",
        },
        "console.safety.closed_flash": {
            "ja": "安否確認を締め切りました。",
            "en": "The safety check is closed.",
        },
        "console.safety.follow_only": {
            "ja": "安否確認を始めたり締め切ったりできるのはコーディネーターです。",
            "en": "Coordinators start and close safety checks.",
        },
    }
)
