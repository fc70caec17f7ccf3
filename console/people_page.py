"""People and phones: the organisation's users and their devices (coordinators).

Every change goes through `api.organisation.service`, the service behind /api/v1/users — the same
permission check (`may_manage_users`), the same organisation scope (another organisation's ids are
"not found"), the same audit events: create a user (the one-time activation code is shown once, on
the answer to that POST, never in a URL), reissue a code, unlock a slowed sign-in, deactivate,
revoke a phone. Only the cookie session differs from the API's bearer token.

Plain form posts. A change that leaves nothing to show (unlock, deactivate, revoke) answers with a
redirect back to the list and a fixed notice (post-redirect-get: a reload does not post again);
pressing twice is harmless anyway (unlocking, deactivating or revoking twice changes nothing more).
A refusal (a login that cannot be used, a user who still has residents) is shown on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import throttle
from api.field_errors import pydantic_field_errors
from api.organisation import service
from api.organisation.schemas import DeviceOut, UserAdminOut, UserIn, UserPatch
from console.filters import Pager, link
from console.views import render
from domain.access import Principal
from domain.enums import Role
from domain.errors import Conflict, DomainError, InvalidInput, NotFound
from domain.models import AuditEvent, ConsoleSession
from domain.settings import Settings

PATH = "/console/people"
PAGE_SIZE = 50
# What a redirect may announce: a fixed list, so that a crafted link cannot put words on the page.
NOTICES = ("unlocked", "not_slowed", "deactivated", "revoked")


@dataclass(frozen=True)
class Person:
    user: UserAdminOut
    devices: list[DeviceOut]
    slowed: bool
    last_sign_in: datetime | None


async def _last_sign_ins(session: AsyncSession, principal: Principal, ids: list[str]) -> dict[str, datetime]:
    """The latest sign-in per person: a phone's (audited as `sign_in`) or the console's (a session)."""
    if not ids:
        return {}
    phone = await session.execute(
        select(AuditEvent.actor_id, func.max(AuditEvent.at))
        .where(
            AuditEvent.org_id == principal.org_id,
            AuditEvent.action == "sign_in",
            AuditEvent.actor_id.in_(ids),
        )
        .group_by(AuditEvent.actor_id)
    )
    console = await session.execute(
        select(ConsoleSession.user_id, func.max(ConsoleSession.started_at))
        .where(ConsoleSession.org_id == principal.org_id, ConsoleSession.user_id.in_(ids))
        .group_by(ConsoleSession.user_id)
    )
    latest: dict[str, datetime] = {}
    for user_id, at in [*phone.tuples().all(), *console.tuples().all()]:
        if user_id and at and (user_id not in latest or at > latest[user_id]):
            latest[user_id] = at
    return latest


async def people(
    session: AsyncSession, principal: Principal, settings: Settings, q: str | None, page: int
) -> tuple[list[Person], int]:
    users, total = await service.list_users(  # refuses anybody but coordinators (403)
        session,
        principal,
        role=None,
        district_id=None,
        active=None,
        q=q,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    slowed = await throttle.slowed(session, settings, [u.login for u in users])
    signed_in = await _last_sign_ins(session, principal, [u.id for u in users])
    out = [
        Person(
            user=u,
            devices=await service.list_devices(session, principal, u.id),
            slowed=u.login in slowed,
            last_sign_in=signed_in.get(u.id),
        )
        for u in users
    ]
    return out, total


def _text(form: Any, name: str, max_length: int = 200) -> str:
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    if len(text) > max_length:
        raise InvalidInput.field(name, "field.too_long", max=max_length)
    return text


class PeopleController(Controller):
    path = "/"

    async def _page(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        settings: Settings,
        *,
        q: str | None = None,
        page: int = 1,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        found, total = await people(session, principal, settings, q, page)
        districts = await service.list_districts(session, principal)
        return render(
            request,
            "people.html.j2",
            principal,
            status_code=status_code,
            active="people",
            people=found,
            q=q or "",
            pager=Pager(page, total, PATH, {"q": q}, PAGE_SIZE),
            districts=districts,
            district_names={d.id: d.name for d in districts},
            roles=list(Role),
            **context,
        )

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        session: AsyncSession,
        settings: Settings,
        refusal: DomainError,
        **context: Any,
    ) -> Template:
        """The list again with what went wrong, nothing of the refused change kept."""
        await session.rollback()
        return await self._page(
            request,
            principal,
            session,
            settings,
            status_code=refusal.status,
            error_code=refusal.code,
            error_params=refusal.params,
            field_errors=refusal.errors,
            **context,
        )

    @get("/people", name="console.people")
    async def list_page(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        notice: Annotated[str | None, QueryParameter(max_length=20)] = None,
        name: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        named = ""
        if notice in NOTICES and name:
            try:  # the notice names the person by id; only someone of this organisation is named
                named = (await service.get_user(db_session, principal, name)).display_name
            except NotFound:
                notice = None
        return await self._page(
            request,
            principal,
            db_session,
            settings,
            q=(q or "").strip() or None,
            page=page,
            notice_code=f"console.people.{notice}" if notice in NOTICES else None,
            notice_name=named,
        )

    @post("/people", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Template:
        form = await request.form()
        sent = {
            "login": _text(form, "login", 100).strip(),
            "display_name": _text(form, "display_name", 100).strip(),
            "role": _text(form, "role", 20),
            "locale": _text(form, "locale", 8) or "ja",
            "district_ids": [d for d in form.getall("district_ids", []) if isinstance(d, str) and d][:100],
        }
        try:
            data = UserIn(**sent)
        except ValidationError as invalid:
            refusal = InvalidInput(errors=pydantic_field_errors(invalid))
            return await self._refused(request, principal, db_session, settings, refusal, sent=sent)
        try:
            created = await service.create_user(db_session, principal, settings, data)
        except (Conflict, InvalidInput) as refusal:  # a login that cannot be used, unknown district
            return await self._refused(request, principal, db_session, settings, refusal, sent=sent)
        return await self._page(
            request,
            principal,
            db_session,
            settings,
            code_for=created.display_name,
            code=created.activation_code,
            code_expires_at=created.activation_expires_at,
            code_new_user=True,
        )

    @post("/people/{user_id:str}/activation-code", status_code=200)
    async def reissue(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user_id: FromPath[str],
    ) -> Template:
        try:
            issued = await service.reissue_activation_code(db_session, principal, settings, user_id)
        except Conflict as refusal:  # a deactivated person
            return await self._refused(request, principal, db_session, settings, refusal)
        user = await service.get_user(db_session, principal, issued.user_id)
        return await self._page(
            request,
            principal,
            db_session,
            settings,
            code_for=user.display_name,
            code=issued.activation_code,
            code_expires_at=issued.activation_expires_at,
            code_new_user=False,
        )

    @post("/people/{user_id:str}/unlock", status_code=303)
    async def unlock(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        user_id: FromPath[str],
    ) -> Redirect:
        done = await service.unlock_user(db_session, principal, user_id)
        await db_session.commit()  # a redirect: the autocommit hook would not commit it
        notice = "unlocked" if done.counters_cleared else "not_slowed"
        return Redirect(link(PATH, {"notice": notice, "name": done.user_id}), status_code=303)

    @post("/people/{user_id:str}/deactivate", status_code=303)
    async def deactivate(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user_id: FromPath[str],
    ) -> Response[Any]:
        try:
            done = await service.update_user(db_session, principal, user_id, UserPatch(active=False))
        except Conflict as refusal:  # still has residents, or one's own account
            return await self._refused(request, principal, db_session, settings, refusal)
        await db_session.commit()
        return Redirect(link(PATH, {"notice": "deactivated", "name": done.id}), status_code=303)

    @post("/people/{user_id:str}/devices/{device_id:str}/revoke", status_code=303)
    async def revoke(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        user_id: FromPath[str],
        device_id: FromPath[str],
    ) -> Redirect:
        await service.revoke_device(db_session, principal, user_id, device_id)
        await db_session.commit()
        return Redirect(link(PATH, {"notice": "revoked", "name": user_id}), status_code=303)
