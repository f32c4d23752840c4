"""The one typed error tree of Centrex.

Services raise these; the HTTP layer maps each to an RFC 9457 problem with a stable ``code``:

    DomainError                         500 internal_error (base; never raised directly)
    ├── InvalidInput          422 validation_error   bad field values; ``errors`` lists them per field
    │   └── InvalidReference  422 invalid_reference  a field names an object that is not in this tenant
    ├── Unauthenticated       401 unauthenticated    no or bad credentials
    ├── PermissionDenied      403 forbidden          authenticated but not allowed
    │   └── TenantSuspended   403 tenant_suspended   the tenant is suspended: read-only for its own users
    ├── NotFound              404 not_found          absent, or belongs to another tenant (never 403)
    ├── Conflict              409 conflict           state forbids the change (duplicates, references, in use)
    │   ├── Duplicate         409 duplicate          a unique value is taken
    │   ├── InUse             409 in_use             referenced by other objects; ``references`` lists them
    │   └── LimitExceeded     409 limit_exceeded     a tenant limit (quota) would be exceeded
    ├── PreconditionFailed    412 precondition_failed  If-Match does not match the current ETag
    ├── PaymentRequired       402 payment_required   balance or credit does not cover a billable action
    ├── PayloadTooLarge       413 payload_too_large
    └── RateLimited           429 rate_limited       ``retry_after`` seconds
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``field`` is a dotted path such as ``forwarding.0.number``."""

    field: str
    message: str
    code: str = "invalid"


class DomainError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    code = "validation_error"
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.errors = errors or []

    @classmethod
    def field(cls, name: str, message: str, code: str = "invalid") -> InvalidInput:
        return cls(f"{name}: {message}", [FieldError(name, message, code)])


class InvalidReference(InvalidInput):
    code = "invalid_reference"
    title = "Invalid reference"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class TenantSuspended(PermissionDenied):
    code = "tenant_suspended"
    title = "Tenant suspended"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"

    @classmethod
    def of(cls, kind: str, ident: str) -> NotFound:
        return cls(f"{kind} {ident!r} does not exist", resource=kind, id=ident)


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Duplicate(Conflict):
    code = "duplicate"
    title = "Duplicate value"


@dataclass(frozen=True)
class Reference:
    """An object that points at another one (used in ``InUse``)."""

    resource: str
    id: str
    field: str
    label: str | None = None


class InUse(Conflict):
    code = "in_use"
    title = "Object in use"

    def __init__(self, detail: str, references: list[Reference], **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.references = references


class LimitExceeded(Conflict):
    code = "limit_exceeded"
    title = "Limit exceeded"


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    title = "Precondition failed"


class PaymentRequired(DomainError):
    status = 402
    code = "payment_required"
    title = "Payment required"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: float, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


@dataclass
class ErrorCollector:
    """Collects field errors so a service can report them all at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, name: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(name, message, code))

    def raise_if_any(self, detail: str = "The request has invalid fields") -> None:
        if self.errors:
            raise InvalidInput(detail, list(self.errors))
