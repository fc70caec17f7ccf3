"""Import residents from a CSV file as Japanese offices keep it (Excel: UTF-8 or Shift_JIS/CP932).

Every row is checked before anything is written; one bad row and nothing is imported, and the
report lists every bad row with its line number (as Excel numbers rows: the header is line 1) and
the reason in the reader's language. A dry run checks the same way and writes nothing. The same
`import_residents` serves the HTTP endpoint and `mimamori import-residents`.

The columns, accepted values and encodings are documented in docs/csv_import.md.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import anyio.to_thread
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit, events, feed
from domain.access import Principal
from domain.base import new_id
from domain.clock import local_today, utcnow
from domain.enums import ConsentRecipient, ConsentStatus, Household, ResidentStatus, RiskLevel
from domain.errors import NotFound
from domain.i18n import register, translate
from domain.models import AuditEvent, Consent, District, EmergencyContact, Organisation, Resident
from domain.org_settings import timezone_of

MAX_ROWS = 20_000
FILE_LINE = 0  # errors about the whole file (encoding, missing columns) carry line 0

register(
    {
        "import.encoding": {
            "ja": "文字コードを判別できません。UTF-8 または Shift_JIS (CP932) で保存してください。",
            "en": "Cannot tell the file's encoding. Save it as UTF-8 or Shift_JIS (CP932).",
        },
        "import.spreadsheet": {
            "ja": "Excelのブック（.xlsx/.xls）は読み込めません。Excelで「CSV UTF-8（コンマ区切り）」"
            "または「CSV（コンマ区切り）」として保存したファイルを使ってください。",
            "en": "Excel workbooks (.xlsx/.xls) cannot be read. In Excel, save as “CSV UTF-8 (Comma "
            "delimited)” or “CSV (Comma delimited)” and use that file.",
        },
        "import.empty": {
            "ja": "ファイルが空です（見出し行がありません）。",
            "en": "The file is empty (no header row).",
        },
        "import.malformed": {
            "ja": 'この行からCSVとして読み取れません（ダブルクォート「"」の閉じ忘れなど）。以降の行は確認していません。',
            "en": "Cannot read CSV from this line on (e.g. an unclosed double quote). Later lines were not checked.",
        },
        "import.missing_column": {
            "ja": "必須の列「{column}」がありません。",
            "en": "The required column “{column}” is missing.",
        },
        "import.duplicate_column": {
            "ja": "列「{column}」が重複しています。",
            "en": "The column “{column}” appears more than once.",
        },
        "import.too_many_rows": {
            "ja": "行数が多すぎます（{max}行まで）。ファイルを分けてください。",
            "en": "Too many rows (at most {max}). Split the file.",
        },
        "import.extra_cells": {
            "ja": "見出しより多くの値があります（区切りの「,」やダブルクォートを確認してください）。",
            "en": "More values than headers (check for stray commas or quotes).",
        },
        "import.unknown_district": {
            "ja": "地区「{value}」が登録されていません。登録済み: {choices}",
            "en": "No district named “{value}”. Known districts: {choices}",
        },
        "import.bad_year": {
            "ja": "生年は西暦（例: 1942）または和暦（例: 昭和17）で入力してください（{min}〜{max}）。",
            "en": "Birth year must be a western year (e.g. 1942) or a Japanese era year (e.g. 昭和17), {min}–{max}.",
        },
        "import.bad_number": {
            "ja": "数値で入力してください（{min}〜{max}）。",
            "en": "Must be a number between {min} and {max}.",
        },
        "import.pair_required": {
            "ja": "「{other}」も入力してください。",
            "en": "“{other}” is needed too.",
        },
        "import.bad_phone": {
            "ja": "電話番号の形式が正しくありません（数字・「-」・「+」のみ）。",
            "en": "Not a phone number (digits, “-” and “+” only).",
        },
        "import.bad_kana": {
            "ja": "ふりがなはひらがなまたはカタカナで入力してください。",
            "en": "Kana must be hiragana or katakana.",
        },
        "import.duplicate_in_file": {
            "ja": "{line}行目と同じ人（氏名・住所）が重複しています。",
            "en": "Same person (name and address) as line {line}.",
        },
        "import.bad_register_number": {
            "ja": "宛名番号は英数字とハイフン（40文字以内）で入力してください。",
            "en": "The register number must be letters, digits or hyphens (at most 40).",
        },
        "import.duplicate_number_in_file": {
            "ja": "{line}行目と同じ宛名番号です。",
            "en": "Same register number as line {line}.",
        },
        "import.number_taken": {
            "ja": "この宛名番号の対象者は既に登録されています（名簿の更新は更新モードで取り込んでください）。",
            "en": "A resident with this register number already exists (re-import the register in update mode).",
        },
        "import.number_required": {
            "ja": "更新モードでは宛名番号が必要です。",
            "en": "The update mode needs a register number on every row.",
        },
        "import.already_registered": {
            "ja": "同じ氏名・住所の対象者が既に登録されています。",
            "en": "A resident with this name and address is already registered.",
        },
        "import.bad_date": {
            "ja": "日付は 2024-04-01 または 2024/4/1 の形式で入力してください。",
            "en": "Dates must look like 2024-04-01 or 2024/4/1.",
        },
        "error.import_rejected": {
            "ja": "{count}件の誤りがあるため取り込みを中止しました。何も登録していません。",
            "en": "Import stopped: {count} problems found. Nothing was imported.",
        },
    }
)


# ---------------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the documented Japanese header
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("register_number", "宛名番号", ("住民番号", "住民コード", "管理番号", "register_number")),
    Column("name", "氏名", ("名前", "お名前", "name"), required=True),
    Column("kana", "ふりがな", ("フリガナ", "よみがな", "ヨミガナ", "カナ", "かな", "kana")),
    Column("birth_year", "生年", ("生まれ年", "生年（西暦）", "生年月日", "birth_year")),
    Column("address", "住所", ("address",), required=True),
    Column("phone", "電話", ("電話番号", "phone")),
    Column("district", "地区", ("地区名", "district"), required=True),
    Column("household", "世帯", ("世帯状況", "世帯構成", "household")),
    Column("risk_level", "リスク", ("リスク区分", "見守りレベル", "risk", "risk_level"), required=True),
    Column("status", "状態", ("status",)),
    Column("support_needs", "支援内容", ("必要な支援", "support_needs")),
    Column("contact1_name", "緊急連絡先氏名", ("緊急連絡先1氏名", "emergency_contact_name")),
    Column("contact1_relation", "緊急連絡先続柄", ("緊急連絡先1続柄", "emergency_contact_relation")),
    Column(
        "contact1_phone",
        "緊急連絡先電話",
        ("緊急連絡先1電話", "緊急連絡先電話番号", "emergency_contact_phone"),
    ),
    Column("contact2_name", "緊急連絡先2氏名", ("emergency_contact2_name",)),
    Column("contact2_relation", "緊急連絡先2続柄", ("emergency_contact2_relation",)),
    Column("contact2_phone", "緊急連絡先2電話", ("緊急連絡先2電話番号", "emergency_contact2_phone")),
    Column("latitude", "緯度", ("latitude", "lat")),
    Column("longitude", "経度", ("longitude", "lon", "lng")),
    Column("consent_commissioner", "民生委員への提供同意", ("同意（民生委員）", "consent_commissioner")),
    Column("consent_volunteers", "ボランティアへの提供同意", ("同意（ボランティア）", "consent_volunteers")),
    Column("consent_date", "同意日", ("consent_date",)),
)


def _header_key(text: str) -> str:
    """Headers compare after NFKC (full-width letters, half-width kana) without spaces or case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


