"""Every HTTP route of the service, in one list. Each slice owns its controllers."""

from __future__ import annotations

from typing import Any

from api.auth.controllers import AuthController, MeController
from api.health import healthz, readyz
from sync.controllers import SyncController


def route_handlers() -> list[Any]:
    return [healthz, readyz, AuthController, MeController, SyncController]
