"""Reading what a phone sends: request shape (a 400 naming the problem) and record fields
(a refusal that sends the record to quarantine; the rest of the push still applies)."""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.clock import from_millis, utcnow
from domain.errors import DomainError, InvalidInput
from domain.settings import Settings
from sync import schema
from sync.pull import MigrationSpec

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_CURSOR = 2**53 - 1
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run this far ahead of the server's
EARLIEST = datetime(2000, 1, 1).astimezone()  # nothing recorded on a phone predates this
OPERATIONS = ("created", "updated", "deleted")
# WatermelonDB's migration spec lists tables and columns: a few kilobytes at most. Longer or deeper
# input is refused before parsing (json.loads recurses per nesting level).
MAX_MIGRATION_CHARS = 8192
WRAPPER_KEYS = frozenset({"changes", "lastPulledAt", "last_pulled_at"})


def bad_request(code: str, **params: Any) -> DomainError:
    return InvalidInput(code, **params)


def parse_cursor(raw: str | None) -> int:
    if raw is None or raw.strip() in ("", "null", "undefined", "0"):
        return 0
    text = raw.strip()
    # ASCII digits only ("²".isdigit() is true) and no more than 2^53 can hold.
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        raise bad_request("error.sync.bad_cursor")
    value = int(text)
    if value > MAX_CURSOR:
        raise bad_request("error.sync.bad_cursor")
    return value


def parse_schema_version(raw: str | None) -> int:
    if raw is None or raw.strip() in ("", "null", "undefined"):
        return schema.LATEST_VERSION
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or int(text) not in schema.VERSIONS:
        raise bad_request(
            "error.sync.bad_schema_version", version=text[:20], supported=", ".join(map(str, schema.VERSIONS))
        )
    return int(text)


def parse_migration(raw: str | None, version: int) -> MigrationSpec | None:
    """WatermelonDB's `{from, tables, columns: [{table, columns}]}`, names whitelisted."""
    if raw is None or raw.strip() in ("", "null", "undefined"):
        return None
    if len(raw) > MAX_MIGRATION_CHARS:
        raise bad_request("error.sync.bad_migration", where="length")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("error.sync.bad_migration", where="json") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise bad_request("error.sync.bad_migration", where="object")
    from_version = data.get("from")
    if (
        not isinstance(from_version, int)
        or isinstance(from_version, bool)
        or not 1 <= from_version <= version
    ):
        raise bad_request("error.sync.bad_migration", where="from")
    tables = data.get("tables") or []
    cols = data.get("columns") or []
    if not isinstance(tables, list) or not isinstance(cols, list):
        raise bad_request("error.sync.bad_migration", where="tables/columns")
    for table in tables:
        if not isinstance(table, str) or table not in schema.tables(version):
            raise bad_request("error.sync.unknown_table", table=str(table)[:64])
    columns: dict[str, frozenset[str]] = {}
    for item in cols:
        if not isinstance(item, dict) or not isinstance(item.get("table"), str):
            raise bad_request("error.sync.bad_migration", where="columns")
        table = item["table"]
        if table not in schema.tables(version):
            raise bad_request("error.sync.unknown_table", table=table[:64])
        names = item.get("columns")
        if not isinstance(names, list):
            raise bad_request("error.sync.bad_migration", where="columns")
        allowed = schema.column_names(table, version)
        for name in names:
            if not isinstance(name, str) or name not in allowed:
                raise bad_request("error.sync.unknown_column", table=table, column=str(name)[:64])
        columns[table] = columns.get(table, frozenset()) | frozenset(names)
    return MigrationSpec(from_version, frozenset(tables), columns)


@dataclass(frozen=True)
class PushedRecord:
    table: str
    operation: str  # created | updated | deleted
    id: str
    data: dict[str, Any]  # the record as sent (for deletions: {"id": id}); see CUT_VALUE
    cut_fields: tuple[str, ...] = ()  # fields whose value was nested past MAX_DEPTH: the record is held


