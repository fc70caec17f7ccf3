"""Visits and alerts of a period as files (GET /reports/exports/visits, /reports/exports/alerts;
`?format=csv|csv-cp932|xlsx`, see `api.reports.export_files`):
the period is local days as in coverage (visits by the start of their window, alerts by when they
opened), optionally one district. Rows are those the caller may read: visits and alerts about the
residents they may see (`domain.access.visible_residents` / `visible_alerts`), so a commissioner
gets their districts and assigned residents with consent; volunteers export nothing. Each file is
an audit event naming its rows and residents.

Streamed like the other exports: ids and the audit event in the request's session, then rows
EXPORT_BATCH at a time, each batch read in a session of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.response import Stream
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.organisation.service import check_districts
from api.reports import export_files
from api.reports.coverage import Period
from api.reports.csv_export import header, value
from domain import audit
from domain.access import Principal, may_export, visible_alerts, visible_residents
from domain.db import READ_ONLY
from domain.errors import Forbidden
from domain.i18n import register
from domain.models import Alert, District, Resident, User, Visit

EXPORT_BATCH = 1000
VISIT_COLUMNS = ("due_start", "due_end", "resident", "district", "kind", "status", "assignee", "completed_at")
ALERT_COLUMNS = (
    "opened_at",
    "resident",
    "district",
    "kind",
    "severity",
    "status",
    "acknowledged_at",
    "resolved_at",
    "resolution",
)

register(
    {
        "csv.visit.due_start": {"ja": "予定（開始）", "en": "Due from"},
        "csv.visit.due_end": {"ja": "予定（終了）", "en": "Due until"},
        "csv.visit.resident": {"ja": "氏名", "en": "Resident"},
        "csv.visit.district": {"ja": "地区", "en": "District"},
        "csv.visit.kind": {"ja": "種類", "en": "Kind"},
        "csv.visit.status": {"ja": "状況", "en": "Status"},
        "csv.visit.assignee": {"ja": "担当", "en": "Visitor"},
        "csv.visit.completed_at": {"ja": "実施日時", "en": "Done at"},
        "csv.alert.opened_at": {"ja": "発生日時", "en": "Opened"},
        "csv.alert.resident": {"ja": "氏名", "en": "Resident"},
        "csv.alert.district": {"ja": "地区", "en": "District"},
        "csv.alert.kind": {"ja": "種類", "en": "Kind"},
        "csv.alert.severity": {"ja": "重要度", "en": "Severity"},
        "csv.alert.status": {"ja": "状況", "en": "Status"},
        "csv.alert.acknowledged_at": {"ja": "確認日時", "en": "Acknowledged"},
        "csv.alert.resolved_at": {"ja": "解決日時", "en": "Resolved"},
        "csv.alert.resolution": {"ja": "解決の理由", "en": "Resolution"},
        "value.visit_kind.planned": {"ja": "定期訪問", "en": "planned"},
        "value.visit_kind.revisit": {"ja": "再訪問", "en": "revisit"},
        "value.visit_kind.safety_check": {"ja": "安否確認", "en": "safety check"},
        "value.visit_status.planned": {"ja": "予定", "en": "planned"},
        "value.visit_status.done": {"ja": "実施", "en": "done"},
        "value.visit_status.missed": {"ja": "未実施", "en": "missed"},
        "value.visit_status.cancelled": {"ja": "取消", "en": "cancelled"},
        "value.alert_kind.missed_visit": {"ja": "訪問未実施", "en": "missed visit"},
        "value.alert_kind.safety_check_missed": {"ja": "安否未確認", "en": "safety check missed"},
        "value.alert_kind.contact_gap": {"ja": "長期間接触なし", "en": "contact gap"},
        "value.alert_kind.emergency": {"ja": "緊急", "en": "emergency"},
        "value.alert_kind.no_answer_twice": {"ja": "2回続けて応答なし", "en": "no answer twice in a row"},
        "value.alert_kind.nobody_can_visit": {"ja": "訪問できる担当者なし", "en": "nobody can visit"},
        "value.severity.urgent": {"ja": "緊急", "en": "urgent"},
        "value.severity.high": {"ja": "高", "en": "high"},
        "value.severity.normal": {"ja": "通常", "en": "normal"},
        "value.alert_status.open": {"ja": "未対応", "en": "open"},
        "value.alert_status.acknowledged": {"ja": "確認済", "en": "acknowledged"},
        "value.alert_status.resolved": {"ja": "解決済", "en": "resolved"},
        "value.resolution.contact_recorded": {"ja": "接触を記録", "en": "contact recorded"},
        "value.resolution.recorded_late": {"ja": "遅れて記録", "en": "recorded late"},
        "value.resolution.handled": {"ja": "対応済", "en": "handled"},
        "value.resolution.false_alarm": {"ja": "誤報", "en": "false alarm"},
        "value.resolution.resident_ended": {"ja": "見守り終了", "en": "resident ended"},
        "value.resolution.campaign_closed": {"ja": "安否確認の終了", "en": "safety check closed"},
    }
)


def _known(kind: str, raw: str | None, locale: str) -> str:
    """A value in the reader's language; a code with no translation as it is."""
    text = value(kind, raw, locale)
    return raw or "" if text == f"value.{kind}.{raw}" else text


