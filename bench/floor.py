"""The floor under the resident list: the same database work with no framework around it.

The resident list's first page (issue #13's "authenticated list ≥ 1,000 req/s") costs one
authentication read, one page read and one audit INSERT on PostgreSQL, then JSON and gzip. This
module is a bare ASGI app (no Litestar, no SQLAlchemy session, no middleware) that does exactly
that work per request — the app's own SQL (`api.auth.service._AUTHENTICATE`, the list's page
statement, the audit INSERT), compiled once and sent straight to an asyncpg pool, the app's JWT
check, msgspec JSON and gzip at the app's level — so that `bench.throughput --floor` can measure how
many list pages per second this machine can serve at all, whatever the framework, and what each
guarantee costs at that floor (`MIMAMORI_FLOOR_STEPS`, a comma list of auth, page, audit, gzip).

Not a server to run: no error handling, one organisation's coordinator only, no logging.
"""

from __future__ import annotations

import gzip
import os
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.dialects import postgresql

from api.auth.service import _AUTHENTICATE
from api.auth.tokens import decode_access_token
from api.residents.service import ALL_RESIDENT_FIELDS, LIST_HIDDEN, _list_columns
from domain.access import visible_residents_bound
from domain.audit import _INSERT
from domain.autocommit import _compiled
from domain.base import new_id
from domain.clock import utcnow
from domain.enums import Role
from domain.models import Resident

STEPS = frozenset(os.environ.get("MIMAMORI_FLOOR_STEPS", "auth,page,audit,gzip").split(","))
DIALECT = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
FIELDS = frozenset(ALL_RESIDENT_FIELDS - LIST_HIDDEN)
NAMES = _list_columns(FIELDS)
PAGE = (
    select(*(Resident.__table__.c[n] for n in NAMES), func.count().over())
    .where(visible_residents_bound(Role.COORDINATOR, False))
    .order_by(Resident.kana, Resident.name, Resident.id)
    .offset(bindparam("offset", type_=Integer))
    .limit(bindparam("limit", type_=Integer))
)
AUDIT_KEYS = frozenset(
    ("id", "org_id", "at", "actor_id", "device_id", "action", "entity", "entity_id", "detail")
)
ENCODER = msgspec.json.Encoder()


def _sql(statement: Any, keys: frozenset[str]) -> tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]]:
    sql, names, _, defaults, processors = _compiled(statement, DIALECT, keys)
    return sql, names, defaults, processors


def _values(
    compiled: tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]], binds: dict[str, Any]
) -> list[Any]:
    _, names, defaults, processors = compiled
    values = {**defaults, **binds}
    for name, convert in processors.items():
        if name in values:
            values[name] = convert(values[name])
    return [values[n] for n in names]


AUTH_SQL = _sql(_AUTHENTICATE, frozenset({"device_id"}))
PAGE_SQL = _sql(PAGE, frozenset({"v_org_id", "v_user_id", "v_today", "offset", "limit"}))
AUDIT_SQL = _sql(_INSERT, AUDIT_KEYS)
MERGED = (
    "WITH page AS (" + PAGE_SQL[0] + "), audit AS (INSERT INTO audit_events "  # noqa: S608 - constants
    "(id, org_id, at, actor_id, device_id, action, entity, entity_id, detail) "
    "SELECT $4, $1, $5, $6, $7, 'list', 'resident', NULL, jsonb_build_object('fields', to_jsonb($8::text[]), "
    "'resident_ids', coalesce((SELECT jsonb_agg(id ORDER BY kana, name, id) FROM page), '[]'::jsonb))) SELECT * FROM page"
)


class Floor:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.secret = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.secret = os.environ["MIMAMORI_SECRET_KEY"]
                    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
                    self.pool = await asyncpg.create_pool(dsn, min_size=4, max_size=8, init=_codecs)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        headers = dict(scope["headers"])
        body = await self._page(headers.get(b"authorization", b"").decode())
        out = [(b"content-type", b"application/json")]
        if "gzip" in STEPS and b"gzip" in headers.get(b"accept-encoding", b""):
            body = gzip.compress(body, compresslevel=6)
            out.append((b"content-encoding", b"gzip"))
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": body})

    async def _page(self, authorization: str) -> bytes:
        claims = decode_access_token(self.secret, authorization[7:])
        assert self.pool is not None
        async with self.pool.acquire() as connection:
            org_id, user_id, device_id = claims.org_id, claims.user_id, claims.device_id
            if "auth" in STEPS:
                rows = await connection.fetch(
                    AUTH_SQL[0], *_values(AUTH_SQL, {"device_id": claims.device_id})
                )
                row = rows[0]
                if row["revoked_at"] is not None or not row["active"]:
                    raise PermissionError
            items: list[dict[str, Any]] = []
            total = 0
            # the coordinator's first page, as the app binds it
            binds = {
                "v_org_id": org_id,
                "v_user_id": user_id,
                "v_today": utcnow().date(),
                "offset": 0,
                "limit": 50,
            }
            if "page" in STEPS:
                page = await connection.fetch(PAGE_SQL[0], *_values(PAGE_SQL, binds))
                items = [dict(zip(NAMES, r, strict=False)) for r in page]
                total = int(page[0][-1]) if page else 0
            if "pageaudit" in STEPS:  # the page and its audit row in one statement (a data-modifying CTE)
                page = await connection.fetch(
                    MERGED,
                    *_values(PAGE_SQL, binds),
                    new_id(),
                    utcnow(),
                    user_id,
                    device_id,
                    sorted(FIELDS),
                )
                items = [dict(zip(NAMES, r, strict=False)) for r in page]
                total = int(page[0][-1]) if page else 0
            if "audit" in STEPS:
                row = {
                    "id": new_id(),
                    "org_id": org_id,
                    "at": utcnow(),
                    "actor_id": user_id,
                    "device_id": device_id,
                    "action": "list",
                    "entity": "resident",
                    "entity_id": None,
                    "detail": {"fields": sorted(FIELDS), "resident_ids": [i["id"] for i in items]},
                }
                await connection.fetch(AUDIT_SQL[0], *_values(AUDIT_SQL, row))
        return ENCODER.encode({"items": items, "total": total, "page": 1, "page_size": 50})


async def _codecs(connection: asyncpg.Connection) -> None:
    # the bind processors give JSON text (the audit detail is JSONB), as SQLAlchemy sends it
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=str, decoder=msgspec.json.decode, schema="pg_catalog")


app = Floor()
