"""Reading the console's filter forms. A plain GET form sends every field, empty ones as "": those
mean "no filter"; anything else must be what the API would accept, or the person is told which
field is wrong (400 page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from api.organisation.schemas import is_id
from domain.enums import RiskLevel
from domain.errors import InvalidInput

PAGE_SIZE = 50


def optional_id(value: str | None, field: str) -> str | None:
    if not value:
        return None
    if not is_id(value):
        raise InvalidInput.field(field, "field.invalid")
    return value


def optional_risk(value: str | None) -> RiskLevel | None:
    if not value:
        return None
    try:
        return RiskLevel(value)
    except ValueError:
        raise InvalidInput.field(
            "risk_level", "field.not_allowed", choices=", ".join(r.value for r in RiskLevel)
        ) from None


def link(path: str, query: dict[str, Any]) -> str:
    """`path` with the filters that are set (empty ones left out)."""
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


@dataclass(frozen=True)
class Pager:
    """Page links that keep the filters the person chose."""

    page: int
    total: int
    path: str
    query: dict[str, Any]
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def href(self, page: int) -> str:
        return link(self.path, {**self.query, "page": page})

    @property
    def previous(self) -> str | None:
        return self.href(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self.href(self.page + 1) if self.page < self.pages else None
