"""HTTP for residents, consent and assignments. Thin: rules live in service.py and domain.access."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Pagination, page_of
from api.organisation.schemas import ID_PATTERN
from api.reports.export_files import FORMAT_DESCRIPTION, ListFormat
from api.residents import exports, service
from api.residents.schemas import (
    AssignmentCreatedOut,
    AssignmentEndIn,
    AssignmentIn,
    AssignmentOut,
    AssignmentsOut,
    ConsentIn,
    ConsentOut,
    ConsentWithdrawIn,
    HandOverIn,
    HandOverOut,
    LegalBasisEndIn,
    LegalBasisIn,
    LegalBasisOut,
    LegalBasisRuleOut,
    ResidentIn,
    ResidentOut,
    ResidentPage,
    ResidentPatch,
    ResidentStatusIn,
)
from domain.access import Principal
from domain.autocommit import AUTOCOMMIT_START, end_autocommit
from domain.enums import ConsentRecipient, ResidentStatus, RiskLevel


class ResidentController(Controller):
    path = "/api/v1/residents"
    tags = ["residents"]

    # Starts in autocommit on PostgreSQL (domain/autocommit.py): a page is three round trips
    # (authentication, the page, its audit INSERT), not five.
    @get("/", operation_id="listResidents", opt={AUTOCOMMIT_START: True})
    async def list_residents(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        pagination: NamedDependency[Pagination],
        district_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        risk_level: FromQuery[RiskLevel | None] = None,
        status: FromQuery[ResidentStatus | None] = None,
        assignee_id: Annotated[str | None, QueryParameter(pattern=ID_PATTERN)] = None,
        q: Annotated[
            str | None,
            QueryParameter(name="q", max_length=100, description="Part of the name or kana (かな or カナ)"),
        ] = None,
        format: Annotated[
            ListFormat,
            QueryParameter(
                description="json (default), or every matching resident as a file for Excel (page and "
                "page_size do not apply; headers in the reader's language): " + FORMAT_DESCRIPTION + ". "
                "Files: coordinators and commissioners only; audited as an export"
            ),
        ] = "json",
    ) -> ResidentPage | Stream:
        """The residents the caller may see, sorted by kana: coordinators their organisation,
        commissioners their districts and assigned residents with consent, volunteers only their
        assigned residents whose consent covers volunteers (fewer fields). The read is audited."""
        f = service.ResidentFilter(district_id, risk_level, status, assignee_id, q)
        if format != "json":
            await end_autocommit(db_session)  # an export works in transactions, as before
            return await exports.residents_file(
                db_session,
                principal,
                f,
                request.headers.get("accept-language"),
                request.app.state.db_config,
                format,
            )
        items, total = await service.resident_page(
            db_session, principal, f, pagination.offset, pagination.page_size
        )
        # Plain data encoded as ResidentPage would be (service.resident_page); the annotation
        # keeps the documented schema.
        return cast("ResidentPage", page_of(items, total, pagination))

    @post("/", status_code=HTTP_201_CREATED, operation_id="createResident")
    async def create_resident(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[ResidentIn],
    ) -> ResidentOut:
        """Register a resident under watch, with emergency contacts (coordinators)."""
        return await service.create_resident(db_session, principal, data)

    @get("/{resident_id:str}", operation_id="getResident")
    async def get_resident(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
    ) -> ResidentOut:
        """One resident, if the caller may see it (otherwise 404). Coordinators and commissioners
        also get the emergency contacts. The read is audited."""
        return await service.read_resident(db_session, principal, resident_id)

    @patch("/{resident_id:str}", operation_id="updateResident")
    async def update_resident(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        data: JSONBody[ResidentPatch],
    ) -> ResidentOut:
        """Change a resident's details (coordinators). Only the fields sent change; a sent
        `emergency_contacts` list replaces the contacts (by id). Audited by field name."""
        return await service.update_resident(db_session, principal, resident_id, data)

    @post("/{resident_id:str}/status", status_code=HTTP_200_OK, operation_id="changeResidentStatus")
    async def change_status(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        data: JSONBody[ResidentStatusIn],
    ) -> ResidentOut:
        """Set active, paused (hospital, staying away) or ended, with a reason (coordinators). Ended
        residents leave commissioners' and volunteers' lists and phones."""
        return await service.change_status(db_session, principal, resident_id, data)

    @get("/{resident_id:str}/consents", operation_id="listConsents")
    async def list_consents(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
    ) -> list[ConsentOut]:
        """The resident's consent records, one per kind of recipient (coordinators, commissioners)."""
        return await service.list_consents(db_session, principal, resident_id)

    @put("/{resident_id:str}/consents/{recipient:str}", operation_id="setConsent")
    async def set_consent(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        recipient: FromPath[ConsentRecipient],
        data: JSONBody[ConsentIn],
    ) -> ConsentOut:
        """Record consent (given or withdrawn, purpose, dates) or the legal basis that allows sharing
        without it, for one kind of recipient (coordinators). Audited by field name."""
        return await service.set_consent(db_session, principal, resident_id, recipient, data)

    @post(
        "/{resident_id:str}/consents/{recipient:str}/withdraw",
        status_code=HTTP_200_OK,
        operation_id="withdrawConsent",
    )
    async def withdraw_consent(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        recipient: FromPath[ConsentRecipient],
        data: JSONBody[ConsentWithdrawIn | None] = None,
    ) -> ConsentOut:
        """Withdraw consent (coordinators). A withdrawal withdraws: sharing with that recipient stops
        at once (unless a legal basis record of its own covers it), the resident leaves their lists,
        and their phones purge it at the next sync. Only a consent recorded as given can be
        withdrawn: `409 error.consent_not_given` otherwise (not given, or already withdrawn)."""
        return await service.withdraw_consent(
            db_session, principal, resident_id, recipient, data or ConsentWithdrawIn()
        )

    @get("/{resident_id:str}/legal-bases", operation_id="listLegalBases")
    async def list_legal_bases(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
    ) -> list[LegalBasisOut]:
        """The legal bases recorded for the resident, active and ended (coordinators). Audited."""
        return await service.list_legal_bases(db_session, principal, resident_id)

    @post("/{resident_id:str}/legal-bases", status_code=HTTP_201_CREATED, operation_id="recordLegalBasis")
    async def record_legal_basis(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        data: JSONBody[LegalBasisIn],
    ) -> LegalBasisOut:
        """Record a legal basis that allows sharing the resident with one kind of recipient without
        consent (coordinators). Only bases from the fixed list, for the recipients each can cover
        (`GET /api/v1/legal-bases`); anything else is refused with 422. Audited."""
        return await service.record_legal_basis(db_session, principal, resident_id, data)

    @post(
        "/{resident_id:str}/legal-bases/{record_id:str}/end",
        status_code=HTTP_200_OK,
        operation_id="endLegalBasis",
    )
    async def end_legal_basis(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        record_id: FromPath[str],
        data: JSONBody[LegalBasisEndIn],
    ) -> LegalBasisOut:
        """End a legal basis with a reason (coordinators): the sharing it allowed stops at once and
        phones purge the resident at their next sync. The record stays in the history. Audited."""
        return await service.end_legal_basis(db_session, principal, resident_id, record_id, data)

    @get("/{resident_id:str}/assignments", operation_id="listAssignments")
    async def list_assignments(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
    ) -> AssignmentsOut:
        """Who watches over the resident now, and who did before (coordinators, commissioners)."""
        return await service.list_assignments(db_session, principal, resident_id)

    @post("/{resident_id:str}/assignments", status_code=HTTP_201_CREATED, operation_id="createAssignment")
    async def create_assignment(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        resident_id: FromPath[str],
        data: JSONBody[AssignmentIn],
    ) -> AssignmentCreatedOut:
        """Assign a watcher, primary or backup (coordinators). One primary at a time. The answer says
        whether the resident's consent lets the assignee actually receive the resident."""
        return await service.create_assignment(db_session, principal, resident_id, data)


