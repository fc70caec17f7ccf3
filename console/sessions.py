"""Console sign-in sessions (a cookie) and their CSRF tokens.

The cookie holds a random secret; the database holds its SHA-256 (`ConsoleSession`), so a copy of
the database cannot be replayed as a cookie. A session is refused once ended (sign-out, password
reset, deactivation: `api.auth.sessions.end_user_sessions`), idle too long or past its absolute
end, and whenever its user is no longer active.

CSRF: a signed double-submit token bound to the session. A second cookie holds a random nonce;
every form and HTMX request carries HMAC(secret_key, nonce, SHA-256 of the session cookie), which
a cross-site page can neither read nor compute. Binding it to the session matters where an
attacker can set cookies for the host (a sibling subdomain, plain http): a nonce and token taken
from an anonymous visit are worth nothing in somebody else's signed-in browser, since the
session cookie (HttpOnly) is part of the token. The nonce is renewed at sign-in and sign-out.
SameSite=Lax on both cookies is a second line.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from console.config import ConsoleSettings
from domain.clock import utcnow
from domain.models import ConsoleSession, User

SESSION_COOKIE = "mimamori_console"
CSRF_COOKIE = "mimamori_console_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/console"
# last_seen_at is written at most this often: a page that polls must not write on every request.
TOUCH_EVERY = timedelta(minutes=1)
MAX_LIVE_PER_USER = 10  # browsers signed in at once per person
KEEP_ENDED = timedelta(days=30)  # sessions past their end are deleted this long after


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    session: ConsoleSession
    user: User


async def start(session: AsyncSession, user: User, config: ConsoleSettings) -> str:
    """A new console session for `user`; returns the cookie value. A person holds at most
    `MAX_LIVE_PER_USER` live sessions (the oldest ends), and their sessions that ended long ago
    are deleted, so that signing in again and again cannot grow the table without bound."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    await session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.user_id == user.id, ConsoleSession.expires_at < now - KEEP_ENDED
        )
    )
    live = (
        await session.scalars(
            select(ConsoleSession)
            .where(
                ConsoleSession.user_id == user.id,
                ConsoleSession.ended_at.is_(None),
                ConsoleSession.expires_at > now,
            )
            .order_by(ConsoleSession.last_seen_at.desc(), ConsoleSession.id)
        )
    ).all()
    for old in live[MAX_LIVE_PER_USER - 1 :]:
        old.ended_at = now
    session.add(
        ConsoleSession(
            org_id=user.org_id,
            user_id=user.id,
            token_hash=_hash(token),
            started_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=config.max_hours),
        )
    )
    await session.flush()
    return token


def _idle(row: ConsoleSession, config: ConsoleSettings, now: datetime) -> bool:
    return row.last_seen_at + timedelta(minutes=config.idle_minutes) <= now


async def load(
    session: AsyncSession, token: str | None, config: ConsoleSettings, *, activity: bool = True
) -> SignedIn | None:
    """The live session behind a cookie, or None. A request the person made (`activity`) keeps
    the session from going idle; what the page does by itself (the live feed and the refreshes it
    triggers) does not, so that an unattended screen still signs itself out."""
    if not token or len(token) > 200:
        return None
    row = await session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now or _idle(row, config, now):
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.active or user.org_id != row.org_id:
        return None
    if activity and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return SignedIn(row, user)


async def still_live(session: AsyncSession, session_id: str, config: ConsoleSettings) -> bool:
    """For a long-lived stream: the session has not ended, expired or gone idle, and its user is
    still active."""
    row = await session.get(ConsoleSession, session_id, populate_existing=True)
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now or _idle(row, config, now):
        return False
    user = await session.get(User, row.user_id, populate_existing=True)
    return user is not None and user.active


async def end(session: AsyncSession, token: str | None) -> None:
    if not token or len(token) > 200:
        return
    row = await session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()


def new_csrf_nonce() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret_key: str, nonce: str, session_cookie: str | None) -> str:
    """The token for forms of the browser holding `nonce` and `session_cookie` (None before
    sign-in: the sign-in form's token is bound to the nonce only)."""
    bound = _hash(session_cookie) if session_cookie and len(session_cookie) <= 200 else ""
    message = f"console-csrf:{nonce}:{bound}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, nonce: str | None, session_cookie: str | None, presented: str | None) -> bool:
    if not nonce or not presented or len(presented) > 200:
        return False
    return hmac.compare_digest(csrf_token(secret_key, nonce, session_cookie), presented)
