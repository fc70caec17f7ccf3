"""Rendering helpers: the language of a page, times in the organisation's zone, the CSRF token, and
the template context every page shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template

import console.messages  # registers the catalogue (with the next lines)
import console.messages_lists
import console.messages_people
import console.messages_resident  # noqa: F401
from console import sessions
from console.config import console_settings
from domain.access import Principal
from domain.clock import zone_named
from domain.i18n import negotiate, translate
from domain.settings import Settings

HTMX_HEADER = "hx-request"


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get(HTMX_HEADER) == "true"


def page_locale(request: Request[Any, Any, Any], principal: Principal | None) -> str:
    """The person's own setting once signed in; before that the browser's Accept-Language."""
    if principal is not None and principal.locale in ("ja", "en"):
        return principal.locale
    return negotiate(request.headers.get("accept-language"))


def translator(locale: str) -> Callable[..., str]:
    def t(code: str, **params: Any) -> str:
        return translate(code, locale, **params)

    return t


def labeller(locale: str) -> Callable[[str, str], str]:
    """A closed-list value in words (an alert kind, an outcome); the raw value if it has none."""

    def label(prefix: str, value: str) -> str:
        text = translate(prefix + value, locale)
        return value if text == prefix + value else text

    return label


def time_formatter(timezone: str, locale: str) -> Callable[[datetime | None], str]:
    """Times shown in the organisation's zone, never UTC."""
    zone = zone_named(timezone)

    def local(moment: datetime | None) -> str:
        if moment is None:
            return ""
        here = moment.astimezone(zone)
        return here.strftime("%Y/%m/%d %H:%M") if locale == "ja" else here.strftime("%d %b %Y %H:%M")

    return local


def secure_cookies(settings: Settings) -> bool:
    configured = console_settings().secure_cookie
    return settings.is_production if configured is None else configured


def cookie(name: str, value: str, settings: Settings, *, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        path=sessions.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        max_age=max_age,
    )


def csrf_nonce(request: Request[Any, Any, Any]) -> tuple[str, Cookie | None]:
    """The request's CSRF nonce, and the cookie to set when the browser has none yet."""
    nonce = request.cookies.get(sessions.CSRF_COOKIE)
    if nonce and 10 <= len(nonce) <= 100:
        return nonce, None
    nonce = sessions.new_csrf_nonce()
    return nonce, cookie(sessions.CSRF_COOKIE, nonce, request.app.state.settings)


def render(
    request: Request[Any, Any, Any],
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    nonce: str | None = None,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    settings: Settings = request.app.state.settings
    cookies = list(cookies or [])
    if nonce is None:
        nonce, new_cookie = csrf_nonce(request)
        if new_cookie is not None:
            cookies.append(new_cookie)
    locale = page_locale(request, principal)
    timezone = principal.timezone if principal else settings.default_timezone
    return Template(
        template_name=template,
        context={
            "lang": locale,
            "t": translator(locale),
            "label": labeller(locale),
            "user_name": request.scope.get("state", {}).get("console_user_name"),
            "local_time": time_formatter(timezone, locale),
            "csrf_token": sessions.csrf_token(
                settings.secret_key, nonce, request.cookies.get(sessions.SESSION_COOKIE)
            ),
            "csrf_field": sessions.CSRF_FIELD,
            "principal": principal,
            **context,
        },
        status_code=status_code,
        cookies=cookies,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
