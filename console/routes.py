"""What the console adds to the application: its router under /console (cookie session, CSRF
guard, HTML errors), its static files, `/` leading to it, the template engine, and API docs pages
that load their scripts from here instead of a CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from console.audit_page import AuditLogController
from console.controllers import SignInController, TodayController, provide_console_principal
from console.districts_page import DistrictsController
from console.errors import console_exception_handlers
from console.guards import csrf_guard
from console.import_export_page import ImportExportController
from console.people_page import PeopleController
from console.quarantine_page import QuarantineController
from console.resident_actions import ResidentActionsController
from console.residents_page import ResidentsController
from console.safety_checks_page import SafetyChecksController
from console.working_list_page import WorkingListController

HERE = Path(__file__).parent
STATIC = "/console/static"
VENDOR = f"{STATIC}/vendor"


@get("/", include_in_schema=False)
async def root() -> Redirect:
    return Redirect("/console", status_code=302)


def console_route_handlers() -> list[Any]:
    pages = Router(
        path="/console",
        route_handlers=[
            SignInController,
            TodayController,
            WorkingListController,
            ResidentsController,
            PeopleController,
            QuarantineController,
            AuditLogController,
            ResidentActionsController,
            DistrictsController,  # issue #12: districts
            SafetyChecksController,  # issue #12: safety checks
            ImportExportController,
        ],
        dependencies={"principal": Provide(provide_console_principal)},
        guards=[csrf_guard],
        exception_handlers=console_exception_handlers,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC,
        directories=[HERE / "static"],
        name="console.static",
        cache_control=CacheControlHeader(max_age=3600),
    )
    return [root, pages, static]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)


_FAVICON = f"<link rel='icon' type='image/png' href='{VENDOR}/swagger-ui/favicon-32x32.png'>"


def openapi_render_plugins() -> list[OpenAPIRenderPlugin]:
    """/schema/swagger and /schema/redoc from vendored files (no CDN, no Google Fonts); the other
    renderers Litestar offers would load from CDNs, so they are not served."""
    return [
        SwaggerRenderPlugin(
            js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            standalone_preset_js_url=f"{VENDOR}/swagger-ui/swagger-ui-standalone-preset.js",
            favicon=_FAVICON,
        ),
        RedocRenderPlugin(js_url=f"{VENDOR}/redoc/redoc.standalone.js", google_fonts=False, favicon=_FAVICON),
        JsonRenderPlugin(favicon=_FAVICON),
        YamlRenderPlugin(favicon=_FAVICON),
    ]
