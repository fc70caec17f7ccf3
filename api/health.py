from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.version import build_info
from domain import migrate


@get("/healthz", tags=["health"], operation_id="healthz", security=[])
async def healthz() -> dict[str, str]:
    """The process is alive, and which build it runs (package version, git commit)."""
    info = build_info()
    return {"status": "ok", "version": info.version, "commit": info.commit}


@get("/readyz", tags=["health"], operation_id="readyz", security=[])
async def readyz(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Response[dict[str, Any]]:
    """The database answers and its schema is at the newest migration."""
    try:
        await db_session.execute(text("SELECT 1"))
    except Exception:
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    current = await migrate.current_revisions(db_session)
    heads = request.app.state.migration_heads
    if current != heads:
        return Response(
            {"status": "unavailable", "database": "ok", "migrations": "behind", "current": sorted(current)},
            status_code=503,
        )
    return Response({"status": "ok", "database": "ok", "migrations": "head"})
