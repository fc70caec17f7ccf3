"""Dependencies every controller may ask for by name: `principal`, `settings`, `pagination`.

`principal` is how an endpoint says "signed-in users only": declaring it authenticates the request.
Controllers in sync/, schedules/ and notifications/ use the same names without importing api/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.service import authenticate
from domain.access import Principal
from domain.autocommit import AUTOCOMMIT_START, start_in_autocommit
from domain.db import READ_ONLY
from domain.settings import Settings


async def provide_principal(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Principal:
    settings: Settings = request.app.state.settings
    if request.route_handler.opt.get("read_only") and not db_session.in_transaction():
        # A handler marked read-only never writes: on SQLite it need not queue behind a long
        # write (a phone's push) for the write lock (see domain/db.py).
        await db_session.connection(execution_options=READ_ONLY)
    elif request.route_handler.opt.get(AUTOCOMMIT_START):
        await start_in_autocommit(db_session)  # domain/autocommit.py: the handler ends it
    principal = await authenticate(db_session, settings, request.headers.get("authorization"))
    request.scope["state"]["principal"] = principal
    return principal


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings


@dataclass(frozen=True)
class Pagination:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def provide_pagination(
    page: Annotated[int, QueryParameter(ge=1, le=1_000_000, description="1-based page number")] = 1,
    page_size: Annotated[int, QueryParameter(ge=1, le=200, description="rows per page")] = 50,
) -> Pagination:
    return Pagination(page=page, page_size=page_size)


def page_of(items: list[Any], total: int, pagination: Pagination) -> dict[str, Any]:
    return {"items": items, "total": total, "page": pagination.page, "page_size": pagination.page_size}
