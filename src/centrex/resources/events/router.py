"""The event API: the tenant's events in order (from the outbox), the live stream, and the event catalogue.

- ``GET /tenants/{tenant_id}/events``: a page of past events (the outbox), oldest first.
- ``GET /tenants/{tenant_id}/events/stream``: Server-Sent Events, live, resumable (``Last-Event-ID`` / ``after``).
- ``WS /events/ws``: the same over a WebSocket, across tenants for administrators above them (``centrex.events``).
- ``GET /events/catalogue``: every event type with the JSON Schema of its data (any authenticated caller).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import ColumnElement, select

from centrex.api.deps import SessionDep, TenantScopeDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params, paginate
from centrex.api.route import CentrexRoute
from centrex.api.state import AppState
from centrex.db.models.outbox import OutboxEvent
from centrex.domain.errors import DomainError, NotFound, PermissionDenied, Unauthenticated
from centrex.domain.tenancy import Principal
from centrex.events import catalogue as event_catalogue
from centrex.events.bus import BUS_STOPPED, Event, SubscriptionClosed
from centrex.events.runtime import runtime_of
from centrex.events.stream import Feed, StreamFilter, TenantSelection, follow, resume_seq

router = APIRouter(tags=["events"], route_class=CentrexRoute)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    seq: int = Field(description="Position in the event log (strictly increasing).")
    type: str
    tenant_id: str | None
    resource_type: str
    resource_id: str
    data: dict[str, Any]
    occurred_at: datetime
    request_id: str | None


class EventFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    type: Annotated[str, StringConstraints(max_length=80)] | None = Field(
        default=None, description="Exact type, or a prefix ending in `.` (e.g. `extension.`)."
    )
    resource_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    after_seq: int | None = Field(default=None, ge=0, description="Only events after this position.")


@router.get(
    "/tenants/{tenant_id}/events",
    response_model=Page[EventOut],
    dependencies=[Depends(require("events.read"))],
    summary="A tenant's events, oldest first",
)
async def list_events(
    response: Response,
    scope: TenantScopeDep,
    session: SessionDep,
    filters: Annotated[EventFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    where: list[ColumnElement[bool]] = [OutboxEvent.tenant_id == scope.tenant_id]
    if filters.type:
        where.append(
            OutboxEvent.type.startswith(filters.type, autoescape=True)
            if filters.type.endswith(".")
            else OutboxEvent.type == filters.type
        )
    if filters.resource_id:
        where.append(OutboxEvent.resource_id == filters.resource_id)
    if filters.after_seq is not None:
        where.append(OutboxEvent.seq > filters.after_seq)
    result = await paginate(
        session, select(OutboxEvent).where(*where), OutboxEvent.seq, page, {"id": OutboxEvent.seq}, "id"
    )
    return page_body(response, result, EventOut.model_validate)


# ---------------------------------------------------------------------------------------------- catalogue
class EventTypeOut(BaseModel):
    type: str
    group: str = Field(description="The part before the first dot (`call`, `extension`, …).")
    version: int
    status: str = Field(description="`stable`, or `reserved` (named, not emitted yet).")
    resource_type: str
    description: str
    data_schema: str = Field(description="Name of the data schema in `schemas` (and in the OpenAPI components).")


class CatalogueOut(BaseModel):
    version: str = Field(description="Catalogue version (a date).")
    envelope: str = Field(description="Name of the envelope schema in `schemas`.")
    types: list[EventTypeOut]
    schemas: dict[str, dict[str, Any]] = Field(description="JSON Schemas by name: the envelope and every data schema.")


@router.get(
    "/events/catalogue",
    response_model=CatalogueOut,
    summary="The event catalogue: every event type and the JSON Schema of its data",
)
async def get_catalogue() -> Any:
    return event_catalogue.document()


# ---------------------------------------------------------------------------------------------- stream (SSE)
def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or () for part in v.split(",") if part.strip()]


def _sse(event: Event) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        event.id.encode(),
        event.type.encode(),
        orjson.dumps(event.envelope()),
    )


def _closed_code(reason: str) -> str:
    return "shutting_down" if reason == BUS_STOPPED else "slow_consumer"


async def _sse_body(events: Feed) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n: connected\n\n"
    try:
        async for event in events:
            yield b": keep-alive\n\n" if event is None else _sse(event)
    except SubscriptionClosed as exc:
        body = orjson.dumps({"code": _closed_code(exc.reason), "detail": exc.reason})
        yield b"event: error\ndata: %s\n\n" % body
    finally:
        await events.aclose()


@router.get(
    "/tenants/{tenant_id}/events/stream",
    dependencies=[Depends(require("events.read"))],
    summary="Live events of a tenant (Server-Sent Events), resumable",
    response_class=StreamingResponse,
    # An endless response: kept out of the OpenAPI document so that schema fuzzers do not hang on it
    # (documented in docs/events.md).
    include_in_schema=False,
    responses={
        200: {
            "description": "`text/event-stream`: one SSE message per event (`id:` event id, `event:` type, "
            "`data:` the JSON envelope, see the `EventEnvelope` schema); a `: keep-alive` comment when idle.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        410: {"description": "The resume point is older than the retention window."},
    },
)
async def stream_events(
    request: Request,
    scope: TenantScopeDep,
    session: SessionDep,
    types: Annotated[
        list[str] | None,
        Query(description="Event type patterns, comma-separated or repeated (`call.*`, `extension.created`)."),
    ] = None,
    resource_id: Annotated[
        list[str] | None, Query(description="Only events about these objects (comma-separated or repeated).")
    ] = None,
    after: Annotated[
        str | None, Query(max_length=40, description="Resume after this event id (as `Last-Event-ID`).")
    ] = None,
    descendants: Annotated[
        bool, Query(description="Also the tenants below this one (administrators above them only).")
    ] = False,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)] = None,
) -> StreamingResponse:
    filt = StreamFilter.for_principal(
        scope.principal,
        [TenantSelection(scope.tenant_id, scope.tenant_path, descendants)],
        _split(types),
        _split(resource_id),
    )
    resume = last_event_id or after
    after_seq = await resume_seq(session, resume) if resume else None
    runtime = runtime_of(request.app.state)
    state = cast(AppState, request.app.state.centrex)
    # Subscribed before the answer goes out: whatever is committed after the client has its 200 is delivered.
    events = follow(state.db, runtime.bus, filt, after_seq, maxsize=runtime.queue_size, keepalive=runtime.keepalive)
    return StreamingResponse(
        _sse_body(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------------------------------------- stream (WebSocket)
WS_SUBSCRIBE_TIMEOUT = 30.0
_WS_KEYS = ("tenant", "tenants", "types", "type", "resource_id", "resource_ids", "after", "descendants", "subscribe")


class WsSubscribe(BaseModel):
    """The subscription a WebSocket client sends first (or gives in the query string)."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(default="subscribe", pattern="^subscribe$")
    tenants: list[Annotated[str, StringConstraints(min_length=1, max_length=63)]] = Field(
        default_factory=list, max_length=100, description="Tenant ids or codes; none: every tenant the key sees."
    )
    types: list[Annotated[str, StringConstraints(max_length=80)]] = Field(default_factory=list, max_length=50)
    resource_ids: list[Annotated[str, StringConstraints(max_length=40)]] = Field(default_factory=list, max_length=500)
    after: Annotated[str, StringConstraints(max_length=40)] | None = None
    descendants: bool = False


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason.encode()[:120].decode(errors="ignore")


