"""The demo town: what a person trying Mimamori for the first time relies on."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from api.demo import DEMO_LOGINS, load_demo_if_empty
from api.reports.activity_record import activity_record, month_of
from domain.access import Principal, visible_residents
from domain.clock import clock, utcnow
from domain.db import create_db_config, session_scope
from domain.enums import ConsentRecipient, ConsentStatus, ResidentStatus, Role, VisitStatus
from domain.legal_bases import basis_covers
from domain.models import (
    Assignment,
    Base,
    Consent,
    ContactNote,
    District,
    LegalBasisRecord,
    Organisation,
    Resident,
    User,
    UserDistrict,
    Visit,
    VisitPlan,
)
from domain.settings import Settings
from tests.factories import login


async def _load(db, settings: Settings) -> bool:
    async with db() as session:
        return await load_demo_if_empty(session, settings)


async def _count(session: AsyncSession, model: type, *where) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _digest(session: AsyncSession) -> str:
    """Who lives in the town and who may see them: everything but dates, which follow the clock."""
    districts = {d.id: d.name for d in await session.scalars(select(District))}
    logins = {u.id: u.login for u in await session.scalars(select(User))}
    residents = [
        [
            r.id,
            districts[r.district_id],
            r.name,
            r.kana,
            r.birth_year,
            r.address,
            r.phone,
            r.household,
            r.risk_level,
            r.support_needs,
            r.status,
            r.latitude,
            r.longitude,
        ]
        for r in await session.scalars(select(Resident).order_by(Resident.id))
    ]
    consents = [
        [c.resident_id, c.recipient, c.status]
        for c in await session.scalars(select(Consent).order_by(Consent.resident_id, Consent.recipient))
    ]
    bases = [
        [b.resident_id, b.recipient, b.basis, b.ended_at is None]
        for b in await session.scalars(
            select(LegalBasisRecord).order_by(LegalBasisRecord.resident_id, LegalBasisRecord.recipient)
        )
    ]
    assignments = [
        [a.resident_id, logins[a.user_id], a.role, a.ended_at is None]
        for a in await session.scalars(select(Assignment).order_by(Assignment.id))
    ]
    plans = [
        [p.resident_id, logins[p.assignee_id], p.rrule]
        for p in await session.scalars(select(VisitPlan).order_by(VisitPlan.id))
    ]
    payload = json.dumps([residents, consents, bases, assignments, plans], ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


async def test_demo_town_has_the_promised_people_and_respects_consent(db, settings) -> None:
    assert await _load(db, settings) is True
    async with db() as session:
        assert await _count(session, Organisation) == 1
        assert await _count(session, District) == 3
        assert await _count(session, User, User.role == Role.COORDINATOR) == 2
        assert await _count(session, User, User.role == Role.COMMISSIONER) == 6
        assert await _count(session, User, User.role == Role.VOLUNTEER) == 12
        assert await _count(session, Resident) == 300
        assert await _count(session, User, User.is_demo.is_(False)) == 0
        # Every commissioner holds a district; each district has two.
        held = (
            await session.execute(
                select(UserDistrict.district_id, func.count()).group_by(UserDistrict.district_id)
            )
        ).all()
        assert sorted(n for _, n in held) == [2, 2, 2]
        risks = dict(
            (
                await session.execute(select(Resident.risk_level, func.count()).group_by(Resident.risk_level))
            ).all()
        )
        assert set(risks) == {"high", "medium", "low"} and min(risks.values()) >= 30
        # Consent: most given for the district commissioner, some withdrawn, a few by legal basis only.
        commissioner = Consent.recipient == ConsentRecipient.DISTRICT_COMMISSIONER
        assert await _count(session, Consent, commissioner, Consent.status == ConsentStatus.GIVEN) >= 250
        assert await _count(session, Consent, Consent.status == ConsentStatus.WITHDRAWN) >= 3
        # Sharing without consent rests on legal basis records, each covering its recipient.
        bases = list(await session.scalars(select(LegalBasisRecord)))
        assert len(bases) >= 3
        assert all(basis_covers(b.basis, b.recipient) for b in bases)
        assert (
            await _count(
                session,
                Consent,
                Consent.recipient == ConsentRecipient.VOLUNTEERS,
                Consent.status == ConsentStatus.GIVEN,
            )
            >= 50
        )
        # Every resident under watch has a primary watcher and a plan; history is recent.
        active = await _count(session, Resident, Resident.status != ResidentStatus.ENDED)
        with_primary = await session.scalar(
            select(func.count(func.distinct(Assignment.resident_id))).where(
                Assignment.role == "primary", Assignment.ended_at.is_(None)
            )
        )
        assert with_primary == active
        rrules = set(await session.scalars(select(VisitPlan.rrule)))
        assert any(r.startswith("FREQ=WEEKLY;INTERVAL=1") for r in rrules)
        assert any(r.startswith("FREQ=WEEKLY;INTERVAL=2") for r in rrules)
        assert any(r.startswith("FREQ=MONTHLY") for r in rrules)
        assert await _count(session, Visit, Visit.status == VisitStatus.DONE) > 500
        assert await _count(session, Visit, Visit.status == VisitStatus.MISSED) > 10
        methods = set(await session.scalars(select(ContactNote.method).distinct()))
        outcomes = set(await session.scalars(select(ContactNote.outcome).distinct()))
        assert {"home_visit", "phone", "meeting_place", "meal_delivery"} <= methods
        assert {"met_well", "met_concern", "no_answer"} <= outcomes
        newest = await session.scalar(select(func.max(ContactNote.occurred_at)))
        oldest = await session.scalar(select(func.min(ContactNote.occurred_at)))
        assert utcnow() - newest < timedelta(days=3)
        assert utcnow() - oldest < timedelta(days=60)
        assert newest <= utcnow()
    async with db() as session:
        # The demo volunteer is assigned only residents whose consent covers volunteers.
        volunteer = await session.scalar(select(User).where(User.login == "demo-volunteer"))
        assigned = set(
            await session.scalars(
                select(Assignment.resident_id).where(
                    Assignment.user_id == volunteer.id, Assignment.ended_at.is_(None)
                )
            )
        )
        assert len(assigned) >= 5
        consented = set(
            await session.scalars(
                select(Consent.resident_id).where(
                    Consent.resident_id.in_(assigned),
                    Consent.recipient == ConsentRecipient.VOLUNTEERS,
                    Consent.status == ConsentStatus.GIVEN,
                )
            )
        )
        assert consented == assigned
        # …and the access rules hand every one of them to the volunteer.
        principal = Principal(user_id=volunteer.id, org_id=volunteer.org_id, role=Role.VOLUNTEER)
        visible = set(await session.scalars(select(Resident.id).where(visible_residents(principal))))
        assert visible == assigned
        # The volunteer has their own visit plans, so their schedule is not empty.
        assert await _count(session, VisitPlan, VisitPlan.assignee_id == volunteer.id) >= 1
        # The demo commissioner holds a district and sees its consented residents, not the others.
        commissioner = await session.scalar(select(User).where(User.login == "demo-commissioner"))
        districts = frozenset(
            await session.scalars(
                select(UserDistrict.district_id).where(UserDistrict.user_id == commissioner.id)
            )
        )
        principal = Principal(
            user_id=commissioner.id,
            org_id=commissioner.org_id,
            role=Role.COMMISSIONER,
            district_ids=districts,
        )
        seen = list(await session.scalars(select(Resident).where(visible_residents(principal))))
        assert len(seen) >= 80
        assert {r.district_id for r in seen} == set(districts)
        # Their activity record of last month (the demo holds eight weeks) is not empty: notes
        # carry a support field and topic, mostly about older people, some about the others.
        first = principal.today().replace(day=1)
        last_month = f"{(first - timedelta(days=1)):%Y-%m}"
        record = await activity_record(session, principal, month_of(principal, last_month), None, "ja")
        consultations = record.figures.consultations
        by_field = {f.field: f.total for f in consultations.by_field}
        assert consultations.total >= 5 and by_field["elderly"] == max(by_field.values())
        assert record.figures.visits > consultations.total > 0
        fields = set(await session.scalars(select(ContactNote.support_field).distinct()))
        assert fields == {None, "elderly", "disabled", "children", "other"}
        assert not await _count(
            session,
            ContactNote,
            ContactNote.support_field.is_not(None),
            ContactNote.author_id.not_in(select(User.id).where(User.role == Role.COMMISSIONER)),
        )


async def test_each_demo_account_signs_in_with_the_demo_password(client, db, settings) -> None:
    await _load(db, settings)
    for role, login_name in DEMO_LOGINS.items():
        headers = await login(client, login_name, settings.demo_password, device_id=f"demo-{role}")
        me = (await client.get("/api/v1/me", headers=headers)).json()
        assert me["role"] == role
        if role == Role.COMMISSIONER:
            assert len(me["district_ids"]) == 1
    wrong = await client.post(
        "/api/v1/auth/login",
        json={
            "login": "demo-coordinator",
            "password": "wrong-password",
            "device": {"id": "x", "platform": "web"},
        },
    )
    assert wrong.status_code == 401


async def test_same_seed_same_town_on_another_day(db, settings, tmp_path: Path) -> None:
    """Two fresh databases, loaded three days apart: the same people, consents and assignments.
    Loading again into a database that has data changes nothing."""
    assert await _load(db, settings) is True
    async with db() as session:
        first = await _digest(session)
        counts = (await _count(session, Visit), await _count(session, ContactNote))
    assert await _load(db, settings) is False
    async with db() as session:
        assert await _digest(session) == first
        assert (await _count(session, Visit), await _count(session, ContactNote)) == counts
        assert await _count(session, Organisation) == 1

    other = f"sqlite+aiosqlite:///{tmp_path / 'second.sqlite3'}"
    engine = create_async_engine(other, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    second_settings = settings.model_copy(update={"database_url": other})
    clock.set(utcnow() + timedelta(days=3, hours=5))
    config = create_db_config(second_settings)
    async with session_scope(config) as session:
        assert await load_demo_if_empty(session, second_settings) is True
    async with session_scope(config) as session:
        assert await _digest(session) == first
    await config.get_engine().dispose()
    await asyncio.sleep(0)
