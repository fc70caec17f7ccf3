"""One access-log line and one latency observation per HTTP request.

Wraps the whole application (outside Litestar's router), so that refusals the router answers itself
(404, 405) and responses built from exceptions are seen with their final status. The route is the
template the router matched (`/api/v1/residents/{resident_id}`), never the path: no ids, no query
values, no personal data. Each request gets an id (`X-Request-ID` on the response, `request_id` on
every log line written while it runs), so a report from a user can be found in the logs.
"""

from __future__ import annotations

import time
import uuid

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.metrics import HTTP_REQUEST_SECONDS

log = structlog.get_logger("mimamori.access")

UNMATCHED = "unmatched"  # no route: the raw path could hold anything a client typed
# Probes and scrapes arrive every few seconds: logged at DEBUG, counted like everything else.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        status = 500  # if nothing is sent at all
        started = time.perf_counter()

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                # Appended as it is (no handler sets it): cheaper than MutableScopeHeaders' search.
                message["headers"] = [*(message.get("headers") or ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            route = str(scope.get("path_template") or UNMATCHED)
            method = str(scope.get("method", ""))
            HTTP_REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)
            write = log.debug if route in QUIET_ROUTES else log.info
            write(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 1),
                request_id=request_id,
            )
