"""Unknown query parameters on a GET under /api/ are refused, never silently ignored.

A typo (`?last_contact_befor=`) or a filter the endpoint does not have (`?sort=` where there is no
sort) used to answer 200 with the whole, unfiltered list, which a coordinator takes for the answer
to the question they asked. Every GET handler's accepted names are what it declares: the query
parameters Litestar resolves for it (its own signature and its dependencies', e.g. `page`), plus
the names a handler that reads its query by hand lists in its `opt` under `QUERY_PARAMS_OPT`
(sync pull). Decided here, once, for every route.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from litestar.routes import HTTPRoute

from api.errors import problem
from domain.errors import FieldError
from domain.i18n import register

QUERY_PARAMS_OPT = "query_params"  # handler opt: names a handler reads from the query by hand
_STATE_KEY = "declared_query_params"
_GUARDED_METHODS = frozenset({"GET", "HEAD"})
_MAX_ECHOED = 20  # a refusal names at most this many unknown names, each cut to 64 characters

register(
    {
        "error.unknown_query_parameters": {
            "ja": "使用できないクエリパラメータがあります: {names}（使用できるもの: {allowed}）",
            "en": "Unknown query parameters: {names} (this endpoint accepts: {allowed})",
        },
        "field.unknown_query_parameter": {
            "ja": "このエンドポイントでは使用できないパラメータです。",
            "en": "This endpoint has no such parameter.",
        },
    }
)


def declared_query_params(app: Litestar) -> dict[int, frozenset[str]]:
    """Handler (by identity) → the query parameter names it accepts, read once from the routes."""
    declared: dict[int, frozenset[str]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, kwargs_model in route.route_handler_map.values():
            names = {param.field_alias for param in kwargs_model.expected_query_params}
            names.update(handler.opt.get(QUERY_PARAMS_OPT, ()))
            declared[id(handler)] = frozenset(names)
    return declared


def remember_declared(app: Litestar) -> None:
    app.state[_STATE_KEY] = declared_query_params(app)


async def refuse_unknown_query_params(request: Request[Any, Any, Any]) -> Response[dict[str, Any]] | None:
    # The scope's path, not `request.url`: building the URL object cost more than this whole check.
    if request.method not in _GUARDED_METHODS or not str(request.scope.get("path", "")).startswith("/api/"):
        return None
    sent = request.query_params.keys()
    if not sent:
        return None
    declared: dict[int, frozenset[str]] = request.app.state[_STATE_KEY]
    allowed = declared.get(id(request.route_handler), frozenset())
    unknown = sorted({name[:64] for name in sent if name not in allowed})
    if not unknown:
        return None
    unknown = unknown[:_MAX_ECHOED]
    return problem(
        request,
        400,
        "error.unknown_query_parameters",
        errors=[FieldError(name, "field.unknown_query_parameter") for name in unknown],
        extra={"unknown_parameters": unknown, "allowed_parameters": sorted(allowed)},
        names=", ".join(unknown),
        allowed=", ".join(sorted(allowed)) or "-",
    )