_HEADER_INDEX: dict[str, Column] = {}
for _column in COLUMNS:
    for _name in (_column.label, *_column.aliases):
        _HEADER_INDEX[_header_key(_name)] = _column


# Enum values: Japanese as offices write them, and the English API values.
RISK_VALUES: dict[str, RiskLevel] = {
    **{v: RiskLevel.HIGH for v in ("高", "高い", "high", "h", "3")},
    **{v: RiskLevel.MEDIUM for v in ("中", "普通", "medium", "m", "2")},
    **{v: RiskLevel.LOW for v in ("低", "低い", "low", "l", "1")},
}
HOUSEHOLD_VALUES: dict[str, Household] = {
    **{v: Household.ALONE for v in ("独居", "一人暮らし", "ひとり暮らし", "単身", "alone")},
    **{
        v: Household.ELDERLY_COUPLE
        for v in ("高齢夫婦", "高齢者夫婦", "夫婦", "高齢者世帯", "elderly_couple")
    },
    **{v: Household.WITH_FAMILY for v in ("家族と同居", "家族同居", "同居", "日中独居", "with_family")},
    **{v: Household.OTHER for v in ("その他", "other")},
}
STATUS_VALUES: dict[str, ResidentStatus] = {
    **{v: ResidentStatus.ACTIVE for v in ("見守り中", "継続", "active")},
    **{v: ResidentStatus.PAUSED for v in ("休止", "一時休止", "入院中", "paused")},
    **{v: ResidentStatus.ENDED for v in ("終了", "ended")},
}
# 無 / なし means consent was not given (never asked, or declined): sharing only under a recorded
# legal basis. A withdrawal is another legal fact (it was given, then taken back): only 撤回 says so.
CONSENT_VALUES: dict[str, ConsentStatus] = {
    **{
        v: ConsentStatus.GIVEN
        for v in ("有", "あり", "同意", "同意あり", "済", "○", "〇", "given", "yes", "y", "true", "1")
    },
    **{
        v: ConsentStatus.NOT_GIVEN
        for v in ("無", "なし", "未", "同意なし", "×", "not_given", "no", "n", "false", "0")
    },
    **{v: ConsentStatus.WITHDRAWN for v in ("撤回", "同意撤回", "withdrawn")},
}