# No record of any app nests more than a few levels (body, table, operation, list, record, then a
# questionnaire's four). Deeper values are cut before anything else reads them, so that a broken or
# hostile client's record is held naming its field while the rest of its push applies — rather than
# the whole push refused (or a 500) as the interpreter's stack runs out, and the phone stuck retrying.
MAX_DEPTH = 32
CUT_VALUE = "（深すぎる入れ子のため削除 / removed: nested too deep）"  # what a held record keeps
_CUT = object()  # marks a cut value until the record it belongs to is known
# A JSON text's strings (escapes included) and brackets: enough to count nesting without recursion.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _cut_deep_text(body: bytes, placeholder: bytes) -> bytes:
    """Replace every array or object nested past MAX_DEPTH in a JSON text by the string
    `placeholder`, without recursion: for bodies too deep for json.loads itself. A text that is not
    JSON stays not JSON (json.loads then says so)."""
    pieces: list[bytes] = []
    depth, copied_to, cut_from = 0, 0, -1
    for token in _JSON_TOKEN.finditer(body):
        bracket = token.group()
        if bracket[0] == 0x22:  # a string: its brackets are text
            continue
        if bracket in (b"[", b"{"):
            depth += 1
            if depth == MAX_DEPTH + 1:
                cut_from = token.start()
        else:
            if depth == MAX_DEPTH + 1 and cut_from >= 0:
                pieces += [body[copied_to:cut_from], b'"', placeholder, b'"']
                copied_to, cut_from = token.end(), -1
            depth -= 1
    pieces.append(body[copied_to:])
    return b"".join(pieces)


def _cleaned(value: Any, depth: int = 0, placeholder: str | None = None) -> Any:
    """PostgreSQL stores no NUL in text or JSONB. A phone's note must not be refused (or stuck in a
    retry loop) for one stray NUL, so NULs are dropped from every pushed string. Arrays and objects
    nested past MAX_DEPTH (and `placeholder`, what _cut_deep_text left of them) become _CUT."""
    if isinstance(value, str):
        return _CUT if value == placeholder else value.replace("\x00", "")
    if isinstance(value, list | dict) and depth >= MAX_DEPTH:
        return _CUT
    if isinstance(value, list):
        return [_cleaned(item, depth + 1, placeholder) for item in value]
    if isinstance(value, dict):
        return {_cleaned(key): _cleaned(item, depth + 1, placeholder) for key, item in value.items()}
    return value


