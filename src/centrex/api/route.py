"""``CentrexRoute``: every native API operation runs inside one request pipeline.

    authenticate → per-credential rate limit → CSRF (cookie writes) → [cached GET answer] → unit of work →
    Idempotency-Key replay check → the endpoint → store the idempotent response → commit once

The endpoint and its dependencies use the request's unit of work (``request.state.uow``); nothing commits before the
endpoint has produced its response, and an error anywhere rolls everything back (so bad input changes nothing).
``PublicRoute`` skips the authentication requirement (login, health).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from centrex.api import idempotency
from centrex.api.auth import CSRF_HEADER
from centrex.api.response_cache import cache_tables_of
from centrex.api.state import AppState, app_state
from centrex.db.tracking import ChangeContext
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import PermissionDenied, RateLimited, Unauthenticated
from centrex.domain.tenancy import Principal
from centrex.security.keys import constant_time_equal

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


async def _authorise(request: Request, state: AppState, public: bool, writes: bool) -> Principal | None:
    principal = await state.auth.authenticate(request)
    if principal is None and not public:
        raise Unauthenticated("Authentication required: X-API-Key, Bearer, Basic or a session cookie")
    if principal is not None:
        if state.key_buckets is not None:
            ok, wait = state.key_buckets.allow(principal.actor)
            if not ok:
                raise RateLimited("Too many requests for this credential", retry_after=wait)
        if writes and principal.kind == "session":
            sent = request.headers.get(CSRF_HEADER, "")
            if not principal.csrf_token or not constant_time_equal(sent, principal.csrf_token):
                raise PermissionDenied("Missing or wrong X-CSRF-Token for a cookie-authenticated write")
    request.state.principal = principal
    return principal


async def _in_unit_of_work(
    request: Request, inner: Endpoint, state: AppState, principal: Principal | None, writes: bool
) -> Response:
    ctx = ChangeContext(
        actor=principal.actor if principal else "anonymous",
        actor_name=principal.name if principal else "anonymous",
        request_id=request.scope.get("state", {}).get("request_id"),
        ip=request.client.host if request.client else None,
    )
    async with UnitOfWork(state.db, ctx, write=writes) as uow:
        request.state.uow = uow
        idem_key = idempotency.read_key(request) if request.method == "POST" else None
        digest = ""
        scope = ctx.actor
        if idem_key is not None:
            digest = await idempotency.request_digest(request)
            stored = await idempotency.replay(uow.session, scope, idem_key, digest)
            if stored is not None:
                return stored
        response = await inner(request)
        if writes and response.status_code < 400:
            if idem_key is not None:
                ttl = state.settings.idempotency_ttl_seconds
                idempotency.remember(uow.session, scope, idem_key, digest, response, ttl)
            await uow.commit()
        return response


async def _cached(
    request: Request, inner: Endpoint, state: AppState, principal: Principal, tables: frozenset[str]
) -> Response:
    """Serve a cacheable GET from the response cache; on a miss one request computes it, concurrent ones wait."""
    cache = state.response_cache
    key = f"{principal.actor} {request.url.path}?{request.url.query}"
    while True:
        hit = cache.get(key)
        if hit is not None:
            return Response(hit.body, status_code=hit.status, headers=dict(hit.headers))
        if await cache.fill_or_wait(key):
            break
    try:
        generation = cache.generation
        response = await _in_unit_of_work(request, inner, state, principal, writes=False)
        if response.status_code == 200:
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
            cache.put(key, generation, tables, 200, headers, bytes(response.body))
        return response
    finally:
        cache.filled(key)


def reads_only(fn: Any) -> Any:
    """Mark a POST endpoint that changes nothing (e.g. a query with a body): it runs without a write transaction."""
    fn.centrex_reads_only = True
    return fn


class CentrexRoute(APIRoute):
    public: ClassVar[bool] = False

    def get_route_handler(self) -> Endpoint:
        inner = super().get_route_handler()
        public = self.public
        writes = not (set(self.methods or ()) <= _SAFE) and not getattr(self.endpoint, "centrex_reads_only", False)
        tables = None if writes else cache_tables_of(self.endpoint)

        async def handler(request: Request) -> Response:
            state = app_state(request)
            principal = await _authorise(request, state, public, writes)
            if tables is not None and principal is not None and state.response_cache.enabled:
                return await _cached(request, inner, state, principal, tables)
            return await _in_unit_of_work(request, inner, state, principal, writes)

        return handler


class PublicRoute(CentrexRoute):
    public = True

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["openapi_extra"] = {"security": [], **(kwargs.get("openapi_extra") or {})}
        super().__init__(path, endpoint, **kwargs)
