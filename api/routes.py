"""Every HTTP route of the service, in one list. Each slice owns its controllers."""

from __future__ import annotations

from typing import Any

from api.audit.controllers import AuditController
from api.auth.controllers import AuthController, MeController
from api.contact_notes.controllers import ContactNoteController, ResidentNotesController
from api.health import healthz, readyz
from api.imports import ResidentImportController
from api.metrics import metrics
from api.organisation.controllers import DistrictController, UserController
from api.reports.activity_record_controllers import ActivityRecordController
from api.reports.chart_controllers import ChartController
from api.reports.controllers import ReportController
from api.residents.controllers import AssignmentController, LegalBasisController, ResidentController
from console import console_route_handlers
from notifications.controllers import AlertController, InboxController
from schedules.controllers import CONTROLLERS as SCHEDULES_CONTROLLERS
from sync.controllers import SyncController


def route_handlers() -> list[Any]:
    return [
        healthz,
        readyz,
        metrics,
        AuthController,
        MeController,
        DistrictController,
        UserController,
        ResidentController,
        ResidentImportController,
        AssignmentController,
        LegalBasisController,
        ResidentNotesController,
        ContactNoteController,
        AuditController,
        ReportController,
        ChartController,
        ActivityRecordController,
        InboxController,
        AlertController,
        SyncController,
        *SCHEDULES_CONTROLLERS,
        *console_route_handlers(),
    ]
