"""The query parameters every period report shares (coverage, exports of a period, charts), declared
once so their names, validation and documentation cannot drift apart."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar.params import QueryParameter

from api.organisation.schemas import ID_PATTERN

PeriodStart = Annotated[
    date | None, QueryParameter(name="from", description="first local day (default: 29 days before `to`)")
]
PeriodEnd = Annotated[date | None, QueryParameter(description="last local day, inclusive (default: today)")]
DistrictFilter = Annotated[str | None, QueryParameter(pattern=ID_PATTERN)]
