"""The console's pages and actions. Thin: sign-in goes through `api.auth.service.check_credentials`
(the phones' password check and throttle), alerts through `notifications.alert_handling` (the API's
service), permissions through `domain.access`."""

from __future__ import annotations

from typing import Any, get_args

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, ServerSentEvent, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.service import check_credentials
from api.proxy import client_address
from console import sessions
from console.config import console_settings
from console.stream import console_alert_events, stream_slots
from console.today import today
from console.views import cookie, is_htmx, render
from domain.access import Principal
from domain.enums import Role
from domain.errors import Forbidden, InvalidInput, RateLimited, Unauthorized
from domain.principals import principal_of
from domain.settings import Settings, get_settings
from notifications import alert_handling
from notifications.schemas import ResolveIn
from notifications.stream_slots import parse_last_event_id

HOME = "/console"
PASSIVE = "console_passive"  # route opt: the page calls it by itself; not the person's activity
SIGN_IN = "/console/sign-in"
# What a person may choose, and how long a note may be: the API's own rules (ResolveIn).
RESOLUTIONS: tuple[str, ...] = get_args(ResolveIn.model_fields["resolution"].annotation)
NOTE_MAX = 2000


def _field(form: Any, name: str, max_length: int) -> str:
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    if len(text) > max_length:
        raise InvalidInput.field(name, "field.too_long", max=max_length)
    return text


class SignInController(Controller):
    """Sign-in and sign-out: no session needed to reach them."""

    path = "/"

    @get("/sign-in", name="console.sign_in")
    async def sign_in_form(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        token = request.cookies.get(sessions.SESSION_COOKIE)
        if token and await sessions.load(db_session, token, console_settings()) is not None:
            return Redirect(HOME, status_code=303)  # already signed in
        return render(request, "sign_in.html.j2", None, notice=request.query_params.get("notice"))

    @post("/sign-in", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        form = await request.form()
        login = _field(form, "login", 100)
        password = _field(form, "password", 1024)
        try:
            user = await check_credentials(
                db_session, settings, login, password, client_address(request, settings)
            )
        except (Unauthorized, RateLimited) as refused:
            headers = {}
            if isinstance(refused, RateLimited):
                headers["Retry-After"] = str(refused.extra.get("retry_after", 1))
            return render(
                request,
                "sign_in.html.j2",
                None,
                status_code=refused.status,
                headers=headers,
                error_code=refused.code,
                error_params=refused.params,
                login=login,
            )
        token = await sessions.start(db_session, user, console_settings())
        await db_session.commit()  # the autocommit hook commits 2xx answers only, not this redirect
        # A new CSRF nonce with the new session: a token seen before sign-in is worth nothing after.
        nonce = sessions.new_csrf_nonce()
        return Redirect(
            HOME,
            status_code=303,
            cookies=[
                cookie(sessions.SESSION_COOKIE, token, settings),
                cookie(sessions.CSRF_COOKIE, nonce, settings),
            ],
        )

    @post("/sign-out", status_code=303)
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        await sessions.end(db_session, request.cookies.get(sessions.SESSION_COOKIE))
        await db_session.commit()  # a redirect: the autocommit hook would not commit it
        response: Response[Any] = Redirect(f"{SIGN_IN}?notice=signed_out", status_code=303)
        response.delete_cookie(sessions.SESSION_COOKIE, path=sessions.COOKIE_PATH)
        response.delete_cookie(sessions.CSRF_COOKIE, path=sessions.COOKIE_PATH)
        if is_htmx(request):
            response.headers["HX-Redirect"] = f"{SIGN_IN}?notice=signed_out"
        return response


async def provide_console_principal(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Principal:
    """The console's `principal`: from the session cookie (never a bearer token)."""
    signed_in = await sessions.load(
        db_session,
        request.cookies.get(sessions.SESSION_COOKIE),
        console_settings(),
        activity=not request.route_handler.opt.get(PASSIVE),
    )
    if signed_in is None:
        raise Unauthorized("console.session_ended")
    principal = await principal_of(db_session, signed_in.user)
    request.scope["state"]["principal"] = principal
    request.scope["state"]["console_session_id"] = signed_in.session.id
    request.scope["state"]["console_user_name"] = signed_in.user.display_name
    return principal


def _volunteer(principal: Principal) -> bool:
    return principal.role == Role.VOLUNTEER


class TodayController(Controller):
    """Today: open alerts, urgent first, live; acknowledge and resolve."""

    path = "/"

    @get("/", name="console.today")
    async def page(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        if _volunteer(principal):
            # Volunteers work in the phone app; the console has nothing of theirs to show.
            return render(request, "volunteer.html.j2", principal)
        return render(
            request,
            "today.html.j2",
            principal,
            today=await today(db_session, principal),
            resolutions=RESOLUTIONS,
        )

    @get("/alerts", name="console.today_alerts", opt={PASSIVE: True})
    async def lists(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """The two alert lists alone: what HTMX fetches when the live feed says something changed."""
        if _volunteer(principal):
            raise Forbidden()
        return render(
            request,
            "_alert_lists.html.j2",
            principal,
            today=await today(db_session, principal),
            resolutions=RESOLUTIONS,
        )

    @get("/alerts/stream", opt={"no_compression": True, PASSIVE: True})  # gzip would hold events back
    async def stream(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> ServerSentEvent:
        if _volunteer(principal):
            raise Forbidden()
        config = get_settings().push
        last_event_id = parse_last_event_id(request.headers.get("last-event-id"))
        slot = stream_slots(request.app.state).acquire(principal, config)
        return ServerSentEvent(
            console_alert_events(
                request.app.state.db_config,
                principal,
                request.scope["state"]["console_session_id"],
                config,
                last_event_id=last_event_id,
                slot=slot,
            )
        )

    @post("/alerts/{alert_id:str}/acknowledge", status_code=200)
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        alert_id: FromPath[str],
    ) -> Response[Any]:
        alert = await alert_handling.acknowledge(db_session, principal, alert_id)
        return await self._after_action(
            request, principal, db_session, "console.alert.acknowledged_flash", alert.resident_name
        )

    @post("/alerts/{alert_id:str}/resolve", status_code=200)
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        alert_id: FromPath[str],
    ) -> Response[Any]:
        form = await request.form()
        resolution = _field(form, "resolution", 40)
        if resolution not in RESOLUTIONS:
            raise InvalidInput.field("resolution", "field.not_allowed", choices=", ".join(RESOLUTIONS))
        note = _field(form, "note", NOTE_MAX).strip() or None
        alert = await alert_handling.resolve(db_session, principal, alert_id, resolution, note)
        return await self._after_action(
            request, principal, db_session, "console.alert.resolved_flash", alert.resident_name
        )

    async def _after_action(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        db_session: AsyncSession,
        message_code: str,
        resident_name: str | None,
    ) -> Response[Any]:
        if not is_htmx(request):  # a plain form post (no JavaScript): back to the page
            await db_session.commit()  # a redirect: the autocommit hook would not commit it
            return Redirect(HOME, status_code=303)
        return render(
            request,
            "_alert_lists.html.j2",
            principal,
            today=await today(db_session, principal),
            resolutions=RESOLUTIONS,
            flash_code=message_code,
            flash_params={"name": resident_name or ""},
        )