# Per era: the western year before 元年 (its first year) and its last year number (昭和64 = 1989).
ERAS: dict[str, tuple[int, int]] = {
    "明治": (1867, 45),
    "大正": (1911, 15),
    "昭和": (1925, 64),
    "平成": (1988, 31),
    "令和": (2018, 99),
}
ERAS.update({"m": ERAS["明治"], "t": ERAS["大正"], "s": ERAS["昭和"], "h": ERAS["平成"], "r": ERAS["令和"]})
MIN_BIRTH_YEAR = 1880

# Field lengths of the model (domain/models/_resident.py).
MAX_LEN = {
    "name": 100,
    "kana": 100,
    "address": 300,
    "phone": 40,
    "support_needs": 2000,
    "contact_name": 100,
    "contact_relation": 50,
    "contact_phone": 40,
}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int
    field: str  # the column header as the file spells it ("" for the whole row / file)
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, locale: str) -> str:
        return translate(self.code, locale, **self.params)


# A wrong file with the right headers can hold a problem in every cell of 20,000 rows: the first
# thousand (by line) say what is wrong; `error_count` says how many there are in all.
MAX_LISTED_ERRORS = 1000


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    imported: int = 0
    dry_run: bool = True
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # Update mode (a re-imported register, matched on 宛名番号):
    mode: str = "create"
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    no_longer_listed: list[dict[str, Any]] = field(default_factory=list)
    consent_kept: list[dict[str, Any]] = field(default_factory=list)
    updated: int = 0
    columns: set[str] = field(default_factory=set)  # the column keys the file has

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self, locale: str) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "valid": self.valid,
            "imported": self.imported,
            "dry_run": self.dry_run,
            "errors": [
                {"line": e.line, "field": e.field, "code": e.code, "message": e.message(locale)}
                for e in self.errors[:MAX_LISTED_ERRORS]
            ],
            "error_count": len(self.errors),
            "ignored_columns": self.ignored_columns,
            "mode": self.mode,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "no_longer_listed": self.no_longer_listed,
            "consent_kept": self.consent_kept,
            "updated": self.updated,
        }


# ---------------------------------------------------------------------------------------------
# Decoding and reading
# ---------------------------------------------------------------------------------------------


def decode(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else CP932.

    CP932 is Microsoft's Shift_JIS (what Excel writes in Japan): a superset with NEC/IBM extensions
    such as ①, ㈱ and 髙, so it also reads plain Shift_JIS. UTF-8 is tried first: a CP932 file of
    Japanese text is practically never valid UTF-8, while the reverse guess can succeed on garbage.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
        return text if _looks_like_text(text) else None
    for encoding in ("utf-8", "cp932"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text if _looks_like_text(text) else None
    return None


# Control characters other than tab and line breaks, and what CP932 makes of stray bytes
# (0xA0, 0xFD–0xFF decode to private-use characters): the file is not text.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\uf8f0-\uf8f3\ufffd]")


def _looks_like_text(text: str) -> bool:
    return _NOT_TEXT.search(text) is None


def is_spreadsheet(data: bytes) -> bool:
    """.xlsx is a zip file, .xls an OLE2 compound file: a common slip when exporting."""
    return data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) per CSV record; quoted cells may span lines."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _MalformedRecord(previous + 1) from exc
        yield previous + 1, cells
        previous = reader.line_num


class _MalformedRecord(Exception):
    """A record the csv module cannot read (an unclosed quote, a quote inside a bare cell)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _clean(value: str) -> str:
    return value.strip().strip("\u3000").strip()


def _normal(value: str) -> str:
    """For comparing vocabulary: NFKC (全角→半角 digits and letters), no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).lower()


# ---------------------------------------------------------------------------------------------
# Row validation
# ---------------------------------------------------------------------------------------------


@dataclass
class ParsedContact:
    name: str
    relation: str
    phone: str
    priority: int


@dataclass
class ParsedRow:
    line: int
    district_id: str
    name: str
    kana: str
    birth_year: int | None
    address: str
    phone: str | None
    household: Household
    risk_level: RiskLevel
    status: ResidentStatus
    support_needs: str
    latitude: float | None
    longitude: float | None
    contacts: list[ParsedContact]
    consents: dict[ConsentRecipient, ConsentStatus]
    consent_date: date | None
    name_label: str = "氏名"  # the name column as the file spells it, for later errors
    register_number: str | None = None
    number_label: str = "宛名番号"


