from __future__ import annotations

from pydantic import BaseModel, Field


class ImportErrorOut(BaseModel):
    line: int = Field(description="Line in the file as Excel numbers it (header = 1; 0 = the whole file)")
    field: str = Field(description="The column header as the file spells it ('' for the whole row or file)")
    code: str = Field(description="Stable error code, e.g. import.unknown_district")
    message: str = Field(description="The reason, in the caller's language")


class NewResidentOut(BaseModel):
    line: int
    register_number: str
    name: str


class ChangedResidentOut(BaseModel):
    line: int
    register_number: str
    resident_id: str
    name: str
    fields: list[str] = Field(description="What the register changes, e.g. address, risk_level")


class UnlistedResidentOut(BaseModel):
    resident_id: str
    register_number: str
    name: str


class ImportReportOut(BaseModel):
    rows: int = Field(description="Data rows read (blank rows not counted)")
    valid: int = Field(description="Rows without any problem")
    imported: int = Field(description="Residents created (0 on a dry run)")
    dry_run: bool
    errors: list[ImportErrorOut] = Field(description="The problems, by line: the first 1,000 at most")
    error_count: int = Field(default=0, description="How many problems the file has in all")
    ignored_columns: list[str] = Field(description="Headers not recognised, hence not imported")
    mode: str = Field(default="create", description="create, or update (a re-imported register)")
    new: list[NewResidentOut] = Field(default_factory=list, description="Update mode: not registered yet")
    changed: list[ChangedResidentOut] = Field(default_factory=list, description="Update mode: details differ")
    unchanged: int = Field(default=0, description="Update mode: rows that change nothing")
    no_longer_listed: list[UnlistedResidentOut] = Field(
        default_factory=list,
        description="Update mode: residents with a register number the file no longer lists (never ended "
        "by an import: end them through the API, with a reason)",
    )
    consent_kept: list[ChangedResidentOut] = Field(
        default_factory=list,
        description="Update mode: consent columns that differ from what is recorded and are kept as "
        "recorded (a withdrawal is applied and listed under changed; consent is given through the API)",
    )
    updated: int = Field(default=0, description="Update mode: residents changed (0 on a dry run)")


class ImportRejectedOut(ImportReportOut):
    """The problem details body of a refused import: RFC 9457 members plus the full report."""

    type: str
    title: str
    status: int
    code: str
    instance: str
