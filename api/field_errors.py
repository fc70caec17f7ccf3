"""Turn a request's validation failure into field errors worded wholly in the reader's language.

Litestar hands over English messages only: from pydantic for request bodies (its structured errors
are still on the exception's cause) and from msgspec for query, path and header parameters. Both
are mapped here to message codes with their limits and choices as parameters, so nothing English
reaches a Japanese reader, and each field is named as the client sent it (`from`, not `from_`).
"""

from __future__ import annotations

import enum
import re
import types
import typing
from typing import Any

from litestar import Request
from litestar._signature.types import ExtendedMsgSpecValidationError
from litestar.exceptions import ValidationException
from litestar.params import ParameterKwarg
from pydantic import ValidationError as PydanticValidationError

from domain.errors import FieldError
from domain.i18n import register

register(
    {
        "field.max": {"ja": "{max} 以下にしてください。", "en": "Must be at most {max}."},
        "field.min": {"ja": "{min} 以上にしてください。", "en": "Must be at least {min}."},
        "field.lt": {"ja": "{limit} より小さくしてください。", "en": "Must be less than {limit}."},
        "field.gt": {"ja": "{limit} より大きくしてください。", "en": "Must be greater than {limit}."},
        "field.too_many": {"ja": "{max}件以内にしてください。", "en": "At most {max} items."},
        "field.too_few": {"ja": "{min}件以上にしてください。", "en": "At least {min} items."},
        "field.pattern": {"ja": "形式が正しくありません。", "en": "The format is not valid."},
        "field.empty_query": {
            "ja": "値が空です。使わないときはパラメータごと省いてください。",
            "en": "The value is empty: leave the parameter out when you do not use it.",
        },
        "field.control_characters": {
            "ja": "制御文字は使えません。",
            "en": "Control characters are not allowed.",
        },
        "field.timezone": {
            "ja": "タイムゾーン付きの日時（例: 2026-12-01T09:00:00+09:00）にしてください。",
            "en": "Give a date and time with its offset (e.g. 2026-12-01T09:00:00+09:00).",
        },
        "field.type.integer": {"ja": "整数で指定してください。", "en": "Must be a whole number."},
        "field.type.number": {"ja": "数値で指定してください。", "en": "Must be a number."},
        "field.type.string": {"ja": "文字列で指定してください。", "en": "Must be a string."},
        "field.type.boolean": {
            "ja": "true または false で指定してください。",
            "en": "Must be true or false.",
        },
        "field.type.list": {"ja": "配列（リスト）で指定してください。", "en": "Must be a list."},
        "field.type.object": {
            "ja": "JSON オブジェクト（{{…}}）で指定してください。",
            "en": "Must be a JSON object ({{…}}).",
        },
        "field.type.datetime": {
            "ja": "日時（例: 2026-12-01T09:00:00+09:00）で指定してください。",
            "en": "Must be a date and time (e.g. 2026-12-01T09:00:00+09:00).",
        },
        "field.type.date": {
            "ja": "日付（例: 2026-12-01）で指定してください。",
            "en": "Must be a date (e.g. 2026-12-01).",
        },
        "field.type.day_or_datetime": {
            "ja": "日付（例: 2026-12-01）または日時（例: 2026-12-01T09:00:00+09:00）で指定してください。",
            "en": "Must be a date (e.g. 2026-12-01) or a date and time (e.g. 2026-12-01T09:00:00+09:00).",
        },
        "field.type.time": {
            "ja": "時刻（例: 09:00 または 09:00:00）で指定してください。",
            "en": "Must be a time of day (e.g. 09:00 or 09:00:00).",
        },
        "field.type.uuid": {"ja": "UUID で指定してください。", "en": "Must be a UUID."},
    }
)

_TYPE_CODES = {
    "integer": ("int",),
    "number": ("float", "decimal"),
    "string": ("string", "str"),
    "boolean": ("bool",),
    "list": ("list", "tuple", "set", "frozenset", "array", "iterable"),
    "object": ("dict", "model", "dataclass", "object", "mapping"),
    "datetime": ("datetime",),
    "date": ("date",),
    "time": ("time",),
    "uuid": ("uuid",),
}


def _type_code(name: str) -> str:
    """`int_parsing`, `datetime_from_date_parsing`, msgspec's `int` → field.type.integer, …"""
    head = name.lower().split("_")[0]
    for code, prefixes in _TYPE_CODES.items():
        if head in prefixes:
            return f"field.type.{code}"
    return "field.type"


_QUOTED = re.compile(r"'([^']*)'")