_ERROR_CLOSE = {401: 4401, 403: 4403, 404: 4404, 410: 4410, 422: 4422, 429: 4429}


async def _ws_principal(ws: WebSocket, state: AppState) -> Principal:
    principal = await state.auth.authenticate(cast(Request, ws))
    if principal is None:
        key = ws.query_params.get("api_key")
        if key:
            principal = await state.auth.by_key(key.strip())
    if principal is None:
        raise Unauthenticated("Authentication required: X-API-Key, Bearer, Basic, ?api_key= or a session cookie")
    if principal.kind == "session":
        # Browsers send cookies on cross-site WebSocket handshakes: only the console's own origin may use them.
        origin = urlsplit(ws.headers.get("origin", "")).netloc
        if not origin or origin != ws.headers.get("host", ""):
            raise PermissionDenied("A cookie-authenticated WebSocket must come from the console's own origin")
    if state.key_buckets is not None:
        ok, _wait = state.key_buckets.allow(principal.actor)
        if not ok:
            raise _Close(4429, "Too many requests for this credential")
    if not principal.can("events.read"):
        raise PermissionDenied("Permission 'events.read' is required")
    return principal


def _ws_query(ws: WebSocket) -> WsSubscribe | None:
    params = ws.query_params
    if not any(k in params for k in _WS_KEYS):
        return None
    flag = (params.get("descendants") or "").lower() in ("1", "true", "yes")
    return WsSubscribe(
        tenants=_split(params.getlist("tenant") + params.getlist("tenants")),
        types=_split(params.getlist("types") + params.getlist("type")),
        resource_ids=_split(params.getlist("resource_id") + params.getlist("resource_ids")),
        after=params.get("after") or None,
        descendants=flag,
    )


