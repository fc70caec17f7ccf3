"""The headers that RFC 6750 and RFC 9110 ask of a 401 and a 429, added to every such answer in
one place (api/errors.py `problem`), whichever slice raised it."""

from __future__ import annotations

from typing import Any

REALM = "mimamori"
# Codes that say "the token you sent is no good" (RFC 6750 §3.1 invalid_token); any other 401 (no
# token at all, a wrong password at sign-in) is a bare challenge, as RFC 6750 §3 asks.
INVALID_TOKEN = {
    "error.token_invalid": "The access token is invalid",
    "error.token_expired": "The access token expired",
    "error.device_revoked": "The device was revoked",
    "error.user_inactive": "The account is not active",
    "error.refresh_reused": "The session was ended",
}
DEFAULT_RETRY_AFTER = 60  # seconds, for a 429 whose cause did not say


def www_authenticate(code: str) -> str:
    description = INVALID_TOKEN.get(code)
    if description is None:
        return f'Bearer realm="{REALM}"'
    return f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'


def required_headers(
    status: int, code: str, body: dict[str, Any], headers: dict[str, str] | None
) -> dict[str, str]:
    """`headers` plus WWW-Authenticate on a 401 and Retry-After (seconds) on a 429."""
    out = dict(headers or {})
    names = {name.lower() for name in out}
    if status == 401 and "www-authenticate" not in names:
        out["WWW-Authenticate"] = www_authenticate(code)
    if status == 429 and "retry-after" not in names:
        retry_after = body.get("retry_after")
        seconds = retry_after if isinstance(retry_after, int) and retry_after > 0 else DEFAULT_RETRY_AFTER
        out["Retry-After"] = str(seconds)
        body.setdefault("retry_after", seconds)
    return out
