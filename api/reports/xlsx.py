"""An export as an Excel workbook (XLSX), written row by row in bounded memory.

XlsxWriter in `constant_memory` mode keeps one row in memory and the rest in a temporary file;
the workbook itself is a temporary file the caller streams and then forgets (see
`api.reports.export_files`). One sheet; the header row bold and frozen; times as real Excel dates
in the organisation's zone (sortable and filterable in Excel); numbers as numbers; text always as
text: a value that starts like a formula (= + - @) is stored as a string with Excel's quote
prefix, so it is neither run when the file opens nor turned into a formula when someone edits the
cell (the guard `csv_export` applies with a leading apostrophe).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import xlsxwriter

from domain.errors import InvalidInput
from domain.i18n import register

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 1_048_576  # Excel's limit, the header row included
MAX_CELL_CHARS = 32_767  # Excel's limit: a longer text (an audit event's id list) is cut, marked …
COLUMN_WIDTH = 18
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_NAME_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})

register(
    {
        "error.xlsx_too_many_rows": {
            "ja": "XLSXには{max}行までしか入りません。期間や地区を絞るか、CSVで出力してください。",
            "en": "An XLSX sheet holds at most {max} rows. Narrow the period or district, or export CSV.",
        }
    }
)


class XlsxFile:
    """One sheet written to a temporary file; `close()` returns the file's path."""

    def __init__(self, headers: Sequence[str], zone: ZoneInfo, sheet_name: str) -> None:
        handle, self.path = tempfile.mkstemp(prefix="mimamori-export-", suffix=".xlsx")
        os.close(handle)
        self._zone = zone
        self._book = xlsxwriter.Workbook(
            self.path,
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self._sheet = self._book.add_worksheet(sheet_name.translate(_SHEET_NAME_FORBIDDEN)[:31] or "Sheet1")
        self._datetime = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._text_like_formula = self._book.add_format({"quote_prefix": True})
        bold = self._book.add_format({"bold": True})
        self._sheet.set_column(0, max(len(headers) - 1, 0), COLUMN_WIDTH)
        self._sheet.freeze_panes(1, 0)
        for col, text in enumerate(headers):
            self._sheet.write_string(0, col, text, bold)
        self._row = 1

    def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            if self._row >= MAX_ROWS:
                raise InvalidInput("error.xlsx_too_many_rows", max=f"{MAX_ROWS - 1:,}")
            for col, item in enumerate(row):
                self._write(col, item)
            self._row += 1

    def _write(self, col: int, item: object) -> None:
        sheet, row = self._sheet, self._row
        if item is None or item == "":
            return
        if isinstance(item, datetime):
            local = item.astimezone(self._zone) if item.tzinfo else item
            sheet.write_datetime(row, col, local.replace(tzinfo=None), self._datetime)
        elif isinstance(item, date):
            sheet.write_datetime(row, col, item, self._date)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            sheet.write_number(row, col, item)
        else:
            text = str(item)
            if len(text) > MAX_CELL_CHARS:
                text = text[: MAX_CELL_CHARS - 1] + "…"
            if text.startswith(FORMULA_START):
                sheet.write_string(row, col, text, self._text_like_formula)
            else:
                sheet.write_string(row, col, text)

    def close(self) -> str:
        self._book.close()
        return self.path

    def discard(self) -> None:
        try:
            self._book.close()
        finally:
            _remove(self.path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
