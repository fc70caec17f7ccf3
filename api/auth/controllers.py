from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import service
from api.auth.schemas import ActivateIn, LoginIn, RefreshIn, TokenOut, UserOut
from api.proxy import client_address
from domain.access import Principal
from domain.models import User
from domain.settings import Settings


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=HTTP_200_OK, operation_id="login", security=[])
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> TokenOut:
        """Sign in on a device. Returns a short-lived access token and a rotating refresh token bound
        to that device. Repeated failures slow further attempts down (429 with `retry_after` for the
        same login from the same address); the right password is never locked out."""
        return await service.login(db_session, settings, data, client_address(request, settings))

    @post("/refresh", status_code=HTTP_200_OK, operation_id="refreshToken", security=[])
    async def refresh(
        self,
        data: JSONBody[RefreshIn],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> TokenOut:
        """Trade a refresh token for a new pair. Each refresh token works once; presenting a used one
        ends the device's session."""
        return await service.refresh(db_session, settings, data.refresh_token)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, operation_id="logout")
    async def logout(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> None:
        """Sign this device out: its refresh tokens and current access tokens stop working."""
        await service.logout(db_session, principal)

    @post("/activate", status_code=HTTP_204_NO_CONTENT, operation_id="activateAccount", security=[])
    async def activate(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ActivateIn],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> None:
        """Set a password with the one-time activation code a coordinator handed over. The password
        needs at least 12 characters and must not be a common one (422 names the rule)."""
        await service.activate(
            db_session, settings, data.login, data.code, data.password, client_address(request, settings)
        )


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("/", operation_id="getMe", opt={"read_only": True})
    async def me(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> UserOut:
        """The signed-in user, with the districts they hold."""
        user = await db_session.get_one(User, principal.user_id)
        return await service.user_out(db_session, user)
