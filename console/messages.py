"""What the console's pages say, in Japanese and English (one catalogue, `domain.i18n`)."""

from __future__ import annotations

from domain.i18n import register

register(
    {
        "console.title": {"ja": "見守りコンソール", "en": "Mimamori console"},
        "console.skip": {"ja": "本文へ移動", "en": "Skip to main content"},
        "console.signed_in_as": {"ja": "{name} さん（{role}）", "en": "{name} ({role})"},
        "console.role.coordinator": {"ja": "コーディネーター", "en": "coordinator"},
        "console.role.commissioner": {"ja": "民生委員", "en": "commissioner"},
        "console.role.volunteer": {"ja": "ボランティア", "en": "volunteer"},
        "console.sign_in": {"ja": "ログイン", "en": "Sign in"},
        "console.sign_out": {"ja": "ログアウト", "en": "Sign out"},
        "console.login": {"ja": "ログインID", "en": "Login"},
        "console.password": {"ja": "パスワード", "en": "Password"},
        "console.sign_in.intro": {
            "ja": "スマートフォンのアプリと同じアカウントでログインしてください。",
            "en": "Sign in with the same account as on the phone app.",
        },
        "console.signed_out": {"ja": "ログアウトしました。", "en": "You have signed out."},
        "console.session_ended": {
            "ja": "セッションが終了しました。もう一度ログインしてください。",
            "en": "Your session has ended. Please sign in again.",
        },
        "error.console.csrf": {
            "ja": "フォームの有効期限が切れたか、別のサイトから送信されました。ページを再読み込みしてやり直してください。",
            "en": "This form has expired or was sent from another site. Reload the page and try again.",
        },
        "console.today": {"ja": "今日", "en": "Today"},
        "console.today.heading": {"ja": "今日の対応", "en": "Today"},
        "console.today.as_of": {"ja": "{time} 現在", "en": "As of {time}"},
        "console.today.open": {"ja": "未対応のアラート（{count}件）", "en": "Open alerts ({count})"},
        "console.today.acknowledged": {
            "ja": "対応中のアラート（{count}件）",
            "en": "Alerts being handled ({count})",
        },
        "console.today.none_open": {
            "ja": "未対応のアラートはありません。",
            "en": "There are no open alerts.",
        },
        "console.today.none_acknowledged": {
            "ja": "対応中のアラートはありません。",
            "en": "No alert is being handled.",
        },
        "console.today.live": {
            "ja": "新しいアラートは自動で表示されます。",
            "en": "New alerts appear here by themselves.",
        },
        "console.alert.resident": {"ja": "対象者", "en": "Resident"},
        "console.alert.cause": {"ja": "理由", "en": "Cause"},
        "console.alert.opened": {"ja": "発生", "en": "Opened"},
        "console.alert.last_contact": {"ja": "最後の連絡", "en": "Last contact"},
        "console.alert.last_contact_value": {"ja": "{time}（{outcome}）", "en": "{time} ({outcome})"},
        "console.alert.no_contact": {"ja": "記録なし", "en": "none recorded"},
        "console.alert.assignee": {"ja": "担当者", "en": "Assignee"},
        "console.alert.no_assignee": {"ja": "未割り当て", "en": "nobody assigned"},
        "console.alert.last_sync": {"ja": "担当者の端末の最終同期", "en": "Assignee's phone last synced"},
        "console.alert.never_synced": {"ja": "同期なし", "en": "never"},
        "console.alert.handling": {"ja": "対応状況", "en": "Handling"},
        "console.alert.acknowledged_by": {
            "ja": "{name} さんが {time} に対応開始",
            "en": "{name} took it on at {time}",
        },
        "console.alert.acknowledge": {"ja": "対応します", "en": "Acknowledge"},
        "console.alert.resolve": {"ja": "解決にする", "en": "Resolve"},
        "console.alert.resolution": {"ja": "解決の内容", "en": "Resolution"},
        "console.alert.note": {"ja": "メモ（任意）", "en": "Note (optional)"},
        "console.alert.acknowledged_flash": {
            "ja": "{name} さんのアラートを対応中にしました。",
            "en": "The alert about {name} is now being handled.",
        },
        "console.alert.resolved_flash": {
            "ja": "{name} さんのアラートを解決にしました。",
            "en": "The alert about {name} is resolved.",
        },
        "console.severity.urgent": {"ja": "緊急", "en": "Urgent"},
        "console.severity.high": {"ja": "高", "en": "High"},
        "console.severity.normal": {"ja": "通常", "en": "Normal"},
        "console.resolution.handled": {"ja": "対応済み", "en": "Handled"},
        "console.resolution.contact_recorded": {
            "ja": "本人と連絡が取れた",
            "en": "Someone saw the person",
        },
        "console.resolution.false_alarm": {"ja": "誤報", "en": "False alarm"},
        "console.kind.missed_visit": {
            "ja": "予定の訪問が記録されていません",
            "en": "Planned visit not recorded",
        },
        "console.kind.safety_check_missed": {
            "ja": "安否確認が未完了です",
            "en": "Safety check not completed",
        },
        "console.kind.contact_gap": {"ja": "長期間連絡がありません", "en": "No contact for too long"},
        "console.kind.no_answer_twice": {"ja": "2回続けて応答なし", "en": "No answer twice in a row"},
        "console.kind.emergency": {"ja": "緊急の記録", "en": "Emergency recorded"},
        "console.kind.nobody_can_visit": {
            "ja": "訪問できる担当者がいません",
            "en": "Nobody can visit this resident",
        },
        "console.kind.sync_quarantined": {
            "ja": "端末からの記録が保留されています",
            "en": "A record from a phone is on hold",
        },
        "console.outcome.met_well": {"ja": "会えた（元気）", "en": "met, well"},
        "console.outcome.met_concern": {"ja": "会えた（気がかりあり）", "en": "met, with a concern"},
        "console.outcome.phone_only": {"ja": "電話のみ", "en": "phone only"},
        "console.outcome.no_answer": {"ja": "応答なし", "en": "no answer"},
        "console.outcome.refused": {"ja": "拒否", "en": "refused"},
        "console.outcome.away": {"ja": "不在（外出・入院等）", "en": "away"},
        "console.outcome.emergency": {"ja": "緊急", "en": "emergency"},
        "console.volunteer.heading": {
            "ja": "スマートフォンのアプリをお使いください",
            "en": "Please use the phone app",
        },
        "console.volunteer.body": {
            "ja": "ボランティアの方の訪問予定と記録は、スマートフォンの見守りアプリで確認できます。"
            "このコンソールはコーディネーターと民生委員のための画面です。",
            "en": "Volunteers find their visits and record contacts in the Mimamori phone app. "
            "This console is for coordinators and commissioners.",
        },
        "console.error.heading": {"ja": "エラー", "en": "Error"},
        "console.error.back": {"ja": "今日の画面に戻る", "en": "Back to Today"},
        "console.api_docs": {"ja": "API仕様", "en": "API reference"},
    }
)
