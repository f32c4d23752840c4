"""OpenAPI 3.1 document: security schemes, a global security requirement, tag descriptions, permission notes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from centrex import __version__
from centrex.events.catalogue import openapi_components
from centrex.resources import registry

DESCRIPTION = """\
The native Centrex API. Every tenant-owned resource lives under `/api/v1/tenants/{tenant_id}/<plural>`
(`tenant_id` is a tenant id or its code); platform resources under `/api/v1/<plural>`.

**Authentication**: `X-API-Key: <key>`, `Authorization: Bearer <key>`, HTTP Basic (username/password) or the
`centrex_session` cookie from `POST /api/v1/auth/login` (cookie writes also need `X-CSRF-Token`).

**Conventions**: lists take `limit` (max 500) / `offset` or `cursor`, and `sort`; the total is in `X-Total-Count`.
Errors are RFC 9457 `application/problem+json` with a stable `code`. Side-effecting POSTs honour
`Idempotency-Key` (24 h). Updates honour `If-Match` with the `ETag` of a previous read. Every change is audited
and emits an event.
"""

TAGS = [
    {"name": "auth", "description": "Log in and out, who am I, change my password."},
    {
        "name": "tenants",
        "description": "The platform → reseller → tenant tree, limits, templates, suspension.",
    },
    {"name": "users", "description": "Administrators and end users of a tenant."},
    {"name": "api-keys", "description": "Per-tenant API keys: shown once, hashed, rotation with overlap."},
    {"name": "extensions", "description": "Extensions: SIP credentials, caller ID, forwarding, voicemail."},
    {"name": "devices", "description": "Provisionable phones: MAC, model, line keys."},
    {"name": "numbers", "description": "Phone numbers (DIDs) assigned to a tenant."},
    {"name": "audit", "description": "Who changed what, when, with before/after."},
    {"name": "events", "description": "The tenant's events (outbox)."},
    {"name": "system", "description": "Health and readiness."},
]


def install(app: FastAPI) -> None:
    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title="Centrex API",
            version=__version__,
            openapi_version="3.1.0",
            description=DESCRIPTION,
            routes=app.routes,
            tags=[*TAGS, *[t for t in registry.tags() if t["name"] not in {x["name"] for x in TAGS}]],
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, event_schema in openapi_components().items():  # the event catalogue (docs/events.md)
            schemas.setdefault(name, event_schema)
        components["securitySchemes"] = {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "session": {"type": "apiKey", "in": "cookie", "name": "centrex_session"},
        }
        schema["security"] = [{"apiKey": []}, {"bearer": []}, {"basic": []}, {"session": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
