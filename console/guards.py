"""CSRF protection for every state-changing request to the console (see console/sessions.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from console import sessions
from domain.errors import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    presented = connection.headers.get(sessions.CSRF_HEADER)
    if not presented and isinstance(connection, Request):
        # A plain form post; the form is parsed once and kept for the handler.
        value = (await connection.form()).get(sessions.CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    secret_key = connection.app.state.settings.secret_key
    cookies = connection.cookies
    session_cookie = cookies.get(sessions.SESSION_COOKIE)
    if not sessions.csrf_valid(secret_key, cookies.get(sessions.CSRF_COOKIE), session_cookie, presented):
        raise Forbidden("error.console.csrf")
