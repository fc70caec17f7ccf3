"""Access tokens (short-lived JWT) and refresh tokens (opaque, stored hashed, rotating)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from domain.clock import to_millis, utcnow
from domain.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "mimamori"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    org_id: str
    device_id: str
    issued_at_ms: int


def issue_access_token(
    secret: str, *, user_id: str, org_id: str, role: str, device_id: str, minutes: int
) -> tuple[str, int]:
    now = utcnow()
    expires_in = minutes * 60
    claims = {
        "iss": ISSUER,
        "sub": user_id,
        "org": org_id,
        "role": role,
        "dev": device_id,
        "iat": int(now.timestamp()),
        "iat_ms": to_millis(now),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires_in


def decode_access_token(secret: str, token: str) -> AccessClaims:
    try:
        claims, expires = _verified(secret, token)
    except (jwt.PyJWTError, TypeError, ValueError) as exc:  # a claim of the wrong type too
        raise Unauthorized("error.token_invalid") from exc
    if expires < utcnow().timestamp():
        # Distinct from a bad token: the app refreshes instead of sending the person to sign in.
        raise Unauthorized("error.token_expired")
    return claims


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[AccessClaims, float]:
    """Signature and claims of one token string: the same every time (a phone sends its token
    with each request until it expires), so verified once per process. Only verified tokens are
    kept (an exception is never cached); expiry is checked on every use by the caller, and whether
    the device or user may still act is read from the database on every request."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        # exp is checked against the service clock by the caller, so that tests can move time.
        options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub", "org", "dev"]},
    )
    access = AccessClaims(
        user_id=str(claims["sub"]),
        org_id=str(claims["org"]),
        device_id=str(claims["dev"]),
        issued_at_ms=int(claims.get("iat_ms") or claims.get("iat", 0) * 1000),
    )
    return access, float(claims["exp"])


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def successor_token(secret_key: str, token: str) -> str:
    """The refresh token `token` rotates into. Derived, not random, so that a retried rotation can be
    answered with the same successor (the server keeps only hashes); unguessable without the key."""
    digest = hmac.new(secret_key.encode(), b"refresh-successor:" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def refresh_expiry(days: int) -> datetime:
    return utcnow() + timedelta(days=days)