async def _ids(session: AsyncSession, query: Any) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    residents: set[str] = set()
    for row_id, resident_id in (await session.execute(query)).tuples():
        ids.append(row_id)
        residents.add(resident_id)
    return ids, sorted(residents)


async def _stream(
    session: AsyncSession,
    config: SQLAlchemyAsyncConfig,
    ids: list[str],
    load: Callable[[AsyncSession, list[str]], Awaitable[dict[str, Sequence[object]]]],
    headers: list[str],
    stem: str,
    principal: Principal,
    locale: str,
    fmt: export_files.ExportFormat,
) -> Stream:
    async def batches() -> AsyncIterator[Iterable[Sequence[object]]]:
        for start in range(0, len(ids), EXPORT_BATCH):
            batch = ids[start : start + EXPORT_BATCH]
            async with config.get_session() as reading:
                await reading.connection(execution_options=READ_ONLY)
                found = await load(reading, batch)
            yield [found[i] for i in batch if i in found]

    file = export_files.ExportFile(stem, principal.today(), principal.zone, locale)
    return await export_files.export_response(fmt, file, headers, batches(), session=session)


async def _start(session: AsyncSession, principal: Principal, district_id: str | None) -> None:
    if not may_export(principal):
        raise Forbidden()
    if district_id:
        await check_districts(session, principal.org_id, [district_id], "district_id")


async def visits_file(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    district_id: str | None,
    locale: str,
    config: SQLAlchemyAsyncConfig,
    fmt: export_files.ExportFormat = "csv",
) -> Stream:
    await _start(session, principal, district_id)
    query = (
        select(Visit.id, Visit.resident_id)
        .join(Resident, Resident.id == Visit.resident_id)
        .where(
            Visit.org_id == principal.org_id,
            Visit.deleted_at.is_(None),
            Visit.due_start >= period.start,
            Visit.due_start < period.end,
            visible_residents(principal, principal.today()),
        )
        .order_by(Visit.due_start, Visit.id)
    )
    if district_id:
        query = query.where(Resident.district_id == district_id)
    ids, residents = await _ids(session, query)
    audit.record(
        session,
        principal,
        "export",
        "visit",
        None,
        visit_ids=ids,
        resident_ids=residents,
        period=[period.first.isoformat(), period.last.isoformat()],
    )

    async def load(reading: AsyncSession, batch: list[str]) -> dict[str, Sequence[object]]:
        rows = await reading.execute(
            select(Visit, Resident.name, District.name, User.display_name)
            .join(Resident, Resident.id == Visit.resident_id)
            .join(District, District.id == Resident.district_id)
            .outerjoin(User, User.id == Visit.assignee_id)
            .where(Visit.id.in_(batch))
        )
        return {
            visit.id: [
                visit.due_start,
                visit.due_end,
                resident,
                district,
                _known("visit_kind", visit.kind, locale),
                _known("visit_status", visit.status, locale),
                assignee or "",
                visit.completed_at,
            ]
            for visit, resident, district, assignee in rows.tuples()
        }

    headers = [header(f"csv.visit.{c}", locale) for c in VISIT_COLUMNS]
    return await _stream(session, config, ids, load, headers, "visits", principal, locale, fmt)


async def alerts_file(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    district_id: str | None,
    locale: str,
    config: SQLAlchemyAsyncConfig,
    fmt: export_files.ExportFormat = "csv",
) -> Stream:
    await _start(session, principal, district_id)
    query = (
        select(Alert.id, Alert.resident_id)
        .where(
            visible_alerts(principal, principal.today()),
            Alert.opened_at >= period.start,
            Alert.opened_at < period.end,
        )
        .order_by(Alert.opened_at, Alert.id)
    )
    if district_id:
        query = query.join(Resident, Resident.id == Alert.resident_id).where(
            Resident.district_id == district_id
        )
    ids, residents = await _ids(session, query)
    audit.record(
        session,
        principal,
        "export",
        "alert",
        None,
        alert_ids=ids,
        resident_ids=residents,
        period=[period.first.isoformat(), period.last.isoformat()],
    )
    resident_row = aliased(Resident)

    async def load(reading: AsyncSession, batch: list[str]) -> dict[str, Sequence[object]]:
        rows = await reading.execute(
            select(Alert, resident_row.name, District.name)
            .join(resident_row, resident_row.id == Alert.resident_id)
            .join(District, District.id == resident_row.district_id)
            .where(Alert.id.in_(batch))
        )
        return {
            alert.id: [
                alert.opened_at,
                resident,
                district,
                _known("alert_kind", alert.kind, locale),
                _known("severity", alert.severity, locale),
                _known("alert_status", alert.status, locale),
                alert.acknowledged_at,
                alert.resolved_at,
                _known("resolution", alert.resolution, locale),
            ]
            for alert, resident, district in rows.tuples()
        }

    headers = [header(f"csv.alert.{c}", locale) for c in ALERT_COLUMNS]
    return await _stream(session, config, ids, load, headers, "alerts", principal, locale, fmt)