class _RowChecker:
    """Reads one row's cells by column key and collects every problem instead of stopping."""

    def __init__(self, line: int, cells: dict[str, str], labels: dict[str, str]) -> None:
        self.line = line
        self.cells = cells
        self.labels = labels
        self.errors: list[RowError] = []

    def error(self, key: str, code: str, **params: Any) -> None:
        self.errors.append(RowError(self.line, self.labels.get(key, _label(key)), code, params))

    def text(
        self, key: str, max_len: int, *, required: bool = False, normalise: Callable[[str], str] | None = None
    ) -> str:
        """The cell, cleaned (and normalised), checked against the column's length as stored: NFKC
        can lengthen a cell (㌀ → アパート, ⒇ → (20))."""
        value = _clean(self.cells.get(key, ""))
        if normalise is not None:
            value = normalise(value)
        if required and not value:
            self.error(key, "field.required")
        elif len(value) > max_len:
            self.error(key, "field.too_long", max=max_len)
        return value

    def choice(self, key: str, values: dict[str, Any], default: Any = None, *, required: bool = False) -> Any:
        raw = _clean(self.cells.get(key, ""))
        if not raw:
            if required:
                self.error(key, "field.required")
            return default
        found = values.get(_normal(raw))
        if found is None:
            self.error(key, "field.not_allowed", choices=_choices(values))
            return default
        return found


def _label(key: str) -> str:
    return next(c.label for c in COLUMNS if c.key == key)


def _choices(values: dict[str, Any]) -> str:
    """The first Japanese and the English word per value, e.g. "高 / high, 中 / medium"."""
    seen: dict[Any, list[str]] = {}
    for word, value in values.items():
        seen.setdefault(value, []).append(word)
    parts = []
    for value, words in seen.items():
        japanese = next((w for w in words if not w.isascii()), None)
        english = str(value) if isinstance(value, str) else ("yes" if value else "no")
        parts.append(f"{japanese} / {english}" if japanese else english)
    return ", ".join(parts)


