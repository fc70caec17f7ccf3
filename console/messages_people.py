"""What the people-and-phones, quarantine and audit-log pages say, in Japanese and English."""

from __future__ import annotations

from domain.i18n import register

register(
    {
        # people and phones
        "console.people": {"ja": "利用者・端末", "en": "People & phones"},
        "console.people.add": {"ja": "利用者を追加", "en": "Add a person"},
        "console.people.create": {
            "ja": "追加して利用開始コードを発行",
            "en": "Add and issue an activation code",
        },
        "console.people.field.display_name": {"ja": "氏名", "en": "Name"},
        "console.people.field.login": {"ja": "ログインID", "en": "Login"},
        "console.people.field.role": {"ja": "役割", "en": "Role"},
        "console.people.field.locale": {"ja": "表示言語", "en": "Language"},
        "console.people.field.district_ids": {"ja": "担当地区", "en": "Districts"},
        "console.people.login_hint": {
            "ja": "半角英数字と _ . @ - で3〜100文字。",
            "en": "3 to 100 letters, digits, _ . @ -",
        },
        "console.people.code_heading_new": {
            "ja": "{name} さんを追加しました。利用開始コード:",
            "en": "{name} has been added. Activation code:",
        },
        "console.people.code_heading": {
            "ja": "{name} さんの新しい利用開始コード:",
            "en": "New activation code for {name}:",
        },
        "console.people.code_once": {
            "ja": "このコードはこの画面に一度だけ表示されます。本人に直接渡してください（有効期限 {time}）。"
            "以前のコードとパスワードは使えなくなりました。",
            "en": "This code is shown only this once: hand it to the person yourself (valid until "
            "{time}). Any earlier code or password no longer works.",
        },
        "console.people.code_once_new": {
            "ja": "このコードはこの画面に一度だけ表示されます。本人に直接渡してください（有効期限 {time}）。"
            "本人がアプリでこのコードを入力し、パスワードを決めます。",
            "en": "This code is shown only this once: hand it to the person yourself (valid until "
            "{time}). They enter it in the app and choose a password.",
        },
        "console.people.search": {"ja": "利用者を検索", "en": "Search people"},
        "console.people.q": {"ja": "氏名・ログインID", "en": "Name or login"},
        "console.people.count": {"ja": "利用者（{total}人）", "en": "People ({total})"},
        "console.people.nobody": {"ja": "該当する利用者はいません。", "en": "Nobody matches."},
        "console.people.none": {"ja": "なし", "en": "none"},
        "console.people.state": {"ja": "状態", "en": "State"},
        "console.people.active": {"ja": "利用中", "en": "Active"},
        "console.people.inactive": {"ja": "無効", "en": "Deactivated"},
        "console.people.not_activated": {
            "ja": "利用開始前（コードの期限 {time}）",
            "en": "Not activated yet (code valid until {time})",
        },
        "console.people.no_code": {"ja": "利用開始前（コードなし）", "en": "Not activated (no code)"},
        "console.people.slowed": {
            "ja": "ログイン失敗が続いたため制限中",
            "en": "Slowed after failed sign-ins",
        },
        "console.people.last_sign_in": {"ja": "最終ログイン", "en": "Last sign-in"},
        "console.people.never": {"ja": "なし", "en": "never"},
        "console.people.assignments": {"ja": "担当中の対象者", "en": "Residents assigned"},
        "console.people.devices": {"ja": "端末", "en": "Phones"},
        "console.people.no_devices": {"ja": "登録された端末はありません。", "en": "No phone registered."},
        "console.people.last_sync": {"ja": "最終同期", "en": "last synced"},
        "console.people.revoked_at": {"ja": "{time} に停止済み", "en": "cut off at {time}"},
        "console.people.revoke": {"ja": "端末を停止", "en": "Cut off this phone"},
        "console.people.revoke_explain": {
            "ja": "紛失した端末などを停止します。この端末はすぐに使えなくなり、次の通信で端末内のデータが消去されます。",
            "en": "For a lost phone: it stops working at once and wipes its data at its next request.",
        },
        "console.people.revoke_confirm": {"ja": "停止する", "en": "Cut it off"},
        "console.people.unlock": {"ja": "ログイン制限を解除", "en": "Unlock sign-in"},
        "console.people.reissue": {"ja": "利用開始コードを再発行", "en": "Reissue activation code"},
        "console.people.reissue_explain": {
            "ja": "パスワードを忘れた場合などに使います。今のパスワードと以前のコードは使えなくなり、ログイン中の端末もログアウトします。",
            "en": "For a forgotten password: the current password and any earlier code stop working "
            "and the person is signed out everywhere.",
        },
        "console.people.reissue_confirm": {"ja": "再発行する", "en": "Reissue"},
        "console.people.deactivate": {"ja": "無効にする", "en": "Deactivate"},
        "console.people.deactivate_explain": {
            "ja": "この人はログインできなくなり、端末はすべて停止されます。担当中の対象者がいる場合は先に引き継いでください。",
            "en": "The person can no longer sign in and all their phones are cut off. Hand their "
            "residents over first.",
        },
        "console.people.deactivate_confirm": {"ja": "無効にする", "en": "Deactivate"},
        "console.people.unlocked": {
            "ja": "{name} さんのログイン制限を解除しました。",
            "en": "{name} may sign in again at once.",
        },
        "console.people.not_slowed": {
            "ja": "{name} さんのログインは制限されていません（解除済み）。",
            "en": "{name} is not being slowed (already unlocked).",
        },
        "console.people.deactivated": {
            "ja": "{name} さんを無効にしました。",
            "en": "{name} has been deactivated.",
        },
        "console.people.revoked": {
            "ja": "{name} さんの端末を停止しました。",
            "en": "{name}'s phone has been cut off.",
        },
        # quarantine
        "console.quarantine": {"ja": "保留データ", "en": "Quarantine"},
        "console.quarantine.intro": {
            "ja": "端末から届いたものの、そのままでは保存できなかった記録です。送られた内容はすべて保管されています。"
            "確認して、そのまま（または修正して）反映するか、理由を添えて破棄してください。",
            "en": "Records a phone sent that could not be saved as they were. Everything sent is "
            "kept. Review each one: apply it as sent or corrected, or discard it with a reason.",
        },
        "console.quarantine.status": {"ja": "表示", "en": "Show"},
        "console.quarantine.status.open": {"ja": "未処理", "en": "Waiting"},
        "console.quarantine.status.applied": {"ja": "反映済み", "en": "Applied"},
        "console.quarantine.status.discarded": {"ja": "破棄済み", "en": "Discarded"},
        "console.quarantine.count": {"ja": "保留データ（{total}件）", "en": "Held records ({total})"},
        "console.quarantine.none": {"ja": "保留データはありません。", "en": "Nothing is held."},
        "console.quarantine.why": {"ja": "保留の理由", "en": "Why it was held"},
        "console.quarantine.from": {"ja": "送信者・端末", "en": "Sent by, from"},
        "console.quarantine.received": {"ja": "受信日時", "en": "Received"},
        "console.quarantine.sent": {"ja": "送られた内容", "en": "What was sent"},
        "console.quarantine.operation.created": {"ja": "新規", "en": "new"},
        "console.quarantine.operation.updated": {"ja": "変更", "en": "change"},
        "console.quarantine.operation.deleted": {"ja": "削除", "en": "deletion"},
        "console.quarantine.apply_as_sent": {"ja": "送られた内容のまま反映", "en": "Apply as sent"},
        "console.quarantine.correct": {"ja": "修正して反映", "en": "Correct and apply"},
        "console.quarantine.apply_corrected": {"ja": "修正した内容で反映", "en": "Apply with corrections"},
        "console.quarantine.discard": {"ja": "破棄", "en": "Discard"},
        "console.quarantine.discard_reason": {"ja": "破棄の理由", "en": "Reason for discarding"},
        "console.quarantine.discard_confirm": {"ja": "破棄する", "en": "Discard it"},
        "console.quarantine.not_a_note": {
            "ja": "連絡記録以外は反映できません。内容を確認のうえ破棄してください。",
            "en": "Only contact notes can be applied; review it and discard it.",
        },
        "console.quarantine.resolved_by": {"ja": "{name} さんが {time} に処理", "en": "{name}, {time}"},
        "console.quarantine.applied_flash": {
            "ja": "保留データを反映しました。",
            "en": "The held record has been applied.",
        },
        "console.quarantine.discarded_flash": {
            "ja": "保留データを破棄しました。",
            "en": "The held record has been discarded.",
        },
        "console.quarantine.unknown_device": {"ja": "不明な端末", "en": "unknown phone"},
        "console.quarantine.occurred_at_hint": {
            "ja": "組織のタイムゾーン（{zone}）の日時",
            "en": "Date and time in the organisation's zone ({zone})",
        },
        "console.quarantine.unreadable": {
            "ja": "（読み取れない値: {value}）",
            "en": "(unreadable value: {value})",
        },
        "console.quarantine.resident": {"ja": "対象者", "en": "Resident"},
        "console.quarantine.field.method": {"ja": "連絡方法", "en": "Contact method"},
        "console.quarantine.field.outcome": {"ja": "連絡の結果", "en": "Outcome"},
        "console.quarantine.field.visibility": {"ja": "共有範囲", "en": "Who may read it"},
        "console.quarantine.field.occurred_at": {"ja": "連絡した日時", "en": "Time of contact"},
        "console.quarantine.field.body": {"ja": "記録の本文", "en": "Note text"},
        "console.quarantine.field.follow_up_needed": {"ja": "要フォロー", "en": "Follow-up needed"},
        "console.quarantine.visibility.team": {"ja": "チーム内で共有", "en": "the team"},
        "console.quarantine.visibility.restricted": {
            "ja": "限定（記録者・担当民生委員・コーディネーター）",
            "en": "restricted (author, commissioner, coordinators)",
        },
        "field.reason_required": {"ja": "理由を入力してください。", "en": "Please give a reason."},
        # audit log
        "console.audit": {"ja": "監査ログ", "en": "Audit log"},
        "console.audit.intro": {
            "ja": "誰がいつ、どの個人情報を閲覧・変更したかの記録です（項目名とIDのみで、値は記録されません）。"
            "日付は組織のタイムゾーン（{zone}）です。",
            "en": "Who read or changed which personal data, and when (field names and ids only, "
            "never values). Dates are in the organisation's zone ({zone}).",
        },
        "console.audit.entity": {"ja": "対象の種類", "en": "Entity"},
        "console.audit.actor": {"ja": "操作した人", "en": "Actor"},
        "console.audit.action": {"ja": "操作", "en": "Action"},
        "console.audit.from": {"ja": "開始日", "en": "From"},
        "console.audit.to": {"ja": "終了日（この日を含む）", "en": "To (inclusive)"},
        "console.audit.at": {"ja": "日時", "en": "When"},
        "console.audit.device": {"ja": "端末", "en": "Phone"},
        "console.audit.entity_id": {"ja": "ID", "en": "Id"},
        "console.audit.detail": {"ja": "詳細", "en": "Detail"},
        "console.audit.caption": {"ja": "監査ログ（{total}件）", "en": "Audit events ({total})"},
        "console.audit.none": {"ja": "該当する記録はありません。", "en": "No event matches."},
        "console.audit.deleted_actor": {"ja": "（不明）", "en": "(unknown)"},
        "console.audit.entity.alert": {"ja": "アラート", "en": "alert"},
        "console.audit.entity.assignment": {"ja": "担当", "en": "assignment"},
        "console.audit.entity.consent": {"ja": "同意", "en": "consent"},
        "console.audit.entity.device": {"ja": "端末", "en": "phone"},
        "console.audit.entity.district": {"ja": "地区", "en": "district"},
        "console.audit.entity.emergency_contact": {"ja": "緊急連絡先", "en": "emergency contact"},
        "console.audit.entity.legal_basis": {"ja": "法的根拠", "en": "legal basis"},
        "console.audit.entity.notification": {"ja": "お知らせ", "en": "notification"},
        "console.audit.entity.org_rules": {"ja": "組織のルール", "en": "organisation rules"},
        "console.audit.entity.organisation": {"ja": "組織", "en": "organisation"},
        "console.audit.entity.published_statistics": {"ja": "公表した統計", "en": "published statistics"},
        "console.audit.entity.resident": {"ja": "対象者", "en": "resident"},
        "console.audit.entity.safety_check": {"ja": "安否確認", "en": "safety check"},
        "console.audit.entity.sync": {"ja": "同期", "en": "sync"},
        "console.audit.entity.sync_quarantine": {"ja": "保留データ", "en": "held record"},
        "console.audit.entity.user": {"ja": "利用者", "en": "user"},
        "console.audit.entity.visit_plan": {"ja": "訪問計画", "en": "visit plan"},
    }
)
