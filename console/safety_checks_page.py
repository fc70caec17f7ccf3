"""The safety-checks page (安否確認): start a check for chosen districts, follow its progress live
(HTMX polls each running check's progress table), close it.

Through the services behind /api/v1/safety-checks (`schedules.campaigns`, `schedules.campaign_close`)
with the API's rules and audit events: a person follows the checks covering a district whose plans
they manage (`domain.access.may_plan_for_district`), figures counted over the residents they may see
(`plannable_residents`), the stored final tally for coordinators only. Starting and closing are for
coordinators here. Both are safe to press twice: the start form carries a one-time key from which the
campaign's id is made (the same form sent again names the same campaign), and closing again keeps
the first close's tally."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import console.messages_districts  # noqa: F401  (registers the page's texts)
from api.schemas import is_id, strip_control
from console.controllers import PASSIVE
from console.views import render
from domain import audit
from domain.access import Principal, may_plan_for_district, plannable_residents, require_role
from domain.clock import utcnow
from domain.enums import Role
from domain.errors import FieldError, Forbidden, InvalidInput, NotFound
from domain.models import District, Organisation, SafetyCheckCampaign
from domain.org_settings import rules_for
from schedules import campaign_close, campaigns

PATH = "/console/safety-checks"
POLL_SECONDS = 3  # how often a running check's progress is fetched again
STOP_POLLING = 286  # HTMX: swap this answer, then stop polling
LISTED = 50  # as GET /api/v1/safety-checks
TITLE_MAX = 200
KEY_NAMESPACE = uuid.UUID("6f1c2a4e-3d5b-4c8e-9a7f-2b1d0e9c8a61")


@dataclass(frozen=True)
class DistrictProgress:
    name: str
    total: int
    done: int
    cancelled: int = 0  # residents paused or ended meanwhile: nobody left to reach

    @property
    def remaining(self) -> int:
        return self.total - self.done - self.cancelled


@dataclass(frozen=True)
class CheckView:
    campaign: SafetyCheckCampaign
    rows: list[DistrictProgress]
    checked_at: datetime

    @property
    def total(self) -> DistrictProgress:
        return DistrictProgress(
            "",
            sum(r.total for r in self.rows),
            sum(r.done for r in self.rows),
            sum(r.cancelled for r in self.rows),
        )


async def _names(session: AsyncSession, org_id: str) -> dict[str, str]:
    rows = await session.execute(select(District.id, District.name).where(District.org_id == org_id))
    return dict(rows.tuples().all())


async def _view(
    session: AsyncSession, principal: Principal, campaign: SafetyCheckCampaign, names: dict[str, str]
) -> CheckView:
    figures = await campaigns.progress(session, campaign, plannable_residents(principal))
    by_district = figures["by_district"]
    rows = [
        DistrictProgress(
            names.get(d, d),
            by_district.get(d, {}).get("total", 0),
            by_district.get(d, {}).get("reached", 0),
            by_district.get(d, {}).get("cancelled", 0),
        )
        for d in sorted(campaign.district_ids, key=lambda d: (names.get(d, d), d))
        if may_plan_for_district(principal, d)
    ]
    return CheckView(campaign, rows, utcnow())


def _may_see(principal: Principal, campaign: SafetyCheckCampaign) -> bool:
    return any(may_plan_for_district(principal, d) for d in campaign.district_ids)


async def _campaign(session: AsyncSession, principal: Principal, campaign_id: str) -> SafetyCheckCampaign:
    campaign = await session.get(SafetyCheckCampaign, campaign_id)
    if campaign is None or campaign.org_id != principal.org_id or not _may_see(principal, campaign):
        raise NotFound()
    return campaign


def _text(form: Any, name: str, max_length: int) -> str:
    value = form.get(name)
    text = (value if isinstance(value, str) else "").strip()
    if len(text) > max_length:
        raise InvalidInput.field(name, "field.too_long", max=max_length)
    return text


def _start_fields(form: Any) -> tuple[str, list[str], int | None, str]:
    errors = []
    title = _text(form, "title", TITLE_MAX)
    if not title:
        errors.append(FieldError("title", "field.required"))
    elif strip_control(title) != title:  # the API's rule for every text (PostgreSQL refuses NUL)
        errors.append(FieldError("title", "field.invalid"))
    district_ids = sorted({d for d in form.getall("district_ids", []) if isinstance(d, str) and d})
    if not district_ids:
        errors.append(FieldError("district_ids", "field.required"))
    elif not all(is_id(d) for d in district_ids):  # could not be a district: never to the database
        errors.append(FieldError("district_ids", "campaign.unknown_district"))
    raw_hours = _text(form, "hours", 4)
    hours = None
    if raw_hours:
        if not raw_hours.isdigit() or not 1 <= int(raw_hours) <= 24 * 7:
            errors.append(FieldError("hours", "field.range"))
        else:
            hours = int(raw_hours)
    key = _text(form, "key", 64)
    if not (16 <= len(key) <= 64 and key.isalnum()):
        errors.append(FieldError("key", "field.invalid"))
    if errors:
        raise InvalidInput(errors=errors)
    return title, district_ids, hours, key


class SafetyChecksController(Controller):
    path = "/"

    @get("/safety-checks", name="console.safety_checks")
    async def page(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        if principal.role == Role.VOLUNTEER:
            return Redirect("/console", status_code=303)  # the phone app is theirs
        names = await _names(db_session, principal.org_id)
        found = await db_session.scalars(
            select(SafetyCheckCampaign)
            .where(SafetyCheckCampaign.org_id == principal.org_id)
            .order_by(SafetyCheckCampaign.started_at.desc(), SafetyCheckCampaign.id)
            .limit(LISTED)
        )
        views = [await _view(db_session, principal, c, names) for c in found if _may_see(principal, c)]
        org = await db_session.get_one(Organisation, principal.org_id)
        done = request.query_params.get("done")
        return render(
            request,
            "safety_checks.html.j2",
            principal,
            active="safety_checks",
            running=[v for v in views if v.campaign.closed_at is None],
            closed=[v for v in views if v.campaign.closed_at is not None],
            districts=sorted(names.items(), key=lambda item: (item[1], item[0])),
            may_act=principal.role == Role.COORDINATOR,
            default_hours=rules_for(org).safety_check_hours,
            form_key=secrets.token_hex(16),
            poll_seconds=POLL_SECONDS,
            flash_code=f"console.safety.{done}_flash" if done in ("started", "closed") else None,
        )

    @get("/safety-checks/{campaign_id:str}/progress", opt={PASSIVE: True})
    async def progress(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        campaign_id: FromPath[str],
    ) -> Template:
        """One check's progress table alone: what the page polls while the check runs."""
        if principal.role == Role.VOLUNTEER:
            raise Forbidden()
        campaign = await _campaign(db_session, principal, campaign_id)
        view = await _view(db_session, principal, campaign, await _names(db_session, principal.org_id))
        # 286 tells HTMX to stop polling: a closed check does not move any more.
        status = STOP_POLLING if campaign.closed_at is not None else 200
        return render(request, "_safety_progress.html.j2", principal, v=view, status_code=status)

    @post("/safety-checks", status_code=303)
    async def start(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> Redirect:
        require_role(principal, Role.COORDINATOR)
        title, district_ids, hours, key = _start_fields(await request.form())
        # The same form sent twice (a double press, a retry) names the same campaign.
        campaign_id = uuid.uuid5(KEY_NAMESPACE, f"{principal.user_id}:{key}").hex
        existing = await db_session.get(SafetyCheckCampaign, campaign_id)
        if existing is None:
            org = await db_session.get_one(Organisation, principal.org_id)
            try:
                campaign = await campaigns.start_campaign(
                    db_session,
                    org,
                    title=title,
                    district_ids=district_ids,
                    hours=hours,
                    actor_id=principal.user_id,
                    campaign_id=campaign_id,
                )
            except IntegrityError:  # the other press got there first
                await db_session.rollback()
            else:
                audit.record(db_session, principal, "create", "safety_check", campaign.id)
                await db_session.commit()  # a redirect: the autocommit hook would not commit it
        elif existing.org_id != principal.org_id:
            raise Forbidden()
        return Redirect(f"{PATH}?done=started#check-{campaign_id}", status_code=303)

    @post("/safety-checks/{campaign_id:str}/close", status_code=303)
    async def close(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        campaign_id: FromPath[str],
    ) -> Redirect:
        require_role(principal, Role.COORDINATOR)
        campaign = await _campaign(db_session, principal, campaign_id)
        closed_now = await campaign_close.close_campaign(db_session, campaign, principal.user_id)
        audit.record(
            db_session, principal, "close", "safety_check", campaign.id, already_closed=not closed_now
        )
        await db_session.commit()  # a redirect: the autocommit hook would not commit it
        return Redirect(f"{PATH}?done=closed#check-{campaign_id}", status_code=303)
