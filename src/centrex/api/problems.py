"""RFC 9457 problem details: one body shape for every error, with a stable ``code`` and the ``request_id``.

{"type": "https://centrex.dev/problems/duplicate", "title": "Duplicate value", "status": 409,
 "code": "duplicate", "detail": "extension 101 already exists", "request_id": "req_…",
 "errors": [{"field": "number", "message": "…", "code": "duplicate"}]}
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from centrex.domain.errors import DomainError, FieldError, InUse, InvalidInput, RateLimited

PROBLEM_BASE = "https://centrex.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("centrex.api")


class ProblemFieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending input field, e.g. `forwarding.0.number`.")
    message: str
    code: str


class ProblemReference(BaseModel):
    resource: str
    id: str
    field: str
    label: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    code: str = Field(description="Stable, machine-readable error code.")
    detail: str
    request_id: str | None = None
    instance: str | None = None
    errors: list[ProblemFieldError] | None = None
    references: list[ProblemReference] | None = None


def request_id_of(request: Request) -> str | None:
    rid = request.scope.get("state", {}).get("request_id")
    return rid if isinstance(rid, str) else None


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": request_id_of(request) if request is not None else None,
        "instance": request.url.path if request is not None else None,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message, "code": e.code} for e in errors]
    if extra:
        body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts[0]
        rest = parts[1:]
        return ".".join(rest) if where == "body" and rest else (".".join(rest) or where)
    return ".".join(parts)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, InUse):
        extra["references"] = [
            {"resource": r.resource, "id": r.id, "field": r.field, "label": r.label} for r in exc.references
        ]
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="centrex", charset="UTF-8"'
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    for k, v in exc.extra.items():
        if k not in ("type", "title", "status", "code", "detail") and isinstance(v, (str, int, float, bool, list)):
            extra.setdefault(k, v)
    return problem_response(
        request, exc.status, exc.code, exc.title, exc.detail, errors=errors, extra=extra, headers=headers
    )


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: list[FieldError] = []
    malformed = False
    for err in exc.errors():
        etype = str(err.get("type", "invalid"))
        if etype in ("json_invalid", "json_type"):
            malformed = True
        msg = str(err.get("msg", "invalid value"))
        if etype == "extra_forbidden":
            msg = "unknown field"
        errors.append(FieldError(_loc(tuple(err.get("loc", ()))), msg, etype))
    if malformed:
        return problem_response(
            request,
            400,
            "malformed_json",
            "Malformed JSON",
            "The request body is not valid JSON",
            errors=errors,
        )
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return problem_response(
        request, 422, "validation_error", "Invalid input", summary or "invalid input", errors=errors
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        406: "not_acceptable",
        413: "payload_too_large",
        415: "unsupported_media_type",
    }.get(exc.status_code, "http_error")
    detail = str(exc.detail) if exc.detail else code.replace("_", " ")
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(
        request, exc.status_code, code, code.replace("_", " ").capitalize(), detail, headers=headers
    )


async def handle_integrity_error(request: Request, exc: Exception) -> Response:
    log.info("integrity error: %s", exc)
    return problem_response(
        request,
        409,
        "conflict",
        "Conflict",
        "The change conflicts with existing data (a unique value is taken or a reference is invalid)",
    )


async def handle_stale(request: Request, exc: Exception) -> Response:
    return problem_response(
        request,
        412,
        "precondition_failed",
        "Precondition failed",
        "The object was changed by someone else; fetch it again and retry",
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        request,
        500,
        "internal_error",
        "Internal error",
        "An unexpected error occurred; quote the request_id when reporting it",
    )


HANDLERS: dict[type[Exception], Any] = {
    DomainError: handle_domain_error,
    RequestValidationError: handle_validation_error,
    StarletteHTTPException: handle_http_exception,
    IntegrityError: handle_integrity_error,
    StaleDataError: handle_stale,
    Exception: handle_unexpected,
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": desc, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for status, desc in {
        400: "Malformed request (e.g. invalid JSON).",
        401: "Missing or invalid credentials.",
        403: "Not allowed (permission, read-only key, CSRF, suspended tenant).",
        404: "Not found, or not visible to the caller (other tenants' objects are always 404).",
        409: "Conflict: duplicate, object in use, or limit exceeded.",
        412: "If-Match does not match the object's current ETag.",
        413: "Request body too large.",
        422: "Invalid input: the `errors` list names each field.",
        429: "Rate limited: see `Retry-After`.",
    }.items()
}