def _choices(expected: str) -> str:
    return ", ".join(_QUOTED.findall(expected)) or expected


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _from_pydantic(error: dict[str, Any]) -> FieldError:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    loc = [str(part) for part in error.get("loc", ())]
    field = ".".join(loc) or "body"
    if kind == "missing":
        return FieldError(field, "field.required")
    if kind == "extra_forbidden":
        return FieldError(field, "field.unknown")
    if kind in {"string_too_long", "bytes_too_long"}:
        return FieldError(field, "field.too_long", {"max": ctx.get("max_length")})
    if kind in {"string_too_short", "bytes_too_short"}:
        return FieldError(field, "field.too_short", {"min": ctx.get("min_length")})
    if kind == "too_long":
        return FieldError(field, "field.too_many", {"max": ctx.get("max_length")})
    if kind == "too_short":
        return FieldError(field, "field.too_few", {"min": ctx.get("min_length")})
    limits = {
        "less_than_equal": ("field.max", "max", "le"),
        "greater_than_equal": ("field.min", "min", "ge"),
        "less_than": ("field.lt", "limit", "lt"),
        "greater_than": ("field.gt", "limit", "gt"),
    }
    if kind in limits:
        code, name, key = limits[kind]
        return FieldError(field, code, {name: _number(ctx.get(key))})
    if kind in {"enum", "literal_error"}:
        return FieldError(field, "field.not_allowed", {"choices": _choices(str(ctx.get("expected", "")))})
    if kind == "string_pattern_mismatch":
        return FieldError(field, "field.pattern")
    if kind in {"timezone_aware", "timezone_naive"}:
        return FieldError(field, "field.timezone")
    if kind.startswith("field."):
        return FieldError(field, kind)  # a validator's own message code (PydanticCustomError)
    if kind == "value_error" and "control characters" in str(ctx.get("error", "")):
        return FieldError(field, "field.control_characters")
    if kind.endswith(("_type", "_parsing", "_parsing_size")) or kind in {
        "json_invalid",
        "model_attributes_type",
    }:
        return FieldError(field, _type_code(kind))
    return FieldError(field, "field.invalid")


_LIMIT = re.compile(r"^Expected `([^`]+)` (<=|>=|<|>) (\S+)$")
_LENGTH = re.compile(r"^Expected `([^`]+)` of length (<=|>=) (\d+)$")
_TYPE = re.compile(r"^Expected `([^`|]+)(?: \| null)?`")
_RFC3339 = re.compile(r"Invalid RFC3339 encoded (datetime|date|time)")


def _from_msgspec(field: str, message: str, choices: list[str]) -> FieldError:
    if message.startswith("Invalid enum value") or ("Expected `str`" in message and choices):
        return FieldError(field, "field.not_allowed", {"choices": ", ".join(choices)})
    if m := _LENGTH.match(message):
        array = m.group(1) in {"array", "object"}
        if m.group(2) == "<=":
            return FieldError(field, "field.too_many" if array else "field.too_long", {"max": m.group(3)})
        return FieldError(field, "field.too_few" if array else "field.too_short", {"min": m.group(3)})
    if m := _LIMIT.match(message):
        value = _number(float(m.group(3))) if re.fullmatch(r"-?\d+(\.\d+)?", m.group(3)) else m.group(3)
        code, name = {
            "<=": ("field.max", "max"),
            ">=": ("field.min", "min"),
            "<": ("field.lt", "limit"),
            ">": ("field.gt", "limit"),
        }[m.group(2)]
        return FieldError(field, code, {name: value})
    if "matching regex" in message:
        return FieldError(field, "field.pattern")
    if m := _RFC3339.search(message):
        return FieldError(field, f"field.type.{m.group(1)}")
    if "Invalid UUID" in message:
        return FieldError(field, "field.type.uuid")
    if message.lower().startswith(("missing required", "object missing required", "field required")):
        return FieldError(field, "field.required")
    if "unknown field" in message.lower():
        return FieldError(field, "field.unknown")
    if m := _TYPE.match(message):
        return FieldError(field, _type_code(m.group(1)))
    return FieldError(field, "field.invalid")


def _parameters(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The handler's parameters and its dependencies', by Python name."""
    handler = request.route_handler
    found: dict[str, Any] = {}
    try:
        for provide in handler.resolve_dependencies().values():
            signature = getattr(provide, "parsed_fn_signature", None)
            if signature is not None:
                found.update(signature.parameters)
        found.update(handler.parsed_fn_signature.parameters)
    except Exception:  # naming a field must never turn a 400 into a 500
        return found
    return found


def _sent_name(definition: Any, name: str) -> str:
    kwarg = getattr(definition, "kwarg_definition", None)
    if isinstance(kwarg, ParameterKwarg):
        return kwarg.name or name  # QueryParameter(name=...); Litestar fills it from query= too
    return name


def _allowed_values(annotation: Any) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return [str(arg) for arg in typing.get_args(annotation)]
    if origin in {typing.Union, types.UnionType, typing.Annotated}:
        for arg in typing.get_args(annotation):
            if values := _allowed_values(arg):
                return values
    return []


def field_errors(request: Request[Any, Any, Any], exc: ValidationException) -> list[FieldError]:
    cause = exc.__cause__
    if isinstance(cause, ExtendedMsgSpecValidationError) and cause.errors:
        return [_from_pydantic(error) for error in cause.errors]
    if isinstance(cause, PydanticValidationError):
        return [_from_pydantic(dict(error)) for error in cause.errors()]
    parameters = _parameters(request)
    errors: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "body")
        definition = parameters.get(key)
        field = _sent_name(definition, key) if definition is not None else key
        choices = _allowed_values(definition.annotation) if definition is not None else []
        if item.get("source") == "query" and _sent_empty(request, field):
            # `?district_id=&from=` from a URL template or an empty form field: "not a valid
            # format" would send the reader looking for a typo in a value that is not there.
            errors.append(FieldError(field, "field.empty_query"))
            continue
        errors.append(_from_msgspec(field, str(item.get("message", "")), choices))
    return errors


def _sent_empty(request: Request[Any, Any, Any], name: str) -> bool:
    sent = request.query_params.getall(name, [])
    return bool(sent) and all(value == "" for value in sent)


def pydantic_field_errors(exc: PydanticValidationError) -> list[FieldError]:
    """A body model's failure as field errors (for the console's forms, which build the API's
    request bodies from form fields)."""
    return [_from_pydantic(dict(error)) for error in exc.errors()]
