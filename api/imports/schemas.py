from __future__ import annotations

from pydantic import BaseModel, Field


class ImportErrorOut(BaseModel):
    line: int = Field(description="Line in the file as Excel numbers it (header = 1; 0 = the whole file)")
    field: str = Field(description="The column header as the file spells it ('' for the whole row or file)")
    code: str = Field(description="Stable error code, e.g. import.unknown_district")
    message: str = Field(description="The reason, in the caller's language")


class ImportReportOut(BaseModel):
    rows: int = Field(description="Data rows read (blank rows not counted)")
    valid: int = Field(description="Rows without any problem")
    imported: int = Field(description="Residents created (0 on a dry run)")
    dry_run: bool
    errors: list[ImportErrorOut]
    ignored_columns: list[str] = Field(description="Headers not recognised, hence not imported")


class ImportRejectedOut(ImportReportOut):
    """The problem details body of a refused import: RFC 9457 members plus the full report."""

    type: str
    title: str
    status: int
    code: str
    instance: str