_KANA = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u30fb\u309b\u309c\s・ー]*$")
_PHONE = re.compile(r"^\+?[0-9][0-9\-()]{4,}$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def to_katakana(text: str) -> str:
    """ひらがな → カタカナ, half-width ｶﾅ → full-width, spaces collapsed to one."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(chr(ord(ch) + 0x60) if "\u3041" <= ch <= "\u3096" else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def parse_birth_year(raw: str, this_year: int) -> int | None:
    """1942, 1942年, 1942/3/15 (a date of birth), 昭和17, 昭和17年, S17, 昭和元年."""
    value = _normal(raw).removesuffix("年")
    if m := re.match(r"^(\d{4})(?:[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?)?$", value):
        year = int(m.group(1))
    elif m := re.match(r"^(明治|大正|昭和|平成|令和|[mtshr])\.?(\d{1,2}|元)(?:年.*|[-/.].*)?$", value):
        before, last = ERAS[m.group(1)]
        number = 1 if m.group(2) == "元" else int(m.group(2))
        if not 1 <= number <= last:
            return None
        year = before + number
    else:
        return None
    return year if MIN_BIRTH_YEAR <= year <= this_year else None


def _nfkc(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw)


def _normal_phone(raw: str) -> str:
    value = unicodedata.normalize("NFKC", raw).replace(" ", "")
    return value.replace("ー", "-").replace("‐", "-").replace("−", "-")


def _phone(checker: _RowChecker, key: str, max_len: int) -> str:
    value = checker.text(key, max_len, normalise=_normal_phone)
    if value and len(value) <= max_len and not _PHONE.match(value):
        checker.error(key, "import.bad_phone")
    return value


def _number(checker: _RowChecker, key: str, low: float, high: float) -> float | None:
    raw = _normal(checker.cells.get(key, ""))
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (low <= value <= high):  # also false for NaN
        checker.error(key, "import.bad_number", min=low, max=high)
        return None
    return value


def _check_row(
    line: int,
    cells: dict[str, str],
    labels: dict[str, str],
    districts: dict[str, District],
    this_year: int,
    today: date | None = None,
) -> tuple[ParsedRow | None, list[RowError]]:
    c = _RowChecker(line, cells, labels)
    register_number = c.text("register_number", 40, normalise=_nfkc) or None
    if register_number and not _REGISTER_NUMBER.match(register_number):
        c.error("register_number", "import.bad_register_number")
    name = re.sub(r"[\s\u3000]+", " ", c.text("name", MAX_LEN["name"], required=True))
    kana = c.text("kana", MAX_LEN["kana"], normalise=to_katakana)
    if kana and not _KANA.match(kana):
        c.error("kana", "import.bad_kana")
    address = c.text("address", MAX_LEN["address"], required=True)
    phone = _phone(c, "phone", MAX_LEN["phone"]) or None

    birth_year: int | None = None
    if raw_year := _clean(cells.get("birth_year", "")):
        birth_year = parse_birth_year(raw_year, this_year)
        if birth_year is None:
            c.error("birth_year", "import.bad_year", min=MIN_BIRTH_YEAR, max=this_year)

    district_id = ""
    if raw_district := c.text("district", 100, required=True):
        district = districts.get(_normal(raw_district))
        if district is None:
            names = sorted({d.name for d in districts.values()})
            c.error(
                "district", "import.unknown_district", value=raw_district, choices="、".join(names) or "-"
            )
        else:
            district_id = district.id

    household = c.choice("household", HOUSEHOLD_VALUES, Household.OTHER)
    risk = c.choice("risk_level", RISK_VALUES, required=True)
    status = c.choice("status", STATUS_VALUES, ResidentStatus.ACTIVE)
    support = c.text("support_needs", MAX_LEN["support_needs"])

    latitude = _number(c, "latitude", -90, 90)
    longitude = _number(c, "longitude", -180, 180)
    for key, other in (("latitude", "longitude"), ("longitude", "latitude")):
        if _clean(cells.get(key, "")) and not _clean(cells.get(other, "")):
            c.error(other, "import.pair_required", other=labels.get(other, _label(other)))

    contacts: list[ParsedContact] = []
    for n in (1, 2):
        contact_name = c.text(f"contact{n}_name", MAX_LEN["contact_name"])
        relation = c.text(f"contact{n}_relation", MAX_LEN["contact_relation"])
        contact_phone = _phone(c, f"contact{n}_phone", MAX_LEN["contact_phone"])
        if contact_name and not contact_phone:
            c.error(f"contact{n}_phone", "field.required")
        elif (contact_phone or relation) and not contact_name:
            c.error(f"contact{n}_name", "field.required")
        elif contact_name:
            contacts.append(ParsedContact(contact_name, relation, contact_phone, priority=n))

    consents: dict[ConsentRecipient, ConsentStatus] = {}
    for key, recipient in (
        ("consent_commissioner", ConsentRecipient.DISTRICT_COMMISSIONER),
        ("consent_volunteers", ConsentRecipient.VOLUNTEERS),
    ):
        # (not `status`: that is the resident's, read above — reusing the name made every imported
        # resident's status the last consent column's value, or empty)
        consent_status = c.choice(key, CONSENT_VALUES)
        if consent_status is not None:
            consents[recipient] = consent_status
    consent_date: date | None = None
    if raw_date := _normal(cells.get("consent_date", "")):
        m = _DATE.match(raw_date)
        try:
            consent_date = date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
        except ValueError:
            consent_date = None
        if consent_date is None:
            c.error("consent_date", "import.bad_date")
        elif today is not None and consent_date > today:  # consent not yet given shares nothing
            c.error("consent_date", "field.date_in_future")

    if c.errors:
        return None, c.errors
    return (
        ParsedRow(
            line=line,
            district_id=district_id,
            name=name,
            kana=kana,
            birth_year=birth_year,
            address=address,
            phone=phone,
            household=household,
            risk_level=risk,
            status=status,
            support_needs=support,
            latitude=latitude,
            longitude=longitude,
            contacts=contacts,
            consents=consents,
            consent_date=consent_date,
            name_label=labels.get("name", "氏名"),
            register_number=register_number,
            number_label=labels.get("register_number", "宛名番号"),
        ),
        [],
    )


_REGISTER_NUMBER = re.compile(r"^[0-9A-Za-z-]{1,40}$")


def _identity(name: str, address: str) -> tuple[str, str]:
    return _normal(name), _normal(address)


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


def parse(
    data: bytes, districts: list[District], this_year: int, today: date | None = None
) -> tuple[list[ParsedRow], ImportReport]:
    """Check the whole file. Pure: no database access, so it is cheap to test. `today` is the
    organisation's calendar day (a date of consent may not be later)."""
    report = ImportReport()
    if is_spreadsheet(data):
        report.errors.append(RowError(FILE_LINE, "", "import.spreadsheet"))
        return [], report
    text = decode(data)
    if text is None:
        report.errors.append(RowError(FILE_LINE, "", "import.encoding"))
        return [], report
    by_name = {_normal(d.name): d for d in districts}
    by_name.update({_normal(d.code): d for d in districts if d.code and _normal(d.code) not in by_name})

    records = _records(text)
    try:
        header_line, header = next(records, (0, []))
        if not any(_clean(h) for h in header):
            report.errors.append(RowError(FILE_LINE, "", "import.empty"))
            return [], report
        positions: dict[str, int] = {}
        labels: dict[str, str] = {}
        for index, raw in enumerate(header):
            label = _clean(raw).lstrip("\ufeff")
            if not label:
                continue
            column = _HEADER_INDEX.get(_header_key(label))
            if column is None:
                report.ignored_columns.append(label)
                continue
            if column.key in positions:
                report.errors.append(
                    RowError(header_line, label, "import.duplicate_column", {"column": label})
                )
                continue
            positions[column.key] = index
            labels[column.key] = label
        for column in COLUMNS:
            if column.required and column.key not in positions:
                report.errors.append(
                    RowError(header_line, column.label, "import.missing_column", {"column": column.label})
                )
        if report.errors:
            return [], report
        report.columns = set(positions)

        parsed: list[ParsedRow] = []
        seen: dict[tuple[str, str], int] = {}
        numbers: dict[str, int] = {}
        for line, cells in records:
            if not any(_clean(cell) for cell in cells):
                continue  # blank lines and Excel's trailing ",,,," rows
            report.rows += 1
            if report.rows > MAX_ROWS:
                report.errors.append(RowError(line, "", "import.too_many_rows", {"max": MAX_ROWS}))
                break
            if len(cells) > len(header) and any(_clean(c) for c in cells[len(header) :]):
                report.errors.append(RowError(line, "", "import.extra_cells"))
                continue
            values = {key: cells[i] if i < len(cells) else "" for key, i in positions.items()}
            row, errors = _check_row(line, values, labels, by_name, this_year, today)
            report.errors.extend(errors)
            if row is None:
                continue
            identity = _identity(row.name, row.address)
            if identity in seen:
                report.errors.append(
                    RowError(line, labels["name"], "import.duplicate_in_file", {"line": seen[identity]})
                )
                continue
            if row.register_number and row.register_number in numbers:
                report.errors.append(
                    RowError(
                        line,
                        row.number_label,
                        "import.duplicate_number_in_file",
                        {"line": numbers[row.register_number]},
                    )
                )
                continue
            seen[identity] = line
            if row.register_number:
                numbers[row.register_number] = line
            parsed.append(row)
    except _MalformedRecord as exc:
        report.errors.append(RowError(exc.line, "", "import.malformed"))
        return [], report
    report.valid = len(parsed)
    return parsed, report


async def import_residents(
    session: AsyncSession,
    org_id: str,
    data: bytes,
    *,
    principal: Principal | None = None,
    dry_run: bool = True,
    update: bool = False,
) -> ImportReport:
    """Check `data` and, unless `dry_run` or any row is bad, add every row in the caller's
    transaction. The caller commits (a request, or the CLI's unit of work).

    With `update`, the file is the whole register again, matched on 宛名番号: new numbers are
    added, residents whose details differ are changed, and those the register no longer lists are
    reported (never ended by an import: a coordinator decides, with a reason)."""
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound()
    districts = list(await session.scalars(select(District).where(District.org_id == org_id)))
    today = local_today(timezone_of(org))  # the organisation's calendar: consent dates default to it
    # Reading a whole register (up to the request limit) takes seconds of CPU: off the event loop,
    # so that the process goes on answering phones meanwhile.
    rows, report = await anyio.to_thread.run_sync(parse, data, districts, today.year, today)
    report.dry_run = dry_run
    if update:
        return await _update_register(session, org_id, rows, report, principal=principal, today=today)
    if rows and not dry_run:
        await _one_import_at_a_time(session, org_id)
    if rows:
        registered = await _already_registered(session, org_id, rows)
        report.errors = sorted([*report.errors, *registered], key=lambda e: e.line)
        report.valid = len(rows) - len(registered)
    if dry_run or report.errors:
        return report

    counts = await _insert(
        session, org_id, rows, recorder=principal.user_id if principal else None, today=today
    )
    audit.record(
        session,
        principal,
        "import",
        "resident",
        None,
        org_id=org_id,
        via="api" if principal else "cli",
        rows=report.rows,
        **counts,
    )
    await session.flush()
    report.imported = counts["imported"]
    return report


IMPORT_LOCK_NAMESPACE = 7_210_011  # first key of the two-key advisory lock: "resident import"


async def _one_import_at_a_time(session: AsyncSession, org_id: str) -> None:
    """A real import checks "already registered" and inserts under an organisation-wide lock held
    until its transaction ends, so the same file sent twice at once (a double click, a retried
    request, two API processes) registers nobody twice: the second waits, then finds them all.
    PostgreSQL only; SQLite serialises writers itself and the console also imports one at a time."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:org))"),
            {"ns": IMPORT_LOCK_NAMESPACE, "org": org_id},
        )


CONSENT_FIELDS = ["expires_on", "given_on", "purpose", "recorded_by", "status"]  # as the API's create


async def _insert(
    session: AsyncSession, org_id: str, rows: list[ParsedRow], *, recorder: str | None, today: date
) -> dict[str, int]:
    """Bulk INSERTs (thousands of rows: ORM objects one by one would take seconds). They go around
    the flush hook, so they carry a change-feed position themselves, as domain.feed requires."""
    position = await feed.next_position(session, org_id)
    residents: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    for row in rows:
        resident_id = new_id()
        residents.append(
            dict(
                id=resident_id,
                org_id=org_id,
                feed_seq=position,
                register_number=row.register_number,
                district_id=row.district_id,
                name=row.name,
                kana=row.kana,
                birth_year=row.birth_year,
                address=row.address,
                phone=row.phone,
                household=row.household,
                risk_level=row.risk_level,
                status=row.status,
                support_needs=row.support_needs,
                latitude=row.latitude,
                longitude=row.longitude,
            )
        )
        contacts.extend(
            dict(
                id=new_id(),
                org_id=org_id,
                feed_seq=position,
                resident_id=resident_id,
                name=c.name,
                relation=c.relation,
                phone=c.phone,
                priority=c.priority,
            )
            for c in row.contacts
        )
        consents.extend(
            dict(
                id=new_id(),
                org_id=org_id,
                feed_seq=position,
                resident_id=resident_id,
                recipient=recipient,
                status=status,
                purpose="CSV取込",
                given_on=(row.consent_date or today) if status == ConsentStatus.GIVEN else None,
                expires_on=None,
                recorded_by=recorder,
            )
            for recipient, status in row.consents.items()
        )
    # Each consent's "create" event, as the API leaves one: the consent history reads them.
    at = utcnow()
    consent_events = [
        dict(
            id=new_id(),
            org_id=org_id,
            at=at,
            actor_id=recorder,
            action="create",
            entity="consent",
            entity_id=consent["id"],
            detail={
                "fields": CONSENT_FIELDS,
                "resident_id": consent["resident_id"],
                "recipient": str(consent["recipient"]),
                "via": "import",
            },
        )
        for consent in consents
    ]
    # Parents first (foreign keys); created_at/updated_at come from the columns' defaults.
    for model, values in (
        (Resident, residents),
        (EmergencyContact, contacts),
        (Consent, consents),
        (AuditEvent, consent_events),
    ):
        if values:
            await session.execute(insert(model), values)
    return {"imported": len(residents), "contacts": len(contacts), "consents": len(consents)}


async def _already_registered(session: AsyncSession, org_id: str, rows: list[ParsedRow]) -> list[RowError]:
    """A resident already in the organisation with the same name and address, or the same
    register number: importing the same file twice must not double everybody (re-import with the
    update mode instead). Compared after normalising spaces and full-width forms."""
    result = await session.execute(
        select(Resident.name, Resident.address, Resident.register_number).where(
            Resident.org_id == org_id, Resident.deleted_at.is_(None)
        )
    )
    existing = result.all()
    identities = {_identity(name, address) for name, address, _ in existing}
    numbers = {number for _, _, number in existing if number}
    errors: list[RowError] = []
    for row in rows:
        if _identity(row.name, row.address) in identities:
            errors.append(RowError(row.line, row.name_label, "import.already_registered"))
        elif row.register_number in numbers:
            errors.append(RowError(row.line, row.number_label, "import.number_taken"))
    return errors


# What a re-imported register may change on a resident already there. Status is not among them
# (pausing or ending asks for a reason and cancels visits: the API's status change), nor are
# emergency contacts and consents (kept as recorded; change them through the API).
UPDATABLE = (
    "name",
    "kana",
    "birth_year",
    "address",
    "phone",
    "district_id",
    "household",
    "risk_level",
    "support_needs",
    "latitude",
    "longitude",
)


CONSENT_COLUMNS = {
    ConsentRecipient.DISTRICT_COMMISSIONER: "consent_commissioner",
    ConsentRecipient.VOLUNTEERS: "consent_volunteers",
}


def _has_consent_columns(report: ImportReport) -> bool:
    return any(column in report.columns for column in CONSENT_COLUMNS.values())


async def _recorded_consents(
    session: AsyncSession, resident_ids: list[str]
) -> dict[str, dict[ConsentRecipient, Consent]]:
    recorded: dict[str, dict[ConsentRecipient, Consent]] = defaultdict(dict)
    for start in range(0, len(resident_ids), 500):
        for consent in await session.scalars(
            select(Consent).where(
                Consent.resident_id.in_(resident_ids[start : start + 500]), Consent.deleted_at.is_(None)
            )
        ):
            recorded[consent.resident_id][consent.recipient] = consent
    return recorded


def _consent_differences(
    row: ParsedRow, recorded: dict[ConsentRecipient, Consent]
) -> tuple[list[Consent], list[str]]:
    """What a re-imported register says about consent, against what is recorded: (the given
    consents it withdraws — applied, since a withdrawal only narrows who sees the resident; the
    consent columns that differ otherwise — kept as recorded and reported: consent is given through
    the API, where it is recorded with its date and purpose)."""
    withdrawn: list[Consent] = []
    kept: list[str] = []
    for recipient, status in row.consents.items():
        consent = recorded.get(recipient)
        current = consent.status if consent is not None else ConsentStatus.NOT_GIVEN
        if status == current:
            continue
        if consent is not None and status == ConsentStatus.WITHDRAWN and current == ConsentStatus.GIVEN:
            withdrawn.append(consent)
        elif not (status == ConsentStatus.WITHDRAWN and current == ConsentStatus.NOT_GIVEN):
            kept.append(CONSENT_COLUMNS[recipient])
    return withdrawn, sorted(kept)


async def _update_register(
    session: AsyncSession,
    org_id: str,
    rows: list[ParsedRow],
    report: ImportReport,
    *,
    principal: Principal | None,
    today: date,
) -> ImportReport:
    report.mode = "update"
    for row in rows:
        if not row.register_number:
            report.errors.append(RowError(row.line, row.number_label, "import.number_required"))
    existing = list(
        await session.scalars(
            select(Resident).where(Resident.org_id == org_id, Resident.deleted_at.is_(None))
        )
    )
    by_number = {r.register_number: r for r in existing if r.register_number}
    # Residents registered before numbers were kept are adopted by name and address.
    unnumbered = {_identity(r.name, r.address): r for r in existing if not r.register_number}
    # A column the file does not have changes nothing (a register without ふりがな keeps the kana).
    compared = [
        name for name in UPDATABLE if ("district" if name == "district_id" else name) in report.columns
    ]
    listed: set[str] = set()
    new_rows: list[ParsedRow] = []
    changes: list[tuple[Resident, dict[str, Any]]] = []
    withdrawals: list[Consent] = []
    consents = (
        await _recorded_consents(session, [r.id for r in existing]) if _has_consent_columns(report) else {}
    )
    for row in rows:
        if not row.register_number:
            continue
        resident = by_number.get(row.register_number) or unnumbered.pop(
            _identity(row.name, row.address), None
        )
        if resident is None:
            new_rows.append(row)
            report.new.append({"line": row.line, "register_number": row.register_number, "name": row.name})
            continue
        listed.add(resident.id)
        values = {name: getattr(row, name) for name in compared}
        if resident.register_number != row.register_number:
            values["register_number"] = row.register_number
        differing = {k: v for k, v in values.items() if getattr(resident, k) != v}
        withdrawn, kept = _consent_differences(row, consents.get(resident.id, {}))
        withdrawals += withdrawn
        entry = {
            "line": row.line,
            "register_number": row.register_number,
            "resident_id": resident.id,
            "name": row.name,
        }
        if kept:
            report.consent_kept.append({**entry, "fields": kept})
        if differing or withdrawn:
            changes.append((resident, differing))
            consent_fields = [CONSENT_COLUMNS[c.recipient] for c in withdrawn]
            report.changed.append({**entry, "fields": sorted([*differing, *consent_fields])})
        else:
            report.unchanged += 1
    report.no_longer_listed = [
        {"resident_id": r.id, "register_number": r.register_number, "name": r.name}
        for r in sorted(existing, key=lambda r: r.register_number or "")
        if r.register_number and r.id not in listed and r.status != ResidentStatus.ENDED
    ]
    report.errors.sort(key=lambda e: e.line)
    report.valid = report.rows - len({e.line for e in report.errors})
    if report.dry_run or report.errors:
        return report
    # All or nothing, in the caller's transaction: the inserts, then each change through the ORM
    # (the flush hook gives every changed row its change-feed position, so phones receive it).
    recorder = principal.user_id if principal else None
    counts = await _insert(session, org_id, new_rows, recorder=recorder, today=today) if new_rows else {}
    moved: list[str] = []
    for resident, differing in changes:
        if "district_id" in differing:
            moved.append(resident.id)
        for name, value in differing.items():
            setattr(resident, name, value)
    # A withdrawal withdraws (as through the API): sharing under the consent stops at once.
    for consent in withdrawals:
        consent.status = ConsentStatus.WITHDRAWN
        consent.recorded_by = recorder
        audit.record(
            session,
            principal,
            "withdraw",
            "consent",
            consent.id,
            org_id=org_id,
            fields=["status"],
            resident_id=consent.resident_id,
            recipient=str(consent.recipient),
            via="import",
        )
    await session.flush()
    moved += [c.resident_id for c in withdrawals]
    if moved:  # other commissioners now hold these residents, or nobody outside the office does
        await events.sight_changed(session, resident_ids=sorted(set(moved)))
    report.imported = counts.get("imported", 0)
    report.updated = len(changes)
    audit.record(
        session,
        principal,
        "import_update",
        "resident",
        None,
        org_id=org_id,
        via="api" if principal else "cli",
        rows=report.rows,
        imported=report.imported,
        updated=report.updated,
        no_longer_listed=len(report.no_longer_listed),
    )
    await session.flush()
    return report
