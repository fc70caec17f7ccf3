"""The coordinators' web console: server-rendered pages (Jinja2 through Litestar, HTMX for the live
parts) over the same services, permission rules and accounts as the API. Every asset is shipped
in `console/static` (closed municipal networks); see console/static/VENDORED.md."""

from console.routes import console_route_handlers, openapi_render_plugins, template_config

__all__ = ["console_route_handlers", "openapi_render_plugins", "template_config"]
