"""The client schema phones hold, every version the server ever published, and the migrations
between them. Served by `GET /api/v1/sync/schema` in WatermelonDB's `appSchema` form.

Rules: a published version never changes; a new version only adds tables or columns (WatermelonDB
migrations `createTable` / `addColumns`); the server serialises records with the columns of the
phone's own `schema_version`, so older phones keep working.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any, Literal

ColumnType = Literal["string", "number", "boolean"]
# How a server value becomes a wire value: times are integer milliseconds, lists/dicts JSON text.
Codec = Literal["str", "num", "bool", "time", "json"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    codec: Codec
    optional: bool = False
    indexed: bool = False
    since: int = 1  # the schema version that added it

    def as_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.optional:
            out["isOptional"] = True
        if self.indexed:
            out["isIndexed"] = True
        return out


def _s(name: str, **kw: Any) -> Column:
    return Column(name, "string", "str", **kw)


def _n(name: str, **kw: Any) -> Column:
    return Column(name, "number", "num", **kw)


def _t(name: str, **kw: Any) -> Column:
    return Column(name, "number", "time", **kw)


def _b(name: str, **kw: Any) -> Column:
    return Column(name, "boolean", "bool", **kw)


def _j(name: str, **kw: Any) -> Column:
    return Column(name, "string", "json", **kw)


_STAMPS = (_t("created_at"), _t("updated_at"))  # WatermelonDB wants these non-optional numbers


def _added_in(version: int, *cols: Column) -> tuple[Column, ...]:
    """A table that a later version creates: every column, stamps too, is new in that version."""
    return tuple(replace(c, since=version) for c in cols)


TABLES: dict[str, tuple[Column, ...]] = {
    "residents": (
        _s("district_id", indexed=True),
        _s("name"),
        _s("kana"),
        _n("birth_year", optional=True),
        _s("address"),
        _n("latitude", optional=True),
        _n("longitude", optional=True),
        _s("phone", optional=True),
        _s("household"),
        _s("risk_level"),
        _s("support_needs"),
        _s("status"),
        _s("status_reason", optional=True),
        _t("last_contact_at", optional=True),
        *_STAMPS,
    ),
    "visits": (
        _s("resident_id", indexed=True),
        _s("assignee_id", optional=True, indexed=True),
        _s("kind", since=2),
        _t("due_start"),
        _t("due_end"),
        _s("status"),
        _s("fulfilled_by_note_id", optional=True),
        _t("completed_at", optional=True),
        *_STAMPS,
    ),
    "contact_notes": (
        _s("resident_id", indexed=True),
        _s("visit_id", optional=True, indexed=True),
        _s("author_id"),
        _s("method"),
        _s("outcome"),
        _s("body"),
        _t("occurred_at"),
        _t("received_at", optional=True),
        _b("follow_up_needed"),
        _s("visibility"),
        _j("warning_signs", optional=True, since=2),
        _s("referral", optional=True, since=2),
        _j("wellbeing", optional=True, since=2),
        # v4: a consultation (相談・支援) of the activity record: field and topic (domain.enums).
        _s("support_field", optional=True, since=4),
        _s("support_topic", optional=True, since=4),
        *_STAMPS,
    ),
    "alerts": (
        _s("resident_id", indexed=True),
        _s("visit_id", optional=True),
        _s("kind"),
        _s("severity"),
        _s("status"),
        _s("resolution", optional=True),
        _n("escalation_level"),
        _t("opened_at"),
        _t("acknowledged_at", optional=True),
        _s("acknowledged_by", optional=True),
        _t("resolved_at", optional=True),
        *_STAMPS,
    ),
    "notifications": (
        _s("kind"),
        _s("title"),
        _s("body"),
        _b("urgent"),
        _s("resident_id", optional=True),
        _s("alert_id", optional=True),
        _s("visit_id", optional=True),
        _t("read_at", optional=True),
        *_STAMPS,
    ),
    # Read-only on phones (v3): who to call at an unanswered door. Only for those who may see
    # emergency contacts (`domain.access.phone_emergency_contacts`).
    "emergency_contacts": _added_in(
        3,
        _s("resident_id", indexed=True),
        _s("name"),
        _s("relation"),
        _s("phone"),
        _n("priority"),
        *_STAMPS,
    ),
    # v4: a commissioner's own activities that are not about one resident (a survey, a meeting,
    # certificates, liaison…), for the monthly activity record. Only commissioners hold and push
    # them, each their own. `activity_date` is the organisation's calendar day, "YYYY-MM-DD".
    "commissioner_activities": (
        *_added_in(
            4,
            _s("commissioner_id"),
            _s("district_id", optional=True),
            _s("kind"),
            _s("activity_date", indexed=True),
            _n("count", optional=True),  # null: one
            _s("memo"),
            *_STAMPS,
        ),
        # v5: with whom a liaison was made (domain.enums.LiaisonCounterpart); null: その他.
        _s("counterpart", optional=True, since=5),
    ),
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
LATEST_VERSION = 5
VERSIONS: tuple[int, ...] = (1, 2, 3, 4, 5)


@functools.cache  # asked on every pull's answer and every pushed record: fixed per version
def tables(version: int = LATEST_VERSION) -> tuple[str, ...]:
    """The tables a phone of `version` has: a phone never hears of a table its schema lacks."""
    return tuple(t for t, cols in TABLES.items() if min(c.since for c in cols) <= version)


def columns(table: str, version: int = LATEST_VERSION) -> tuple[Column, ...]:
    return tuple(c for c in TABLES[table] if c.since <= version)


def column_names(table: str, version: int = LATEST_VERSION) -> frozenset[str]:
    return frozenset(c.name for c in columns(table, version))


def app_schema(version: int = LATEST_VERSION) -> dict[str, Any]:
    """Exactly what `appSchema({version, tables: tables.map(tableSchema)})` takes."""
    return {
        "version": version,
        "tables": [
            {"name": table, "columns": [c.as_schema() for c in columns(table, version)]}
            for table in tables(version)
        ],
    }


def migrations(from_version: int = 1, to_version: int = LATEST_VERSION) -> dict[str, Any]:
    """`schemaMigrations({migrations})` steps from `from_version` up to `to_version`."""
    steps = []
    for version in range(from_version + 1, to_version + 1):
        step_list: list[dict[str, Any]] = []
        for table, cols in TABLES.items():
            new = [c for c in cols if c.since == version]
            if not new:
                continue
            if min(c.since for c in cols) == version:
                # Created whole in this version, with this version's columns only: a published
                # step never changes when a later version adds columns to the table.
                step_list.append(
                    {
                        "type": "create_table",
                        "schema": {"name": table, "columns": [c.as_schema() for c in new]},
                    }
                )
            else:
                step_list.append(
                    {"type": "add_columns", "table": table, "columns": [c.as_schema() for c in new]}
                )
        steps.append({"toVersion": version, "steps": step_list})
    return {"migrations": steps}


def tables_added(from_version: int, to_version: int) -> set[str]:
    return {t for t, cols in TABLES.items() if from_version < min(c.since for c in cols) <= to_version}
