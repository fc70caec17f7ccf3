"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.auth import passwords
from api.deps import provide_pagination, provide_principal, provide_settings
from api.errors import exception_handlers, reject_control_characters
from api.logging import configure_logging
from api.routes import route_handlers
from api.security_headers import SecurityHeadersMiddleware
from api.version import build_info
from domain import migrate
from domain.access import Principal
from domain.db import create_db_config
from domain.settings import Settings, get_settings
from schedules import recurrence


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings)
    passwords.configure(settings.password_hash_profile)
    recurrence.configure(settings)
    db_config = create_db_config(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Background work (scheduler, push dispatcher) is started here by the slices that own it.
        async with _background(app, settings):
            yield

    openapi = OpenAPIConfig(
        title="Mimamori API",
        version=build_info().full,  # e.g. 0.1.0+abc123def456: the release and the commit it runs
        description="見守り — visits, contact notes, alerts and offline sync for welfare commissioners, "
        "volunteers and coordinators. Errors are RFC 9457 problem details in the caller's language.",
        path="/schema",
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        security=[{"BearerToken": []}],
        use_handler_docstrings=True,
    )
    app = Litestar(
        route_handlers=route_handlers(),
        plugins=[SQLAlchemyPlugin(config=db_config)],
        dependencies={
            "principal": Provide(provide_principal),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "pagination": Provide(provide_pagination, sync_to_thread=False),
        },
        exception_handlers=exception_handlers,
        before_request=reject_control_characters,
        middleware=[DefineMiddleware(SecurityHeadersMiddleware, hsts_max_age=settings.hsts_max_age_seconds)],
        openapi_config=openapi,
        cors_config=CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None,
        request_max_body_size=settings.max_request_bytes,
        compression_config=compression_config(),
        lifespan=[lifespan],
        signature_namespace={"Principal": Principal, "Settings": Settings},
        debug=False,
    )
    app.state.settings = settings
    app.state.db_config = db_config
    app.state.migration_heads = migrate.head_revisions(db_config)
    return app


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
    from notifications.background import push_dispatch

    async with push_dispatch(app.state.db_config, settings), _scheduler(app, settings):
        yield


@asynccontextmanager
async def _scheduler(app: Litestar, settings: Settings) -> AsyncIterator[None]:
    if not settings.run_scheduler:
        yield
        return
    from schedules.runner import build_scheduler, stop

    # Started inside the lifespan: AsyncIOScheduler needs the running loop. With several API
    # processes, set MIMAMORI_RUN_SCHEDULER=false and run `mimamori worker` instead.
    scheduler = build_scheduler(app.state.db_config, settings.default_timezone)
    scheduler.start()
    app.state.scheduler = scheduler
    try:
        yield
    finally:
        await stop(scheduler)


def _app_for_cli() -> Any:  # pragma: no cover - entry point for `litestar --app api.app:_app_for_cli`
    return create_app()
