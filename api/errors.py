"""One error format for the whole API: RFC 9457 problem details, in the caller's language."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from api.auth.challenge import required_headers
from api.field_errors import field_errors
from api.request_log import UNMATCHED
from domain.db import is_transient, sqlstate_of
from domain.errors import DomainError, FieldError, InvalidInput
from domain.i18n import negotiate, translate

log = structlog.get_logger("mimamori.api")

PROBLEM_JSON = "application/problem+json"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PROBLEM_TYPE = "https://mimamori.example/problems/"


def request_locale(request: Request[Any, Any, Any]) -> str:
    return negotiate(request.headers.get("accept-language"))


def problem(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    *,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> Response[dict[str, Any]]:
    locale = request_locale(request)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code.removeprefix("error.").replace(".", "-"),
        "title": translate(code, locale, **params),
        "status": status,
        "code": code,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [
            {"field": e.field, "code": e.code, "message": translate(e.code, locale, **e.params)}
            for e in errors
        ]
        body["detail"] = "; ".join(f"{e['field']}: {e['message']}" for e in body["errors"])
    if extra:
        body.update(extra)
    headers = required_headers(status, code, body, headers)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


class JsonRequest(Request[Any, Any, Any]):
    """The app's request: a JSON body nested deeper than the decoder's stack allows (about a
    thousand levels; no client of this API nests more than a handful) is the client's error, a 400
    `error.too_deep`, not the RecursionError msgspec raises, which would be a 500."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise InvalidInput("error.too_deep") from None


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    return problem(request, exc.status, exc.code, errors=exc.errors, extra=exc.extra, **exc.params)


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = field_errors(request, exc)
    if not errors and exc.detail:
        errors = [FieldError("body", "field.invalid")]
    return problem(request, 400, "error.validation", errors=errors)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    code = {
        400: "error.bad_request",
        401: "error.unauthorized",
        403: "error.forbidden",
        404: "error.not_found",
        405: "error.method_not_allowed",
        409: "error.conflict",
        413: "error.too_large",
        429: "error.rate_limited",
    }.get(status, "error.internal" if status >= 500 else "error.bad_request")
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        # Litestar wraps the decoder's error in a bare 400; say what is wrong with the body.
        code = "error.not_json"
    if status >= 500 and client_went_away(exc):
        # A phone whose connection died mid-upload: nobody is left to answer and nothing failed
        # here. 499 (nginx's "client closed request") keeps it out of the server-error figures.
        log.info("client_disconnected", route=route_of(request), method=request.method)
        return problem(request, CLIENT_CLOSED_REQUEST, "error.bad_request")
    if status >= 500:
        log.error("http_error", status=status, route=route_of(request))
    return problem(request, status, code, headers=exc.headers)


def route_of(request: Request[Any, Any, Any]) -> str:
    """The route template for a log line (`/api/v1/residents/{resident_id}`), never the path: ids
    in a path are pseudonymous but still point at one person, and logs name nobody (security.md)."""
    return str(request.scope.get("path_template") or UNMATCHED)


CLIENT_CLOSED_REQUEST = 499
_CLIENT_GONE = "client disconnected prematurely"  # what Litestar raises when a request body is cut


def client_went_away(exc: HTTPException) -> bool:
    return exc.detail == _CLIENT_GONE


def client_database_error(request: Request[Any, Any, Any], exc: Exception) -> tuple[int, str] | None:
    """The database refused something a client sent: (status, message code), logged for us to
    tighten the validation. None when the fault is ours. Shared by the API's problem+json answers
    and the console's pages, so both draw the line in the same place."""
    path = route_of(request)
    if isinstance(exc, IntegrityError):
        # A unique or foreign-key rule the service did not check first: the client's data clashes.
        log.warning("integrity_error", route=path, constraint=str(exc.orig).splitlines()[0][:200])
        return 409, "error.conflict"
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, OverflowError):
        # Only client input reaches these sizes (a year 10000, a 30-digit page number).
        log.warning("overflow", route=path)
        return 400, "error.bad_request"
    # SQLSTATE class 22 is "data exception" (NUL in text, numeric or date out of range): a value
    # validation let through, still the client's input.
    sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if isinstance(exc, DataError) or sqlstate.startswith("22"):
        log.warning("data_error", route=path, error_type=type(orig).__name__)
        return 400, "error.bad_request"
    if isinstance(exc, DBAPIError) and is_transient(exc):
        # PostgreSQL aborted this transaction to break a deadlock or a serialization conflict:
        # nothing was applied and the client may simply try again, so 409, not 500.
        log.warning("transient_conflict", route=path, sqlstate=sqlstate_of(exc))
        return 409, "error.conflict"
    return None


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    refused = client_database_error(request, exc)
    if refused is None:
        return _unexpected(request, exc)
    return problem(request, *refused)


async def reject_control_characters(request: Request[Any, Any, Any]) -> Response[dict[str, Any]] | None:
    """No legitimate client puts NUL or other control characters in a path or query string; refuse
    them before any handler passes them to the database."""
    raw = request.scope.get("path", "") + unquote(request.scope.get("query_string", b"").decode("latin-1"))
    if _CONTROL.search(raw):
        return problem(request, 400, "error.bad_request")
    return None


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled_error", route=route_of(request), error_type=type(exc).__name__)
    return problem(request, 500, "error.internal")


exception_handlers: dict[Any, Any] = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    NotAuthorizedException: _http_error,
    PermissionDeniedException: _http_error,
    NotFoundException: _http_error,
    MethodNotAllowedException: _http_error,
    TooManyRequestsException: _http_error,
    HTTPException: _http_error,
    IntegrityError: _database_error,
    DataError: _database_error,
    DBAPIError: _database_error,
    StatementError: _database_error,
    OverflowError: _database_error,
    Exception: _unexpected,
}

__all__ = [
    "HTTP_413_REQUEST_ENTITY_TOO_LARGE",
    "JsonRequest",
    "client_database_error",
    "exception_handlers",
    "problem",
    "request_locale",
]
