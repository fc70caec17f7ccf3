"""What the inbox, push-token and alert endpoints take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.enums import AlertResolution, AlertSeverity, AlertStatus, DeliveryStatus


class PushTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=4096, description="The FCM registration token")


class PushTokenOut(BaseModel):
    device_id: str
    push_token_updated_at: datetime | None


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    title: str
    body: str
    urgent: bool
    resident_id: str | None
    visit_id: str | None
    alert_id: str | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    page_size: int


class ReadAllOut(BaseModel):
    marked: int


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    resident_id: str
    resident_name: str | None = None
    district_id: str | None = None
    visit_id: str | None
    severity: AlertSeverity
    status: AlertStatus
    resolution: AlertResolution | None
    resolution_note: str | None
    escalation_level: int
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    # Whether the visitor's phone synced since the window closed: "not contacted" vs "not reported".
    assignee_last_sync_at: datetime | None
    feed_seq: int


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    page: int
    page_size: int


class AlertEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    action: str
    actor_id: str | None
    detail: dict[str, Any]


class DeliveryOut(BaseModel):
    device_id: str
    status: DeliveryStatus
    attempts: int
    sent_at: datetime | None
    last_error_code: str | None


class RecipientOut(BaseModel):
    user_id: str
    kind: str
    notified_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryOut]


class AlertDetailOut(AlertOut):
    history: list[AlertEventOut]
    recipients: list[RecipientOut]


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Literal["handled", "contact_recorded", "false_alarm"] = Field(
        description="handled: dealt with; contact_recorded: someone saw the person; false_alarm"
    )
    note: str | None = Field(default=None, max_length=2000)
