"""The OpenAPI document, told the truth in one place.

Litestar documents every operation with its own `{status_code, detail, extra}` 400 and nothing else,
names summaries after handlers and cannot see parameters a handler reads itself (the sync protocol).
`document()` post-processes the generated document once, for every operation by rule — the error
responses each can answer (RFC 9457 problem+json), no security on public operations, summaries
from the docstrings, `Accept-Language`, times of day as times — so no handler repeats any of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIFormat

from api.openapi_ja import SUMMARIES_JA
from api.version import build_info

PROBLEM_JSON = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch")

# Operations anybody may call: no bearer token, so no 401 or 403 either.
PUBLIC = {"healthz", "readyz", "login", "refreshToken", "activateAccount"}
# Public, yet answering 401: a wrong password, a refresh token that is no good.
SIGN_IN = {"login", "refreshToken"}
# A signed-in user acting on their own things: nothing to forbid.
OWN = {
    "getMe",
    "logout",
    "listMyVisits",
    "listMyNotifications",
    "markAllNotificationsRead",
    "markNotificationRead",
    "setPushToken",
    "clearPushToken",
    "syncPull",
    "syncPush",
    "syncSchema",
    "listLegalBasisRules",
    "listDistricts",
}
# Well-formed requests that break a rule of the domain (password policy, a legal basis that does
# not cover the recipient, a recurrence rule past its budget).
UNPROCESSABLE = {"activateAccount", "recordLegalBasis", "createPlan", "updatePlan", "previewPlan"}
# Answered 429 with Retry-After: sign-in throttling, the quarantine allowance, stream slots.
RATE_LIMITED = {"login", "activateAccount", "syncPush", "streamAlerts"}
# Operations naming a record in a query parameter: an unknown or another organisation's id is 404.
FOUND_BY_QUERY = {"activityRecord"}
# Bodies that must be a file of a given type (a CSV register).
MEDIA_TYPED = {"importResidents"}

STATUS_TEXT = {
    400: (
        "BadRequest",
        "The request is not valid: malformed JSON, an unknown or badly formed parameter, or fields "
        "that fail validation (`errors` names each field as the client sent it, with the allowed "
        "choices or limits, in the caller's language).",
    ),
    401: (
        "Unauthorized",
        "Not signed in. `error.token_expired`: refresh the access token; `error.token_invalid`: sign "
        "in again; `error.device_revoked` (with `wipe: true`): wipe local data; at sign-in, "
        "`error.login_failed`: wrong login or password.",
    ),
    403: ("Forbidden", "Signed in, but the role, assignment or consent does not allow this."),
    404: ("NotFound", "Not found, or not visible to the caller (another organisation's ids are not found)."),
    409: ("Conflict", "Conflicts with another change or existing data: fetch the latest state and retry."),
    413: ("TooLarge", "The request body, or the number of records in it, is over the limit."),
    422: ("Unprocessable", "Well-formed, but against a rule; `errors` names the rule."),
    415: ("UnsupportedMediaType", "The body is not of a type this operation reads (e.g. not a CSV file)."),
    429: (
        "TooManyRequests",
        "Too many requests: wait `Retry-After` seconds (also `retry_after` in the body).",
    ),
}


def _ref(kind: str, name: str) -> Reference:
    return Reference(ref=f"#/components/{kind}/{name}")


def _string(description: str | None = None, **extra: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, **extra)


def _problem_schemas() -> dict[str, Schema]:
    field_error = Schema(
        type=OpenAPIType.OBJECT,
        required=["field", "code", "message"],
        properties={
            "field": _string("The field as the client sent it (`from`, `device.id`, `body`)"),
            "code": _string("Stable code, e.g. field.required, field.max, field.not_allowed"),
            "message": _string("What is wrong and what is allowed, in the caller's language"),
        },
    )
    problem = Schema(
        type=OpenAPIType.OBJECT,
        description="RFC 9457 problem details. `title` and messages follow Accept-Language (ja, en).",
        required=["type", "title", "status", "code"],
        properties={
            "type": _string("A URI naming the kind of problem", format=OpenAPIFormat.URI),
            "title": _string("What went wrong, for people, in the caller's language"),
            "status": Schema(type=OpenAPIType.INTEGER, description="The HTTP status"),
            "code": _string("Stable code for programs, e.g. error.validation, error.token_expired"),
            "instance": _string("The request path"),
            "detail": _string("The field errors in one line"),
            "errors": Schema(type=OpenAPIType.ARRAY, items=_ref("schemas", "ProblemFieldError")),
            "retry_after": Schema(type=OpenAPIType.INTEGER, description="429: seconds to wait"),
            "wipe": Schema(type=OpenAPIType.BOOLEAN, description="401: the app must wipe its local data"),
        },
        examples=[
            {
                "type": "https://mimamori.example/problems/validation",
                "title": "入力内容に誤りがあります。",
                "status": 400,
                "code": "error.validation",
                "instance": "/api/v1/users",
                "errors": [
                    {"field": "page_size", "code": "field.max", "message": "200 以下にしてください。"}
                ],
            }
        ],
    )
    return {"Problem": problem, "ProblemFieldError": field_error}


def _responses() -> dict[str, OpenAPIResponse | Reference]:
    content = {PROBLEM_JSON: OpenAPIMediaType(schema=_ref("schemas", "Problem"))}
    out: dict[str, OpenAPIResponse | Reference] = {}
    for status, (name, description) in STATUS_TEXT.items():
        headers: dict[str, OpenAPIHeader | Reference] | None = None
        if status == 401:
            headers = {
                "WWW-Authenticate": OpenAPIHeader(
                    schema=_string(),
                    description='Bearer realm="mimamori"[, error="invalid_token", …] (RFC 6750)',
                )
            }
        if status == 429:
            headers = {
                "Retry-After": OpenAPIHeader(
                    schema=Schema(type=OpenAPIType.INTEGER, minimum=1), description="Seconds to wait"
                )
            }
        out[name] = OpenAPIResponse(description=description, content=content, headers=headers)
    return out


ACCEPT_LANGUAGE = Parameter(
    name="Accept-Language",
    param_in="header",
    required=False,
    description="Language of messages: ja (default) or en",
    schema=_string(examples=["ja", "en", "en-GB,en;q=0.9"]),
)

_SYNC_TABLE = Schema(
    type=OpenAPIType.OBJECT,
    required=["created", "updated", "deleted"],
    properties={
        "created": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT)),
        "updated": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT)),
        "deleted": Schema(type=OpenAPIType.ARRAY, items=_string()),
    },
)
SYNC_CHANGES = Schema(
    type=OpenAPIType.OBJECT,
    description="WatermelonDB changes: per table, flat records (string `id`, snake_case columns, "
    "times in milliseconds since the epoch) and deleted ids.",
    additional_properties=_ref("schemas", "SyncTableChanges"),
)
_CURSOR = Parameter(
    name="last_pulled_at",
    param_in="query",
    description="The `timestamp` of the last pull (the server's cursor); omit or `null` on a first sync",
    schema=Schema(one_of=[Schema(type=OpenAPIType.INTEGER, minimum=0), _string(enum=["null"])]),
)
_SCHEMA_VERSION = Parameter(
    name="schema_version",
    param_in="query",
    description="The app's local schema version (default: the newest)",
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
)


def _readiness(operation: Operation) -> None:
    """/readyz answers 503 with its own small body (not a problem: load balancers read it)."""
    if operation.operation_id != "readyz":
        return
    body = Schema(
        type=OpenAPIType.OBJECT,
        required=["status", "database"],
        properties={
            "status": _string(enum=["ok", "unavailable"]),
            "database": _string(enum=["ok", "unreachable"]),
            "migrations": _string(enum=["head", "behind"]),
            "current": Schema(type=OpenAPIType.ARRAY, items=_string()),
        },
    )
    content = {"application/json": OpenAPIMediaType(schema=body)}
    operation.responses = {
        **(operation.responses or {}),
        "200": OpenAPIResponse(
            description="Ready: the database answers at the newest migration", content=content
        ),
        "503": OpenAPIResponse(
            description="Not ready: the database is unreachable or behind", content=content
        ),
    }


def _sync(operation: Operation) -> None:
    """The sync handlers read their query and body themselves (the WatermelonDB wire format)."""
    if operation.operation_id == "syncPull":
        migration = Parameter(
            name="migration",
            param_in="query",
            description='WatermelonDB migration sync, as JSON: {"from": N, "tables": [...], "columns": [...]}',
            schema=_string(),
        )
        operation.parameters = [_CURSOR, _SCHEMA_VERSION, migration, *(operation.parameters or [])]
        operation.responses = operation.responses or {}
        operation.responses["200"] = OpenAPIResponse(
            description="Changes within the phone's scope and the new cursor",
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["changes", "timestamp"],
                        properties={
                            "changes": _ref("schemas", "SyncChanges"),
                            "timestamp": Schema(
                                type=OpenAPIType.INTEGER, description="The next `last_pulled_at`"
                            ),
                        },
                    )
                )
            },
        )
    elif operation.operation_id == "syncPush":
        operation.parameters = [_CURSOR, _SCHEMA_VERSION, *(operation.parameters or [])]
        operation.request_body = RequestBody(
            required=True,
            description="The changes object itself, as WatermelonDB's `pushChanges` sends it",
            content={"application/json": OpenAPIMediaType(schema=_ref("schemas", "SyncChanges"))},
        )


_SENTENCE_END = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=\.)\s|(?<=。)")


def summary_of(operation: Operation) -> str:
    """The docstring's first sentence, not the handler's name."""
    text = " ".join((operation.description or "").split("\n\n")[0].split())
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip().rstrip(".")
    if not first:
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", operation.operation_id or "").lower()
        return words.capitalize()
    return first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + " …"


def _statuses(operation: Operation, method: str, path: str) -> list[int]:
    op_id = operation.operation_id or ""
    statuses = [400]
    if op_id not in PUBLIC or op_id in SIGN_IN:
        statuses.append(401)
    if op_id not in PUBLIC and op_id not in OWN:
        statuses.append(403)
    if "{" in path or op_id in FOUND_BY_QUERY:
        statuses.append(404)
    if method != "get":
        statuses.append(409)
    if operation.request_body is not None:
        statuses.append(413)
    if op_id in MEDIA_TYPED:
        statuses.append(415)
    if op_id in UNPROCESSABLE:
        statuses.append(422)
    if op_id in RATE_LIMITED:
        statuses.append(429)
    return statuses


def _problem(response: OpenAPIResponse | Reference) -> bool:
    return isinstance(response, OpenAPIResponse) and PROBLEM_JSON in (response.content or {})


def _times_of_day(schema: Schema | Reference | None) -> None:
    """Litestar declares `datetime.time` as `format: duration`; the API takes "09:00:00"."""
    if not isinstance(schema, Schema):
        return
    if schema.format == OpenAPIFormat.DURATION:
        schema.format = OpenAPIFormat.TIME
        schema.pattern = r"^\d{2}:\d{2}(:\d{2})?$"
        schema.examples = ["09:00:00"]
    for child in (schema.properties or {}).values():
        _times_of_day(child)
    for child in (*(schema.one_of or ()), *(schema.any_of or ()), *(schema.all_of or ())):
        _times_of_day(child)
    if isinstance(schema.items, Schema):
        _times_of_day(schema.items)


def document(openapi: OpenAPI) -> OpenAPI:
    components = openapi.components
    components.schemas.update(_problem_schemas())
    components.schemas["SyncChanges"] = SYNC_CHANGES
    components.schemas["SyncTableChanges"] = _SYNC_TABLE
    components.responses = {**(components.responses or {}), **_responses()}
    components.parameters = {**(components.parameters or {}), "AcceptLanguage": ACCEPT_LANGUAGE}
    for schema in components.schemas.values():
        _times_of_day(schema)
    for path, item in (openapi.paths or {}).items():
        for method in METHODS:
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            _sync(operation)
            _readiness(operation)
            for parameter in operation.parameters or []:
                if isinstance(parameter, Parameter):
                    _times_of_day(parameter.schema)
            english = summary_of(operation)
            japanese = SUMMARIES_JA.get(operation.operation_id or "")
            # Japanese first (the people reading are mostly in Japan), the English right after.
            operation.summary = f"{japanese} / {english}" if japanese else english
            if operation.operation_id in PUBLIC:
                operation.security = []
            # Litestar's own 4xx/5xx entries go; a handler's own problem+json answer (a richer body,
            # e.g. the CSV import's full report) stays.
            kept = {k: v for k, v in (operation.responses or {}).items() if k[0] not in "45" or _problem(v)}
            responses = {**kept, **{k: v for k, v in (operation.responses or {}).items() if k == "503"}}
            for status in _statuses(operation, method, path):
                responses.setdefault(str(status), _ref("responses", STATUS_TEXT[status][0]))
            operation.responses = responses
            operation.parameters = [*(operation.parameters or []), _ref("parameters", "AcceptLanguage")]
    return openapi


class _DocumentedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's plugin, building the document lazily as before and then `document()`-ing it."""

    __slots__ = ()

    def provide_openapi(self) -> OpenAPI:
        if not self._openapi:
            self._openapi = document(self._build_openapi())
        return self._openapi


def openapi_config(render_plugins: Sequence[OpenAPIRenderPlugin] = ()) -> OpenAPIConfig:
    """`render_plugins`: the docs pages, on vendored assets (nothing from a CDN)."""
    return OpenAPIConfig(
        title="Mimamori API",
        version=build_info().full,  # e.g. 0.1.0+abc123def456: the release and the commit it runs
        description="見守り — visits, contact notes, alerts and offline sync for welfare commissioners, "
        "volunteers and coordinators. Errors are RFC 9457 problem details (`application/problem+json`) "
        "in the caller's language (Accept-Language: ja, default, or en).",
        path="/schema",
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        security=[{"BearerToken": []}],
        use_handler_docstrings=True,
        render_plugins=list(render_plugins),
    )


def install(app: Litestar) -> None:
    """Make `app` serve the post-processed document (built on first request, as before)."""
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _DocumentedOpenAPIPlugin
