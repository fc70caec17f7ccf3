"""Messages of the sync slice (Japanese default, English)."""

from domain.i18n import register

register(
    {
        "error.sync.not_json": {
            "ja": "リクエスト本文が JSON ではありません。",
            "en": "The request body is not JSON.",
        },
        "field.wellbeing": {
            "ja": "体調・暮らしの様子（wellbeing）は、短い項目名（40文字まで）20個までのオブジェクトにしてください。"
            "値は文字列（200文字まで）・数値・真偽値・null、またはそれらの配列か、それらだけを値に持つ"
            "オブジェクト（項目 20個まで）です。配列の要素には、そのようなオブジェクトも使えます。",
            "en": "wellbeing must be an object of at most 20 short keys (up to 40 characters) whose values are "
            "text (up to 200 characters), numbers, true/false or null, or a list or object (at most 20 items) "
            "of those; a list's items may also be such objects.",
        },
        "error.sync.malformed": {
            "ja": "同期データの形式が正しくありません（{where}）。",
            "en": "The sync changes are malformed ({where}).",
        },
        "error.sync.unknown_table": {
            "ja": "同期できないテーブルです: {table}",
            "en": "Unknown table: {table}",
        },
        "error.sync.unknown_column": {
            "ja": "同期できない列です: {table}.{column}",
            "en": "Unknown column: {table}.{column}",
        },
        "error.sync.bad_id": {
            "ja": "レコード ID が正しくありません（{table}）。ID は英数字と _.- の 1〜64 文字です。",
            "en": "A record id is not valid ({table}): ids are 1-64 characters of A-Z a-z 0-9 _ . -",
        },
        "error.sync.duplicate_id": {
            "ja": "同じレコード ID が 1 回の送信に複数回含まれています（{table}: {id}）。",
            "en": "The same record id appears more than once in one push ({table}: {id}).",
        },
        "error.sync.bad_cursor": {
            "ja": "last_pulled_at が正しくありません（0 以上の整数、または null）。",
            "en": "last_pulled_at must be null or a non-negative integer.",
        },
        "error.sync.bad_schema_version": {
            "ja": "schema_version {version} はこのサーバーでは扱えません（対応: {supported}）。",
            "en": "schema_version {version} is not supported here (supported: {supported}).",
        },
        "error.sync.bad_migration": {
            "ja": "migration パラメータが正しくありません（{where}）。",
            "en": "The migration parameter is malformed ({where}).",
        },
        "error.sync.no_device": {
            "ja": "同期には端末に紐づいたログインが必要です。",
            "en": "Sync needs a sign-in bound to a device.",
        },
        "error.sync.conflict": {
            "ja": "送信したデータはサーバー側で更新されています。同期をやり直してください。",
            "en": "Records you pushed changed on the server since your last pull. Sync again.",
        },
        "error.sync.busy": {
            "ja": "同じデータが同時に更新されていました。もう一度同期してください。",
            "en": "The same records were being changed at the same moment. Sync again.",
        },
        "error.sync.quarantine_resolved": {
            "ja": "この保留データはすでに処理済みです。",
            "en": "This held record has already been resolved.",
        },
        "error.sync.only_notes_apply": {
            "ja": "適用できるのは保留された連絡記録の追加・変更だけです。この記録は破棄してください。",
            "en": "Only a held contact note (new or changed) can be applied. Discard this record instead.",
        },
        "error.sync.apply_id_taken": {
            "ja": "同じ番号の別の連絡記録がすでにあるため適用できません。この記録は破棄してください。",
            "en": "Another contact note already has this id, so this one cannot be applied. Discard it instead.",
        },
        "error.sync.apply_note_deleted": {
            "ja": "この連絡記録は保留の後に削除されたため、適用すると削除した記録が戻ってしまいます。"
            "この保留データは破棄してください。",
            "en": "This contact note was deleted after it was held: applying it would bring the deleted "
            "note back. Discard this held record instead.",
        },
        "error.sync.apply_note_changed": {
            "ja": "この連絡記録は保留の後に変更されているため、適用すると新しい内容が古い内容で上書きされます。"
            "記録の今の内容を確認し、この保留データは破棄してください。",
            "en": "This contact note has changed since it was held: applying it would replace the newer "
            "text with the older. Check the note as it is now and discard this held record.",
        },
        "sync.refused.invalid": {
            "ja": "入力内容に誤りがあります。",
            "en": "A detail is not valid.",
        },
        "sync.refused.forbidden": {
            "ja": "この内容は端末からは変更できません。",
            "en": "This change cannot be made from a phone.",
        },
        "error.sync.quarantine_rate": {
            "ja": "この端末から保留された記録が多すぎます（1時間に{limit}件まで）。何も失われていません。しばらくしてから同期してください。",
            "en": "Too many records from this phone were held back (at most {limit} an hour). Nothing is lost: sync again later.",
        },
        "error.sync.too_many_records": {
            "ja": "1回の同期で送れる記録は全体で{max}件までです（{count}件）。分けて送ってください。",
            "en": "One push may carry at most {max} records in all ({count} sent). Push them in parts.",
        },
        "error.sync.too_many_in_table": {
            "ja": "1回の同期で1つの表に送れる記録は{max}件までです（{table}: {count}件）。分けて送ってください。",
            "en": "One push may carry at most {max} records per table ({table}: {count}). Push them in parts.",
        },
    }
)
