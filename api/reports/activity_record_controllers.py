"""HTTP for the commissioners' monthly activity record (民生委員・児童委員活動記録). Thin: what is
counted is in activity_record.py, who may see it in domain.access."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.organisation.schemas import ID_PATTERN
from api.reports import activity_record, activity_record_csv, csv_export
from api.reports.activity_record_schemas import ActivityRecord, ActivityReviewIn, DistrictActivityTotal
from domain.access import Principal, may_export
from domain.errors import Forbidden
from domain.i18n import negotiate

MONTH_DESCRIPTION = "YYYY-MM, a month of the organisation's calendar (default: the current month)"
MONTH_PATTERN = r"^\d{4}-\d{2}$"


def _locale(request: Request[Any, Any, Any], principal: Principal) -> str:
    return negotiate(request.headers.get("accept-language"), default=principal.locale)


class ActivityRecordController(Controller):
    path = "/api/v1/reports/activity-record"
    tags = ["reports"]

    @get("/", operation_id="activityRecord")
    async def get_record(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        month: Annotated[
            str | None, QueryParameter(pattern=MONTH_PATTERN, description=MONTH_DESCRIPTION)
        ] = None,
        commissioner_id: Annotated[
            str | None, QueryParameter(pattern=ID_PATTERN, description="default: the caller")
        ] = None,
        format: Annotated[
            Literal["json", "csv"],
            QueryParameter(description="csv: the record as a file for Excel (UTF-8 with BOM)"),
        ] = "json",
    ) -> ActivityRecord | Response[bytes]:
        """A commissioner's monthly activity record, prepared from their contact notes and
        activities: consultations by field × topic, the other activities by kind, visits
        (home-visit notes, answered or not), other contacts, liaison, days active, and the review
        (when, and whether any figure changed since). Counts only, no resident named. A
        commissioner reads their own; coordinators any commissioner of the organisation;
        volunteers 403. Months are the organisation's calendar months."""
        locale = _locale(request, principal)
        period = activity_record.month_of(principal, month)
        record = await activity_record.activity_record(db_session, principal, period, commissioner_id, locale)
        if format == "csv":
            if not may_export(principal):
                raise Forbidden()
            text = activity_record_csv.activity_record_csv(record, locale)
            return csv_export.csv_response(text, f"activity-record-{record.month}", principal.today())
        return record

    @post("/review", operation_id="reviewActivityRecord", status_code=200)
    async def review(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ActivityReviewIn],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> ActivityRecord:
        """The commissioner marks their month's activity record reviewed (who and when are kept
        with the figures reviewed). Sending it again changes nothing while the figures are those
        reviewed; after a change it records a new review. Commissioners only, their own record."""
        period = activity_record.month_of(principal, data.month)
        return await activity_record.review(db_session, principal, period, _locale(request, principal))

    @get("/districts/{district_id:str}", operation_id="districtActivityRecord")
    async def district_total(
        self,
        request: Request[Any, Any, Any],
        district_id: FromPath[str],
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        month: Annotated[
            str | None, QueryParameter(pattern=MONTH_PATTERN, description=MONTH_DESCRIPTION)
        ] = None,
    ) -> DistrictActivityTotal:
        """The district council's (民児協) total for a month: the records of the district's active
        commissioners summed, and how many of them reviewed it with nothing changed since. A
        commissioner holding several districts is counted once, in the first of them by name
        (`members[].counted_in`); the others list them with `counted_elsewhere: true`, so the
        districts' totals add up to the commissioners' records. Coordinators, and the
        commissioners of that district; volunteers 403."""
        period = activity_record.month_of(principal, month)
        return await activity_record.district_total(
            db_session, principal, district_id, period, _locale(request, principal)
        )
