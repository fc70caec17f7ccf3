"""The resident list page is built from columns as plain data (issue #13): the answer must stay the
one the models gave, byte for byte, for coordinators, commissioners and volunteers (volunteers see
fewer fields), in few statements per page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import event, select

from api.residents.schemas import ResidentOut, ResidentPage
from api.residents.service import ALL_RESIDENT_FIELDS, LIST_HIDDEN
from domain import autocommit
from domain.access import resident_fields_for, visible_residents
from domain.clock import utcnow
from domain.enums import ConsentRecipient, ConsentStatus, Household, ResidentStatus, RiskLevel, Role
from domain.models import AuditEvent, Resident, User
from domain.principals import principal_of
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

# A page is: the authentication read, the page with its total, the read's audit event.
STATEMENTS_PER_PAGE = 3


async def _town(db) -> None:
    async with db() as s:
        org = await make_org(s)
        east = await make_district(s, org, "東地区")
        west = await make_district(s, org, "西地区")
        await make_user(s, org, Role.COORDINATOR, "coord")
        await make_user(s, org, Role.COMMISSIONER, "comm", districts=[east])
        vol = await make_user(s, org, Role.VOLUNTEER, "vol")
        lone = await make_user(s, org, Role.COMMISSIONER, "comm2")  # no district: assigned only
        for n in range(14):
            r = await make_resident(
                s,
                org,
                east if n % 2 else west,
                name=f"住民 {n:02d}",
                kana=f"ジュウミン {(n * 7) % 14:02d}",  # kana order differs from creation order
                birth_year=None if n % 4 == 0 else 1930 + n,
                latitude=None if n % 3 == 0 else 35.0 + n / 997,
                longitude=None if n % 3 == 0 else 139.123456789 + n,
                phone=None if n % 2 else f"03-1234-{n:04d}",
                household=list(Household)[n % len(Household)],
                risk_level=list(RiskLevel)[n % len(RiskLevel)],
                support_needs="" if n % 3 else '難聴のため大きな声で\n"玄関"は裏',
                status=ResidentStatus.PAUSED if n == 5 else ResidentStatus.ACTIVE,
                status_reason="入院" if n == 5 else None,
                last_contact_at=utcnow() - timedelta(days=n, microseconds=n * 1234) if n % 5 else None,
            )
            await give_consent(s, r, ConsentRecipient.DISTRICT_COMMISSIONER)
            if n in (0, 1):
                await assign(s, r, lone)
            if n % 2 == 0:
                status = ConsentStatus.GIVEN if n != 4 else ConsentStatus.WITHDRAWN
                await give_consent(s, r, ConsentRecipient.VOLUNTEERS, status)
                await assign(s, r, vol)


async def _expected(db, login_name: str, page: int, page_size: int) -> bytes:
    """What the page was before: ORM residents through ResidentOut, restricted to the caller's
    fields, in a ResidentPage, encoded as Litestar encodes a pydantic model."""
    async with db() as s:
        user = await s.scalar(select(User).where(User.login == login_name))
        principal = await principal_of(s, user)
        residents = (
            await s.scalars(
                select(Resident)
                .where(visible_residents(principal))
                .order_by(Resident.kana, Resident.name, Resident.id)
            )
        ).all()
    fields = (resident_fields_for(principal) or ALL_RESIDENT_FIELDS) - LIST_HIDDEN
    shown = residents[(page - 1) * page_size : page * page_size]
    items = [
        ResidentOut.model_validate({n: getattr(r, n) for n in ALL_RESIDENT_FIELDS - LIST_HIDDEN}).restrict(
            fields
        )
        for r in shown
    ]
    body = ResidentPage(items=items, total=len(residents), page=page, page_size=page_size)
    return msgspec.json.encode(body.model_dump(mode="json"))


async def test_list_page_is_the_same_answer_for_each_role(client, db) -> None:
    await _town(db)
    for login_name, visible in (("coord", 14), ("comm", 7), ("comm2", 2), ("vol", 6)):  # vol: n=4 withdrew
        headers = await login(client, login_name, device_id=f"phone-{login_name}")
        for page, page_size in ((1, 50), (1, 4), (2, 4), (9, 4)):
            response = await client.get(
                "/api/v1/residents", params={"page": page, "page_size": page_size}, headers=headers
            )
            assert response.status_code == 200, response.text
            assert response.json()["total"] == visible
            assert response.content == await _expected(db, login_name, page, page_size), (login_name, page)
    first = (await client.get("/api/v1/residents", headers=headers)).json()["items"][0]
    assert "birth_year" not in first and "emergency_contacts" not in first  # still fewer fields


async def test_list_page_audit_names_the_residents_shown(client, db) -> None:
    await _town(db)
    headers = await login(client, "vol")
    body = (await client.get("/api/v1/residents", params={"page_size": 4}, headers=headers)).json()
    async with db() as s:
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "list"))).all()
    assert len(events) == 1
    assert events[0].entity == "resident"
    assert events[0].detail["resident_ids"] == [r["id"] for r in body["items"]]
    assert events[0].detail["fields"] == sorted(body["items"][0])


async def test_list_page_statements(client, app, db, monkeypatch) -> None:
    await _town(db)
    counted: list[str] = []
    engine = app.state.db_config.get_engine().sync_engine
    sent_straight = autocommit.fetch

    async def fetch(driver: Any, stmt: Any, dialect: Any, binds: dict[str, Any]) -> list[Any]:
        counted.append(str(stmt.compile(dialect=dialect)))  # to asyncpg, past the engine's events
        return await sent_straight(driver, stmt, dialect, binds)

    monkeypatch.setattr(autocommit, "fetch", fetch)

    def _count(_conn, _cursor, statement: str, *_: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            counted.append(statement)

    for login_name in ("coord", "comm", "comm2", "vol"):
        headers = await login(client, login_name, device_id=f"phone-{login_name}")
        event.listen(engine, "before_cursor_execute", _count)
        try:
            response = await client.get("/api/v1/residents", headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", _count)
        assert response.status_code == 200
        assert len(counted) <= STATEMENTS_PER_PAGE, (login_name, counted)
        assert any(s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS") for s in counted), counted
        counted.clear()


async def test_list_page_needs_no_transaction_on_postgresql(client, app, db, backend) -> None:
    """PostgreSQL: the page is authentication, the page and its audit INSERT, each on its own
    (the route starts in autocommit): no BEGIN or COMMIT round trips. The read is still audited."""
    if backend != "postgresql":
        pytest.skip("SQLite's transactions cost no round trip")
    await _town(db)
    headers = await login(client, "coord")
    engine = app.state.db_config.get_engine().sync_engine
    begun: list[str] = []

    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            begun.append("BEGIN")

    event.listen(engine, "begin", _begin)
    try:
        response = await client.get("/api/v1/residents", headers=headers)
    finally:
        event.remove(engine, "begin", _begin)
    assert response.status_code == 200
    assert begun == []
    async with db() as s:
        audited = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "list"))).all()
    assert [e.detail["resident_ids"] for e in audited] == [[r["id"] for r in response.json()["items"]]]