class AssignmentController(Controller):
    path = "/api/v1/assignments"
    tags = ["assignments"]

    @post("/{assignment_id:str}/end", status_code=HTTP_200_OK, operation_id="endAssignment")
    async def end_assignment(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        assignment_id: FromPath[str],
        data: JSONBody[AssignmentEndIn],
    ) -> AssignmentOut:
        """End an assignment with a reason (coordinators). It stays in the history; the watcher's
        phone purges the resident at its next sync."""
        return await service.end_assignment(db_session, principal, assignment_id, data)

    @post("/hand-over", status_code=HTTP_200_OK, operation_id="handOverAssignments")
    async def hand_over(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[HandOverIn],
    ) -> HandOverOut:
        """Hand all of one person's residents to another in one transaction (coordinators), e.g. at
        the end of a commissioner's term: old assignments end with the reason, new ones start with the
        same role, and visit plans and future planned visits follow."""
        return await service.hand_over(db_session, principal, data)


class LegalBasisController(Controller):
    path = "/api/v1/legal-bases"
    tags = ["residents"]

    @get("/", operation_id="listLegalBasisRules")
    async def list_rules(self, principal: NamedDependency[Principal]) -> list[LegalBasisRuleOut]:
        """The fixed list of legal bases that allow sharing without consent, with the law each
        rests on and the recipient kinds each can cover (see docs/privacy.md)."""
        return service.legal_basis_catalogue(principal)
