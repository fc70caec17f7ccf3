"""How the console answers errors: pages and fragments in the person's language, not the API's
problem+json. Not signed in → to the sign-in page (for HTMX: `HX-Redirect`). Any other refusal →
an error page, or for an HTMX request a message swapped into the page's status area (`#flash`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from api.errors import client_database_error, route_of
from console.views import is_htmx, render
from domain.errors import DomainError, FieldError, Unauthorized

SIGN_IN = "/console/sign-in"
log = structlog.get_logger("mimamori.console")


def _principal(request: Request[Any, Any, Any]) -> Any:
    return request.scope.get("state", {}).get("principal")


def _refusal(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    params: dict[str, Any],
    errors: list[FieldError] | None = None,
) -> Response[Any]:
    if is_htmx(request):
        return render(
            request,
            "_flash.html.j2",
            _principal(request),
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
            message_code=code,
            message_params=params,
            error=True,
        )
    return render(
        request,
        "error.html.j2",
        _principal(request),
        status_code=status,
        message_code=code,
        message_params=params,
        field_errors=errors or [],
    )


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, Unauthorized):
        if is_htmx(request):
            return Response(None, status_code=401, headers={"HX-Redirect": SIGN_IN})
        return Redirect(SIGN_IN, status_code=303)
    return _refusal(request, exc.status, exc.code, exc.params, exc.errors)


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return _refusal(request, 400, "error.validation", {})


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("console_http_error", status=exc.status_code, route=route_of(request))
        return _refusal(request, 500, "error.internal", {})
    codes = {
        401: "error.unauthorized",
        403: "error.forbidden",
        404: "error.not_found",
        405: "error.method_not_allowed",
        429: "error.rate_limited",
    }
    return _refusal(request, exc.status_code, codes.get(exc.status_code, "error.bad_request"), {})


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The same line as the API's (a clash is 409, a value past what can be stored 400), but the
    # console's own page or #flash message, never the API's problem+json.
    refused = client_database_error(request, exc)
    if refused is None:
        log.exception("console_unexpected_error", route=route_of(request), error_type=type(exc).__name__)
        return _refusal(request, 500, "error.internal", {})
    status, code = refused
    return _refusal(request, status, code, {})


console_exception_handlers: dict[Any, Any] = {
    # Each listed, not only StatementError: the API's handlers for the subclasses would be found
    # first otherwise (a handler is looked up by the exception's own class before its bases).
    OverflowError: _database_error,
    IntegrityError: _database_error,
    DataError: _database_error,
    DBAPIError: _database_error,
    StatementError: _database_error,
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
}


def outside_routes(api_handler: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
    """For a 404 or 405 raised before any route matched (no such page, a method the page does not
    take), which the console's own handlers never see: the console's page or `#flash` message
    under /console, the API's problem+json elsewhere."""

    def handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        path = request.scope.get("path", "")
        if path == "/console" or path.startswith("/console/"):
            response = _http_error(request, exc)
            response.headers.update(exc.headers or {})  # a 405's Allow (RFC 9110)
            return response
        return api_handler(request, exc)

    return handler
