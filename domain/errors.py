"""Domain errors. The API turns each into one RFC 9457 problem response (api/errors.py); sync and
jobs use the same classes, so a rule broken anywhere reads the same to the person who broke it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    code: str  # an i18n code, e.g. "field.required"
    params: dict[str, Any] = field(default_factory=dict)


class DomainError(Exception):
    status = 400
    code = "error.bad_request"

    def __init__(
        self,
        code: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.errors = errors or []
        self.extra = extra or {}
        self.params = params
        super().__init__(self.code)


class InvalidInput(DomainError):
    status = 400
    code = "error.validation"

    @classmethod
    def field(cls, name: str, code: str, **params: Any) -> InvalidInput:
        return cls(errors=[FieldError(name, code, params)])


class Unauthorized(DomainError):
    status = 401
    code = "error.unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "error.forbidden"


class NotFound(DomainError):
    status = 404
    code = "error.not_found"


class Conflict(DomainError):
    status = 409
    code = "error.conflict"


class RateLimited(DomainError):
    status = 429
    code = "error.rate_limited"