def _holds_cut(value: Any) -> bool:
    if value is _CUT:
        return True
    if isinstance(value, list):
        return any(_holds_cut(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_cut(item) for item in value.values())
    return False


def _uncut(value: Any) -> Any:
    """The value with CUT_VALUE where a part was cut: what the held record stores and shows."""
    if value is _CUT:
        return CUT_VALUE
    if isinstance(value, list):
        return [_uncut(item) for item in value]
    if isinstance(value, dict):
        return {key: _uncut(item) for key, item in value.items()}
    return value


def _decode_push(body: bytes) -> Any:
    try:
        return _cleaned(json.loads(body or b"null"))
    except RecursionError:
        pass
    except (ValueError, UnicodeDecodeError):
        raise bad_request("error.sync.not_json") from None
    # Deeper than json.loads can go: cut the text first (a random placeholder no client can guess).
    placeholder = "mimamori-cut-" + secrets.token_hex(16)
    try:
        return _cleaned(json.loads(_cut_deep_text(body, placeholder.encode())), placeholder=placeholder)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad_request("error.sync.not_json") from None


def parse_push(body: bytes, settings: Settings, version: int = schema.LATEST_VERSION) -> list[PushedRecord]:
    changes = _decode_push(body)
    if (
        isinstance(changes, dict)
        and isinstance(changes.get("changes"), dict)
        and changes.keys() <= WRAPPER_KEYS
    ):
        # Tolerate `{changes, lastPulledAt}` as some clients send it. Only that: a body with tables
        # beside a `changes` key would lose those tables, so `changes` is then an unknown table.
        changes = changes["changes"]
    if not isinstance(changes, dict):
        raise bad_request("error.sync.malformed", where="body")
    out: list[PushedRecord] = []
    for table, ops in changes.items():
        if table not in schema.tables(version):  # a table of a newer schema is unknown to this phone
            raise bad_request("error.sync.unknown_table", table=str(table)[:64])
        if not isinstance(ops, dict):
            raise bad_request("error.sync.malformed", where=table)
        # Counted before anything is read: one push must stay a short transaction.
        in_table = sum(len(items) for items in ops.values() if isinstance(items, list))
        if in_table > settings.sync_push_max_records_per_table:
            raise DomainError(
                "error.sync.too_many_in_table",
                status=413,
                table=table,
                count=in_table,
                max=settings.sync_push_max_records_per_table,
            )
        if len(out) + in_table > settings.sync_push_max_records:
            raise DomainError(
                "error.sync.too_many_records",
                status=413,
                count=len(out) + in_table,
                max=settings.sync_push_max_records,
            )
        seen: set[str] = set()
        for op, items in ops.items():
            if op not in OPERATIONS:
                raise bad_request("error.sync.malformed", where=f"{table}.{str(op)[:20]}")
            if not isinstance(items, list):
                raise bad_request("error.sync.malformed", where=f"{table}.{op}")
            for item in items:
                if op == "deleted":
                    record_id, data = item, {"id": item}
                else:
                    if not isinstance(item, dict):
                        raise bad_request("error.sync.malformed", where=f"{table}.{op}")
                    record_id, data = item.get("id"), item
                if not isinstance(record_id, str) or not ID_PATTERN.fullmatch(record_id):
                    raise bad_request("error.sync.bad_id", table=table)
                if record_id in seen:
                    raise bad_request("error.sync.duplicate_id", table=table, id=record_id)
                seen.add(record_id)
                cut = tuple(name for name, value in data.items() if _holds_cut(value))
                if cut:
                    data = _uncut(data)
                out.append(PushedRecord(table, op, record_id, data, cut))
    return out


class Refused(Exception):
    """A record that cannot be applied: quarantined with `reason` and `detail`."""

    def __init__(self, reason: str, **detail: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def invalid(field: str, code: str) -> Refused:
    return Refused("sync.refused.invalid", field=field, rule=code)


def forbidden(cause: str, fields: list[str] | None = None) -> Refused:
    """`cause` is one of `sync.wording.FORBIDDEN_CAUSES`; `fields` the column names refused. Both
    are stored with the held record and put into words only when someone reads them."""
    return Refused("sync.refused.forbidden", cause=cause, **({"fields": fields} if fields else {}))


# Field readers: wire value → server value, or Refused.


def read_str(
    data: dict[str, Any], name: str, *, max_len: int, optional: bool = False, default: str | None = None
) -> str | None:
    value = data.get(name, default)
    if value is None or (optional and value == ""):
        if optional:
            return None
        raise invalid(name, "field.required")
    if not isinstance(value, str):
        raise invalid(name, "field.type")
    if len(value) > max_len:
        raise invalid(name, "field.too_long")
    return value


def read_choice(data: dict[str, Any], name: str, choices: type, *, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or value not in {c.value for c in choices}:  # type: ignore[attr-defined]
        raise invalid(name, "field.not_allowed")
    return value


def read_bool(data: dict[str, Any], name: str, *, default: bool = False) -> bool:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(name, "field.type")
    return value


def read_time(
    data: dict[str, Any], name: str, *, optional: bool = False, future_ok: bool = False
) -> datetime | None:
    value = data.get(name)
    if value is None or (optional and value == 0):
        if optional:
            return None
        raise invalid(name, "field.required")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(name, "field.type")
    if not 0 <= value <= MAX_CURSOR:
        raise invalid(name, "field.range")
    try:
        moment = from_millis(value)
    except (ValueError, OverflowError, OSError):  # past the year 9999 a datetime can hold
        raise invalid(name, "field.range") from None
    assert moment is not None
    if moment < EARLIEST:
        raise invalid(name, "field.range")
    if not future_ok and moment > utcnow() + CLOCK_SKEW:
        raise invalid(name, "sync.future_time")
    return moment


def read_id(data: dict[str, Any], name: str, *, optional: bool = False) -> str | None:
    value = data.get(name)
    if value is None or (optional and value == ""):
        if optional:
            return None
        raise invalid(name, "field.required")
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise invalid(name, "field.type")
    return value


def read_json(data: dict[str, Any], name: str, kind: type, *, max_len: int = 4000) -> Any:
    """JSON-in-a-string columns (WatermelonDB has no arrays or objects)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise invalid(name, "field.type")
    try:
        parsed = _cleaned(json.loads(value))
    except (ValueError, RecursionError):  # nested deeper than the interpreter's stack allows
        raise invalid(name, "field.type") from None
    if (parsed is not None and not isinstance(parsed, kind)) or _holds_cut(parsed):
        raise invalid(name, "field.type")
    return parsed
