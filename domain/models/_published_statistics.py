from __future__ import annotations

from datetime import date, datetime
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.base import ID_LENGTH, Base, IdMixin, OrgMixin


class PublishedStatistics(IdMixin, OrgMixin, Base):
    """A calendar month's suppressed statistics as first published (api/reports/publication.py):
    the organisation-wide table with its hidden cells, frozen. Every later suppressed file, chart
    or trend of that month is read from here, so what left the organisation never changes; one row
    per organisation and month (the unique key settles concurrent first requests)."""

    __tablename__ = "published_statistics"
    __table_args__ = (UniqueConstraint("org_id", "month"),)

    month: Mapped[date]  # the month's first day, the organisation's calendar
    k: Mapped[int]  # small_cell_k in force when the month was published
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("users.id"))
    # {"districts": [[id, name], ...], "cells": [[row, key, n], ...], "hidden": [[row, key], ...]}:
    # counts and keys only, no label in any language (rendered when a file is written)
    table: Mapped[dict[str, Any]] = mapped_column(JsonB)
