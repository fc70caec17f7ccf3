"""Every HTTP route of the service, in one list. Each slice owns its controllers."""

from __future__ import annotations

from typing import Any

from api.auth.controllers import AuthController, MeController
from api.health import healthz, readyz
from schedules.controllers import CONTROLLERS as SCHEDULES_CONTROLLERS


def route_handlers() -> list[Any]:
    return [healthz, readyz, AuthController, MeController, *SCHEDULES_CONTROLLERS]
