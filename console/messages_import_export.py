"""What the import and export page says (ja/en)."""

from __future__ import annotations

from domain.i18n import register

register(
    {
        "console.import_export": {"ja": "取込・出力", "en": "Import & export"},
        "console.import.heading": {"ja": "住民名簿の取込（CSV）", "en": "Import residents (CSV)"},
        "console.import.intro": {
            "ja": "まずファイルを確認します（まだ登録しません）。問題がなければ「取り込む」で登録します。"
            "UTF-8・Shift_JIS（CP932）どちらのCSVでも読み込めます。",
            "en": "The file is checked first (nothing is registered yet). If it is fine, “Import” "
            "registers it. CSV in UTF-8 or Shift_JIS (CP932).",
        },
        "console.import.file": {"ja": "CSVファイル", "en": "CSV file"},
        "console.import.check": {"ja": "確認する", "en": "Check the file"},
        "console.import.no_file": {"ja": "CSVファイルを選んでください。", "en": "Choose a CSV file."},
        "console.import.report": {"ja": "確認結果", "en": "Check result"},
        "console.import.summary": {
            "ja": "{rows}行中 {valid}行を登録できます。",
            "en": "{valid} of {rows} rows can be registered.",
        },
        "console.import.errors": {
            "ja": "問題のある行（{count}件）— 直してからもう一度確認してください。何も登録していません。",
            "en": "Lines with problems ({count}) — fix them and check again. Nothing was registered.",
        },
        "console.import.errors_first": {
            "ja": "最初の{shown}件を表示しています。",
            "en": "The first {shown} are listed.",
        },
        "console.import.too_large_to_confirm": {
            "ja": "問題はありませんが、このファイルはコンソールから取り込むには大きすぎます。"
            "ファイルを分けて取り込むか、サーバーで mimamori import-residents を使ってください。",
            "en": "No problems, but this file is too large to import from the console. Import it in "
            "parts, or use mimamori import-residents on the server.",
        },
        "console.import.errors_caption": {"ja": "問題のある行", "en": "Lines with problems"},
        "console.import.line": {"ja": "行", "en": "Line"},
        "console.import.column": {"ja": "列", "en": "Column"},
        "console.import.reason": {"ja": "理由", "en": "Reason"},
        "console.import.ready": {
            "ja": "問題はありません。{valid}人を登録します。",
            "en": "No problems. {valid} residents will be registered.",
        },
        "console.import.confirm": {"ja": "取り込む", "en": "Import"},
        "console.import.done": {"ja": "{count}人を登録しました。", "en": "{count} residents registered."},
        "console.import.already": {
            "ja": "このファイルの住民はすべて登録済みです（取込済み）。何も変更していません。",
            "en": "Every resident in this file is already registered (already imported). Nothing changed.",
        },
        "console.import.ignored": {"ja": "読み込まない列: {columns}", "en": "Columns not read: {columns}"},
        "console.export.heading": {"ja": "ファイル出力", "en": "Export files"},
        "console.export.intro": {
            "ja": "あなたが閲覧できる範囲のデータだけが出力されます。出力は監査ログに記録されます。"
            "訪問とアラートは直近30日分です。",
            "en": "Only what you may read is exported. Every export is recorded in the audit log. "
            "Visits and alerts: the last 30 days.",
        },
        "console.export.caption": {"ja": "出力できるファイル", "en": "Files you may export"},
        "console.export.what": {"ja": "出力するもの", "en": "What"},
        "console.export.format": {"ja": "形式", "en": "Format"},
        "console.export.format.csv": {"ja": "CSV（UTF-8）", "en": "CSV (UTF-8)"},
        "console.export.format.csv-cp932": {"ja": "CSV（Shift_JIS）", "en": "CSV (Shift_JIS)"},
        "console.export.format.xlsx": {"ja": "Excel（XLSX）", "en": "Excel (XLSX)"},
        "console.export.link_label": {"ja": "{what}を{format}で出力", "en": "Export {what} as {format}"},
        "console.export.none": {
            "ja": "出力できるファイルはありません。",
            "en": "There is nothing you may export.",
        },
        "console.export.formats_hint": {
            "ja": "Shift_JISで表せない文字（絵文字や一部の漢字）は「〓」になります。",
            "en": "Characters Shift_JIS cannot hold (emoji, some kanji) become 〓.",
        },
    }
)
