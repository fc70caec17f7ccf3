"""HTTP: the inbox and push token (under /me), and alert handling (under /alerts). Thin: the
services in inbox.py, devices.py, alert_handling.py and alert_stream.py hold the logic."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.enums import AlertSeverity, AlertStatus
from domain.settings import get_settings
from notifications import alert_handling, devices, inbox
from notifications.alert_stream import alert_events
from notifications.schemas import (
    AlertDetailOut,
    AlertOut,
    AlertPage,
    NotificationOut,
    NotificationPage,
    PushTokenIn,
    PushTokenOut,
    ReadAllOut,
    ResolveIn,
)
from notifications.stream_slots import StreamSlots, parse_last_event_id


class InboxController(Controller):
    path = "/api/v1/me"
    tags = ["notifications"]

    @get("/notifications", operation_id="listMyNotifications")
    async def list_notifications(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Any],
        unread: Annotated[bool, QueryParameter(description="only unread messages")] = False,
    ) -> NotificationPage:
        """The caller's inbox, newest first. Every message a push carried is here too."""
        items, total, unread_count = await inbox.page(
            db_session, principal, unread_only=unread, offset=pagination.offset, limit=pagination.page_size
        )
        return NotificationPage(
            items=[NotificationOut.model_validate(n) for n in items],
            total=total,
            unread=unread_count,
            page=pagination.page,
            page_size=pagination.page_size,
        )

    @post(
        "/notifications/{notification_id:str}/read",
        status_code=HTTP_200_OK,
        operation_id="markNotificationRead",
    )
    async def mark_read(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        notification_id: FromPath[str],
    ) -> NotificationOut:
        """Mark one of the caller's messages read (idempotent)."""
        notification = await inbox.mark_read(db_session, principal, notification_id)
        await db_session.flush()
        return NotificationOut.model_validate(notification)

    @post("/notifications/read-all", status_code=HTTP_200_OK, operation_id="markAllNotificationsRead")
    async def mark_all_read(
        self, principal: NamedDependency[Principal], db_session: NamedDependency[AsyncSession]
    ) -> ReadAllOut:
        """Mark every unread message of the caller read."""
        return ReadAllOut(marked=await inbox.mark_all_read(db_session, principal))

    @put("/devices/{device_id:str}/push-token", status_code=HTTP_200_OK, operation_id="setPushToken")
    async def set_push_token(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        device_id: FromPath[str],
        data: JSONBody[PushTokenIn],
    ) -> PushTokenOut:
        """Register the FCM token of one of the caller's own devices (its server id or the app's
        installation id). A token registered on another device moves here. The app should call
        this whenever FCM hands it a token, and at least monthly: tokens not refreshed for 60
        days stop receiving pushes."""
        device = await devices.set_push_token(db_session, principal, device_id, data.token)
        return PushTokenOut(device_id=device.id, push_token_updated_at=device.push_token_updated_at)

    @delete(
        "/devices/{device_id:str}/push-token",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="clearPushToken",
    )
    async def clear_push_token(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        device_id: FromPath[str],
    ) -> None:
        """Stop pushes to this device (the inbox still fills)."""
        await devices.clear_push_token(db_session, principal, device_id)


def _stream_slots(request: Request[Any, Any, Any]) -> StreamSlots:
    state = request.app.state
    if getattr(state, "alert_stream_slots", None) is None:
        state.alert_stream_slots = StreamSlots()
    return state.alert_stream_slots  # type: ignore[no-any-return]


class AlertController(Controller):
    path = "/api/v1/alerts"
    tags = ["alerts"]

    @get("/", operation_id="listAlerts")
    async def list_alerts(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Any],
        status: FromQuery[AlertStatus | None] = None,
        kind: Annotated[str | None, QueryParameter(max_length=40)] = None,
        severity: FromQuery[AlertSeverity | None] = None,
        district_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        resident_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        sort: FromQuery[Literal["newest", "urgent"]] = "newest",
    ) -> AlertPage:
        """Alerts about residents the caller may see. `sort=urgent`: unhandled first, then by
        severity, oldest first; `sort=newest`: most recently opened first."""
        flt = alert_handling.AlertFilter(
            status=status,
            kind=kind,
            severity=severity,
            district_id=district_id,
            resident_id=resident_id,
            sort=sort,
        )
        items, total = await alert_handling.list_alerts(
            db_session, principal, flt, offset=pagination.offset, limit=pagination.page_size
        )
        return AlertPage(items=items, total=total, page=pagination.page, page_size=pagination.page_size)

    @get("/stream", operation_id="streamAlerts", opt={"no_compression": True})  # gzip would hold events
    async def stream(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        max_seconds: Annotated[float | None, QueryParameter(gt=0, le=3600)] = None,
    ) -> ServerSentEvent:
        """Server-sent events: `alert` for every new or changed alert in the caller's scope, `ready`
        first. Event ids are change-feed positions: reconnect with `Last-Event-ID` to resume. The
        stream ends after a while (at most `max_seconds`); clients reconnect. It also ends early
        with an `end` event, `{"reason": ...}`: `signed_out` (signed out, deactivated or device
        revoked: do not reconnect) or `scope_changed` (the caller's role or districts changed:
        reconnect with `Last-Event-ID` to follow the new scope). Open streams are capped per
        device, per user and per server (429 beyond)."""
        config = get_settings().push
        last_event_id = parse_last_event_id(request.headers.get("last-event-id"))
        limit = min(max_seconds or config.stream_max_seconds, config.stream_max_seconds)
        slot = _stream_slots(request).acquire(principal, config)
        return ServerSentEvent(
            alert_events(
                request.app.state.db_config,
                principal,
                config,
                last_event_id=last_event_id,
                max_seconds=limit,
                slot=slot,
            )
        )

    @get("/{alert_id:str}", operation_id="getAlert")
    async def get_alert(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        alert_id: FromPath[str],
    ) -> AlertDetailOut:
        """One alert with its full history (created, who was told and whether it reached their
        phones, escalations, acknowledgement, resolution)."""
        return await alert_handling.alert_detail(db_session, principal, alert_id)

    @post("/{alert_id:str}/acknowledge", status_code=HTTP_200_OK, operation_id="acknowledgeAlert")
    async def acknowledge(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        alert_id: FromPath[str],
    ) -> AlertOut:
        """Say "I am on it": stops escalation. Coordinators and commissioners in scope."""
        return await alert_handling.acknowledge(db_session, principal, alert_id)

    @post("/{alert_id:str}/resolve", status_code=HTTP_200_OK, operation_id="resolveAlert")
    async def resolve(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        alert_id: FromPath[str],
        data: JSONBody[ResolveIn],
    ) -> AlertOut:
        """Close the alert with a resolution and an optional note; those who were told hear it."""
        return await alert_handling.resolve(db_session, principal, alert_id, data.resolution, data.note)
