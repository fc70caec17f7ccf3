"""Security headers on every response (OWASP secure headers; RFC 6749 §5.1 for tokens).

* `Cache-Control: no-store` on everything under /api/: tokens and residents' data must not stay in
  a browser, proxy or phone HTTP cache.
* `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and
  `Content-Security-Policy: frame-ancestors 'none'` (with `X-Frame-Options: DENY` for old browsers):
  no page of ours can be framed. The console's pages get a strict policy (own files only).
* `Strict-Transport-Security` on responses to HTTPS requests (`MIMAMORI_HSTS_MAX_AGE_SECONDS`; 0
  turns it off). Behind a TLS-terminating proxy the request counts as HTTPS when the proxy is in
  `MIMAMORI_TRUSTED_PROXIES` and sends `X-Forwarded-Proto: https`.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


# The console's pages load only their own files (console/static): a strict policy stops injected
# markup from running scripts or sending data elsewhere.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)


def _https(scope: Scope) -> bool:
    # uvicorn sets the scheme from X-Forwarded-Proto only for trusted proxies (api/proxy.py).
    return scope.get("scheme") == "https"


def _headers(
    console: bool, api: bool, hsts_max_age: int
) -> tuple[frozenset[bytes], list[tuple[bytes, bytes]]]:
    headers = dict(ALWAYS)
    if console:
        headers["Content-Security-Policy"] = CONSOLE_CSP
    if api:
        headers["Cache-Control"] = "no-store"
    if hsts_max_age:
        headers["Strict-Transport-Security"] = f"max-age={hsts_max_age}"
    pairs = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return frozenset(name for name, _ in pairs), pairs


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, hsts_max_age: int = 0) -> None:
        self.app = app
        self.hsts_max_age = hsts_max_age
        # Encoded once per kind of response (console page, API, HTTPS), not on every response.
        self._sets = {
            (console, api, hsts): _headers(console, api, hsts_max_age if hsts else 0)
            for console in (False, True)
            for api in (False, True)
            for hsts in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        api = path.startswith("/api/")
        console = path == "/console" or path.startswith("/console/")
        hsts = self.hsts_max_age > 0 and _https(scope)
        names, pairs = self._sets[(console, api, hsts)]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Ours replace any the handler set under the same names (case-insensitively).
                kept = [(k, v) for k, v in message.get("headers") or () if bytes(k).lower() not in names]
                message["headers"] = [*kept, *pairs]
            await send(message)

        await self.app(scope, receive, send_with_headers)