async def _ws_subscription(ws: WebSocket) -> WsSubscribe:
    try:
        from_query = _ws_query(ws)
    except ValueError as exc:
        raise _Close(4422, f"Invalid subscription: {str(exc).splitlines()[0]}") from None
    if from_query is not None:
        return from_query
    try:
        raw = await asyncio.wait_for(ws.receive_text(), WS_SUBSCRIBE_TIMEOUT)
    except TimeoutError:
        raise _Close(4408, "No subscribe message within 30 s") from None
    try:
        return WsSubscribe.model_validate_json(raw)
    except ValueError as exc:
        raise _Close(4422, f"Invalid subscribe message: {str(exc).splitlines()[0]}") from None


async def _ws_filter(state: AppState, principal: Principal, sub: WsSubscribe) -> tuple[StreamFilter, int | None]:
    selected: list[TenantSelection] = []
    async with state.db.session() as session:
        for key in dict.fromkeys(sub.tenants):
            info = await state.tenants.get(session, key)
            if info is None or not principal.sees_path(info.path):
                raise NotFound.of("tenant", key)
            selected.append(TenantSelection(info.id, info.path, sub.descendants))
        after_seq = await resume_seq(session, sub.after) if sub.after else None
    return StreamFilter.for_principal(principal, selected, sub.types, sub.resource_ids), after_seq


async def _ws_reader(ws: WebSocket) -> None:
    """Answer pings; return when the client goes away."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text and '"ping"' in text:
            await ws.send_text('{"op":"pong"}')


@router.websocket("/events/ws")
async def events_ws(ws: WebSocket) -> None:
    """Live events over a WebSocket (docs/events.md): authenticate, subscribe, then one message per event."""
    state = cast(AppState, ws.app.state.centrex)
    runtime = runtime_of(ws.app.state)
    await ws.accept()
    reader: asyncio.Task[None] | None = None
    try:
        principal = await _ws_principal(ws, state)
        sub = await _ws_subscription(ws)
        filt, after_seq = await _ws_filter(state, principal, sub)
        events = follow(state.db, runtime.bus, filt, after_seq, maxsize=runtime.queue_size, keepalive=runtime.keepalive)
        try:
            await ws.send_text(orjson.dumps({"op": "subscribed", **filt.describe(), "after": sub.after}).decode())
            reader = asyncio.create_task(_ws_reader(ws))
            while True:
                nxt = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({nxt, reader}, return_when=asyncio.FIRST_COMPLETED)
                if nxt not in done:  # the client left
                    nxt.cancel()
                    with contextlib.suppress(BaseException):
                        await nxt
                    return
                event = nxt.result()
                if event is None:
                    await ws.send_text('{"op":"keepalive"}')
                else:
                    await ws.send_text(orjson.dumps({"op": "event", "event": event.envelope()}).decode())
        finally:
            await events.aclose()
    except SubscriptionClosed as exc:
        code = 1012 if exc.reason == BUS_STOPPED else 4429
        await _close(ws, code, f"{_closed_code(exc.reason)}: {exc.reason}")
    except _Close as exc:
        await _close(ws, exc.code, exc.reason)
    except DomainError as exc:
        await _close(ws, _ERROR_CLOSE.get(exc.status, 4400), f"{exc.code}: {exc.detail}")
    except (WebSocketDisconnect, StopAsyncIteration):
        pass
    finally:
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code, reason.encode()[:120].decode(errors="ignore"))
