"""Reading the file: encodings, headers, values. No database needed."""

from __future__ import annotations

import codecs

import pytest

from api.residents.csv_import import decode, parse, parse_birth_year, to_katakana
from domain.models import District
from tests.imports.csv_samples import BAD_ROWS, GOOD_ROWS, HEADER, csv_bytes

DISTRICTS = [
    District(id="d-central", org_id="o", name="中央地区"),
    District(id="d-north", org_id="o", name="北地区"),
]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("氏名".encode() + b"\n", "氏名\n"),
        (codecs.BOM_UTF8 + "氏名".encode() + b"\n", "氏名\n"),
        ("氏名,髙橋,①".encode("cp932"), "氏名,髙橋,①"),
        ("氏名".encode("shift_jis"), "氏名"),
        (codecs.BOM_UTF16_LE + "氏名\t住所".encode("utf-16-le"), "氏名\t住所"),
        (b"\xff\xfe\xff", None),
    ],
)
def test_decode_recognises_excel_encodings(data: bytes, expected: str | None) -> None:
    assert decode(data) == expected


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("1942", 1942),
        ("１９４２", 1942),
        ("1942年", 1942),
        ("1942/3/15", 1942),
        ("昭和17", 1942),
        ("昭和17年", 1942),
        ("S17", 1942),
        ("昭和元年", 1926),
        ("大正14", 1925),
        ("平成2", 1990),
        ("昭和17年3月15日", 1942),
        ("2100", None),
        ("昭和", None),
        ("昭和70", None),
        ("abc", None),
    ],
)
def test_birth_year_in_western_or_japanese_era(raw: str, year: int | None) -> None:
    assert parse_birth_year(raw, this_year=2026) == year


def test_kana_is_stored_as_full_width_katakana() -> None:
    assert to_katakana("やまだ　はなこ") == "ヤマダ ハナコ"
    assert to_katakana("ﾀｶﾊｼ ｻﾁｺ") == "タカハシ サチコ"


def test_good_rows_parse_with_japanese_and_english_values() -> None:
    rows, report = parse(csv_bytes(GOOD_ROWS, bom=True), DISTRICTS, 2026)
    assert report.errors == [] and report.rows == 3
    first, second, third = rows
    assert (first.name, first.kana, first.birth_year, first.risk_level, first.household) == (
        "山田 花子",
        "ヤマダ ハナコ",
        1940,
        "high",
        "alone",
    )
    assert first.contacts[0].name == "山田 一郎" and first.contacts[0].relation == "長男"
    assert (first.latitude, first.longitude, first.district_id) == (36.39, 139.06, "d-central")
    assert (second.risk_level, second.household, second.phone) == ("medium", "elderly_couple", None)
    assert (third.kana, third.household, third.district_id) == ("タカハシ サチコ", "with_family", "d-north")
    assert third.support_needs == "通院の付き添い, 月2回"


def test_every_bad_row_is_reported_with_its_line() -> None:
    rows, report = parse(csv_bytes(BAD_ROWS), DISTRICTS, 2026)
    found = sorted((e.line, e.field, e.code) for e in report.errors)
    assert found == [
        (3, "地区", "import.unknown_district"),
        (4, "リスク", "field.not_allowed"),
        (4, "生年", "import.bad_year"),
        (5, "氏名", "field.required"),
        (6, "経度", "import.pair_required"),
    ]
    assert [r.line for r in rows] == [2]
    assert report.rows == 5


def test_missing_required_column_is_reported_on_the_header_line() -> None:
    data = "氏名,住所\n山田 花子,テスト市\n".encode()
    _rows, report = parse(data, DISTRICTS, 2026)
    assert {(e.line, e.field) for e in report.errors} == {(1, "地区"), (1, "リスク")}


def test_unknown_columns_are_ignored_and_named() -> None:
    data = (HEADER + ",備考\n" + GOOD_ROWS[1] + ",メモ\n").encode()
    rows, report = parse(data, DISTRICTS, 2026)
    assert report.errors == [] and len(rows) == 1
    assert report.ignored_columns == ["備考"]


def test_duplicate_person_in_one_file_is_an_error() -> None:
    rows, report = parse(csv_bytes([GOOD_ROWS[1], GOOD_ROWS[1]]), DISTRICTS, 2026)
    assert [(e.line, e.code) for e in report.errors] == [(3, "import.duplicate_in_file")]
    assert [r.line for r in rows] == [2]


def test_multiline_cell_keeps_line_numbers_of_later_rows() -> None:
    rows = ['山田 花子,,1940,テスト市1,,中央地区,独居,高,"一行目\n二行目",,,,,', BAD_ROWS[1]]
    _parsed, report = parse(csv_bytes(rows), DISTRICTS, 2026)
    assert [(e.line, e.field) for e in report.errors] == [(4, "地区")]


def test_file_that_is_not_text_is_one_clear_error() -> None:
    _rows, report = parse(b"\x00\x01\xff\xfe\x80" * 10, DISTRICTS, 2026)
    assert len(report.errors) == 1
    assert report.errors[0].message("en").startswith("Cannot tell the file's encoding")


def test_an_excel_workbook_is_refused_with_advice() -> None:
    _rows, report = parse(b"PK\x03\x04" + b"\x00" * 100, DISTRICTS, 2026)
    assert [e.code for e in report.errors] == ["import.spreadsheet"]
    assert "CSV" in report.errors[0].message("ja")


def test_excel_unicode_text_is_tab_separated_utf16() -> None:
    text = "\r\n".join(line.replace(",", "\t") for line in [HEADER, GOOD_ROWS[1]]) + "\r\n"
    rows, report = parse(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), DISTRICTS, 2026)
    assert report.errors == []
    assert [(r.name, r.birth_year) for r in rows] == [("鈴木 一郎", 1938)]


def test_an_unclosed_quote_is_reported_at_its_line() -> None:
    rows = [GOOD_ROWS[0], '鈴木 一郎,,1938,"テスト市中央2-3-4,,中央地区,独居,中,,,,,,', GOOD_ROWS[1]]
    _rows, report = parse(csv_bytes(rows), DISTRICTS, 2026)
    assert [(e.line, e.code) for e in report.errors] == [(3, "import.malformed")]
    assert "line" in report.errors[0].message("en")


def test_no_consent_is_not_a_withdrawal() -> None:
    """無 means consent was never given; only 撤回 records that a consent was taken back."""
    rows = [
        "氏名,住所,地区,リスク,民生委員への提供同意,ボランティアへの提供同意",
        "山田 花子,テスト市中央1-1,中央地区,高,有,無",
        "鈴木 一郎,テスト市中央2-2,中央地区,中,撤回,なし",
    ]
    data = ("\r\n".join(rows) + "\r\n").encode("utf-8")
    parsed, report = parse(data, DISTRICTS, 2026)
    assert report.errors == []
    assert [{k.value: v.value for k, v in row.consents.items()} for row in parsed] == [
        {"district_commissioner": "given", "volunteers": "not_given"},
        {"district_commissioner": "withdrawn", "volunteers": "not_given"},
    ]
