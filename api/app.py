"""The Litestar application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.middleware import DefineMiddleware

from api.auth import passwords
from api.deps import provide_pagination, provide_principal, provide_settings
from api.errors import JsonRequest, exception_handlers, reject_control_characters
from api.logging import configure_logging
from api.openapi import install as install_openapi
from api.openapi import openapi_config
from api.query_params import refuse_unknown_query_params, remember_declared
from api.reports.export_files import EXPOSED_EXPORT_HEADERS
from api.request_log import RequestObserver
from api.routes import route_handlers
from api.security_headers import SecurityHeadersMiddleware
from console import openapi_render_plugins, template_config
from console.errors import outside_routes
from domain import migrate
from domain.access import Principal
from domain.db import create_db_config, tolerate_asyncpg_cancel_race
from domain.settings import Settings, get_settings
from schedules import recurrence


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_process(settings)
    db_config = create_db_config(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Background work (scheduler, push dispatcher) is started here by the slices that own it.
        async with _background(app, settings):
            yield

    app = Litestar(
        route_handlers=route_handlers(),
        plugins=[SQLAlchemyPlugin(config=db_config)],
        dependencies={
            "principal": Provide(provide_principal),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "pagination": Provide(provide_pagination, sync_to_thread=False),
        },
        exception_handlers={
            **exception_handlers,
            # no route matched: under /console the console's page, elsewhere problem+json
            NotFoundException: outside_routes(exception_handlers[NotFoundException]),
            MethodNotAllowedException: outside_routes(exception_handlers[MethodNotAllowedException]),
        },
        request_class=JsonRequest,
        before_request=_check_request,
        middleware=[DefineMiddleware(SecurityHeadersMiddleware, hsts_max_age=settings.hsts_max_age_seconds)],
        openapi_config=openapi_config(render_plugins=openapi_render_plugins()),
        cors_config=(
            # a web client reads the export's file name and the CP932 replaced count
            CORSConfig(allow_origins=settings.cors_origins, expose_headers=list(EXPOSED_EXPORT_HEADERS))
            if settings.cors_origins
            else None
        ),
        request_max_body_size=settings.max_request_bytes,
        compression_config=compression_config(),
        template_config=template_config(),
        lifespan=[lifespan],
        signature_namespace={"Principal": Principal, "Settings": Settings},
        debug=False,
    )
    install_openapi(app)
    app.asgi_handler = RequestObserver(app.asgi_handler)  # outermost: sees the router's own 404s too
    app.state.settings = settings
    app.state.db_config = db_config
    app.state.migration_heads = migrate.head_revisions(db_config)
    remember_declared(app)
    return app


def configure_process(settings: Settings) -> None:
    """What the settings decide for the whole process rather than for one app: logging, the
    password hashing profile and the recurrence scan budget (the tests call it again when they
    reuse an app built for the same settings)."""
    configure_logging(settings)
    passwords.configure(settings.password_hash_profile)
    recurrence.configure(settings)


async def _check_request(request: Request[Any, Any, Any]) -> Response[dict[str, Any]] | None:
    """Refusals every route shares, before its handler reads anything."""
    return await reject_control_characters(request) or await refuse_unknown_query_params(request)


NO_COMPRESSION = "no_compression"  # route opt: streams (SSE) must reach the client event by event


def compression_config() -> CompressionConfig:
    """gzip when the client sends `Accept-Encoding: gzip` (Android's OkHttp and iOS's URLSession,
    under React Native's fetch, do so by themselves). A first pull shrinks about sevenfold; brotli
    would save a little more but OkHttp does not ask for it, so it is not worth a C dependency.
    Level 6: nearly level 9's size at a fraction of its CPU time."""
    return CompressionConfig(
        backend="gzip", gzip_compress_level=6, minimum_size=1024, exclude_opt_key=NO_COMPRESSION
    )


@asynccontextmanager
async def _background(app: Litestar, settings: Settings) -> AsyncIterator[None]:
    from api.serving import runs_jobs
    from domain import live
    from notifications.background import push_dispatch

    tolerate_asyncpg_cancel_race()  # a client hanging up mid-query is routine, not an error
    if settings.run_scheduler and not runs_jobs(settings):  # another process of `serve --workers N`
        settings = settings.model_copy(update={"run_scheduler": False})
    # One listener per process (PostgreSQL LISTEN), shared by every alert stream and the
    # dispatcher's wake-up: a change committed by any process reaches this one at once.
    async with (
        live.listening(settings.database_url),
        push_dispatch(app.state.db_config, settings),
        _scheduler(app, settings),
    ):
        yield


@asynccontextmanager
async def _scheduler(app: Litestar, settings: Settings) -> AsyncIterator[None]:
    if not settings.run_scheduler:
        yield
        return
    from schedules.runner import build_scheduler, stop

    # Started inside the lifespan: AsyncIOScheduler needs the running loop. With several API
    # processes, set MIMAMORI_RUN_SCHEDULER=false and run `mimamori worker` instead (`serve
    # --workers N` runs it in one of its processes, see api/serving.py).
    scheduler = build_scheduler(app.state.db_config, settings.default_timezone)
    scheduler.start()
    logging.getLogger("mimamori.jobs").info("scheduler started in process %d", os.getpid())
    app.state.scheduler = scheduler
    try:
        yield
    finally:
        await stop(scheduler)


def _app_for_cli() -> Any:  # pragma: no cover - entry point for `litestar --app api.app:_app_for_cli`
    return create_app()
