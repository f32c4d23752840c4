"""``/healthz`` (process alive), ``/readyz`` (database reachable and migrated), ``/docs`` (Scalar)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel
from scalar_fastapi import get_scalar_api_reference
from sqlalchemy import text

from centrex.api.state import app_state
from centrex.db.migrate import current_revision, head_revision

router = APIRouter(tags=["system"])
VENDOR_JS = Path(__file__).resolve().parent.parent / "web" / "static" / "vendor" / "scalar-standalone.js"


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    migration: str | None
    expected_migration: str


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses={503: {"model": Ready}}, summary="Readiness")
async def readyz(request: Request) -> JSONResponse:
    state = app_state(request)
    head = head_revision()
    try:
        async with state.db.session() as session:
            await session.execute(text("SELECT 1"))
        current = await asyncio.to_thread(current_revision, state.settings.resolved_database_url)
        db_status = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        current, db_status = None, f"error: {type(exc).__name__}"
    ready = db_status == "ok" and current == head
    body = Ready(
        status="ready" if ready else "not_ready",
        database=db_status,
        migration=current,
        expected_migration=head,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    js = (
        "/static/vendor/scalar-standalone.js"
        if VENDOR_JS.exists()
        else "https://cdn.jsdelivr.net/npm/@scalar/api-reference"
    )
    return get_scalar_api_reference(
        openapi_url="/openapi.json",
        title="Centrex API",
        scalar_js_url=js,
        telemetry=False,
        scalar_favicon_url="",
    )
