"""One way to send an export in the format the reader asked for (`?format=`):

- `csv` (default): UTF-8 with a byte-order mark, streamed as it is written (see `csv_export`);
- `csv-cp932`: the same CSV in Shift_JIS (CP932) for Excel on PCs that cannot read UTF-8;
  characters CP932 cannot hold become 〓, and `X-Replaced-Characters` says how many;
- `xlsx`: an Excel workbook (see `xlsx`).

The CP932 and XLSX files are first written to a temporary file (their size, the replaced count,
the XLSX zip directory are known only at the end), which is unlinked as soon as it is open and
streamed from there: memory follows a batch of rows, not the file, in every format.

Rows are read in batches by the caller; a cell is text, a number, a `date` or an aware `datetime`
(shown in the organisation's zone: as text in CSV, as a real Excel date in XLSX).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, Final, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from api.reports import cp932, csv_export, xlsx
from domain.i18n import register, translate

ExportFormat = Literal["csv", "csv-cp932", "xlsx"]
ListFormat = Literal["json", "csv", "csv-cp932", "xlsx"]
EXPORT_FORMATS: Final = ("csv", "csv-cp932", "xlsx")
REPLACED_HEADER: Final = "X-Replaced-Characters"
EXPOSED_EXPORT_HEADERS: Final = ("Content-Disposition", REPLACED_HEADER)  # to browsers under CORS
CHUNK_BYTES = 64 * 1024

FORMAT_DESCRIPTION = (
    "csv (default): UTF-8 with BOM, streamed; csv-cp932: Shift_JIS (CP932) for Excel on PCs that "
    "cannot read UTF-8, characters CP932 cannot hold written as 〓 and counted in the "
    f"{REPLACED_HEADER} header; xlsx: an Excel workbook (header row frozen, times as Excel dates "
    "in the organisation's zone)"
)
_EXTENSIONS = {"csv": "csv", "csv-cp932": "csv", "xlsx": "xlsx"}
# (media type, charset): Litestar adds the charset to text/* types itself
_MEDIA_TYPES = {
    "csv": ("text/csv", "utf-8"),
    "csv-cp932": ("text/csv", "Shift_JIS"),
    "xlsx": (xlsx.MEDIA_TYPE, "utf-8"),
}

register(
    {
        "export.title.residents": {"ja": "住民一覧", "en": "residents"},
        "export.title.contact-notes": {"ja": "接触記録", "en": "contact-notes"},
        "export.title.visits": {"ja": "訪問", "en": "visits"},
        "export.title.alerts": {"ja": "アラート", "en": "alerts"},
        "export.title.audit-log": {"ja": "監査ログ", "en": "audit-log"},
        "export.title.working-list": {"ja": "未接触リスト", "en": "working-list"},
        "export.title.coverage": {"ja": "地区別カバー状況", "en": "coverage"},
    }
)


@dataclass(frozen=True)
class ExportFile:
    """What the file is called and whose calendar it follows."""

    stem: str  # ASCII, e.g. "residents"; the file name is "<stem>-<day>.<ext>"
    day: date  # the organisation's today
    zone: ZoneInfo
    locale: str

    def title(self) -> str:
        code = f"export.title.{self.stem}"
        text = translate(code, self.locale)
        return self.stem if text == code else text


def content_disposition(file: ExportFile, fmt: str) -> str:
    """An ASCII `filename` for old clients and the reader-language name as RFC 5987 `filename*`."""
    ext = _EXTENSIONS[fmt]
    plain = f"{file.stem}-{file.day.isoformat()}.{ext}"
    local = f"{file.title()}-{file.day.isoformat()}.{ext}"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(local, safe='')}"


class FileStream(Stream):
    """Litestar 2's `Stream.to_asgi_response` prefers the handler's media type (JSON when the
    handler also answers JSON) over the response's own: keep ours."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["media_type"] = self.media_type
        return super().to_asgi_response(*args, **kwargs)


Batches = AsyncIterator[Iterable[Sequence[object]]]


async def export_response(
    fmt: ExportFormat,
    file: ExportFile,
    headers: Sequence[str],
    batches: Batches,
    *,
    session: AsyncSession,
) -> Stream:
    """`session`: the request's, holding the export's audit event. A file written before it is
    sent (CP932, XLSX) takes seconds for a town: the session is committed first, so the audit
    event is kept and no lock (SQLite's write lock) is held while the file is written."""
    if fmt != "csv":
        await session.commit()
    response_headers = {"Content-Disposition": content_disposition(file, fmt), "Cache-Control": "no-store"}
    if fmt == "csv":
        body: AsyncIterator[bytes] = csv_export.csv_chunks(headers, batches, file.zone)
    elif fmt == "csv-cp932":
        spooled, replaced = await _cp932_file(headers, batches, file.zone)
        response_headers[REPLACED_HEADER] = str(replaced)
        body = _read_and_close(spooled)
    else:
        body = _read_and_close(await _xlsx_file(headers, batches, file))
    media_type, charset = _MEDIA_TYPES[fmt]
    return FileStream(body, media_type=media_type, encoding=charset, headers=response_headers)


async def _cp932_file(headers: Sequence[str], batches: Batches, zone: ZoneInfo) -> tuple[IO[bytes], int]:
    spooled = tempfile.TemporaryFile(prefix="mimamori-export-")  # no name: gone when closed
    replaced = 0
    try:
        async for chunk in csv_export.csv_text_chunks(headers, batches, zone):
            data, count = cp932.encode(chunk)
            spooled.write(data)
            replaced += count
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled, replaced


async def _xlsx_file(headers: Sequence[str], batches: Batches, file: ExportFile) -> IO[bytes]:
    book = xlsx.XlsxFile(headers, file.zone, file.title())
    try:
        async for rows in batches:
            # Cells are made here (they may touch loaded rows); XlsxWriter's ~50 µs a cell runs
            # in a thread, so a town's workbook does not stall the event loop for seconds.
            cells = [list(row) for row in rows]
            await asyncio.to_thread(book.write_rows, cells)
        path = await asyncio.to_thread(book.close)  # zips the sheet: off the event loop
    except BaseException:
        book.discard()
        raise
    try:
        opened: IO[bytes] = await asyncio.to_thread(open, path, "rb")
    finally:
        os.unlink(path)  # an open handle keeps the data until it is closed
    return opened


async def _read_and_close(handle: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()
