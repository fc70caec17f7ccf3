from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    actor_id: str | None = None
    actor_name: str | None = None
    device_id: str | None = None
    action: str
    entity: str
    entity_id: str | None = None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    total: int
    page: int
    page_size: int
