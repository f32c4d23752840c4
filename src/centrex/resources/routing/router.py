"""``POST /api/v1/tenants/{tenant_id}/routing/resolve`` and ``POST /api/v1/routing/resolve`` (by DID, any tenant of
the caller's sub-tree): what happens to a call, from the same cached snapshot the engine uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request

from centrex.api.deps import PrincipalDep, StateDep, TenantScopeDep, require, resolve_scope, uow_of
from centrex.api.route import CentrexRoute, reads_only
from centrex.api.state import AppState
from centrex.callflow import resolver
from centrex.callflow.snapshot import TenantSnapshot
from centrex.domain.e164 import InvalidNumber, normalize
from centrex.domain.errors import InvalidInput, NotFound
from centrex.resources.routing.schemas import PlatformResolveIn, ResolveIn, ResolveOut

router = APIRouter(tags=["routing"], route_class=CentrexRoute)
TAG = {
    "name": "routing",
    "description": "Test the dial plan: what happens when a number is dialled at a given time, and why.",
}


def _did(value: str, field: str) -> str:
    try:
        return normalize(value)
    except InvalidNumber:
        raise InvalidInput.field(field, "not a valid telephone number") from None


async def _snapshot(request: Request, state: AppState, tenant_id: str) -> TenantSnapshot | None:
    """The tenant's snapshot. The request's read session gives its connection back first: the cache loads a missing
    snapshot in a session of its own, and SQLite has a single connection (resolving the scope may have taken it)."""
    await uow_of(request).session.rollback()
    return await state.callflow.snapshot(tenant_id)


def _answer(
    snap: TenantSnapshot, res: resolver.Resolution, direction: str, dialled: str, at: datetime, explain: bool
) -> dict[str, Any]:
    body = resolver.explain(snap, res, at) if explain else res.as_dict()
    return {"tenant_id": snap.tenant_id, "direction": direction, "dialled": dialled, "at": at, **body}


@router.post(
    "/tenants/{tenant_id}/routing/resolve",
    response_model=ResolveOut,
    dependencies=[Depends(require("routing.read"))],
    summary="What happens when this number is dialled (at this time)?",
)
@reads_only
async def resolve(body: ResolveIn, request: Request, scope: TenantScopeDep, state: StateDep) -> dict[str, Any]:
    snap = await _snapshot(request, state, scope.tenant_id)
    if snap is None:
        raise NotFound.of("tenant", scope.tenant_id)
    at = body.at or datetime.now(UTC)
    direction = body.direction or ("internal" if body.from_extension else "inbound")
    if direction == "inbound":
        dialled = _did(body.dialled, "dialled")
        res = resolver.resolve_inbound(snap, dialled, body.caller_id, at)
    else:
        dialled = "".join(ch for ch in body.dialled if ch.isdigit() or ch in "+*#")
        res = resolver.resolve_internal(snap, dialled, body.from_extension, at)
    return _answer(snap, res, direction, dialled, at, body.explain)


@router.post(
    "/routing/resolve",
    response_model=ResolveOut,
    dependencies=[Depends(require("routing.read"))],
    summary="Which tenant owns this DID, and what happens to a call to it?",
)
@reads_only
async def resolve_did(
    body: PlatformResolveIn, request: Request, principal: PrincipalDep, state: StateDep
) -> dict[str, Any]:
    did = _did(body.did, "did")
    tenant_id = await state.callflow.tenant_of_did(did)
    if tenant_id is None:
        raise NotFound.of("number", did)
    try:
        scope = await resolve_scope(request, state, principal, tenant_id)
    except NotFound:  # outside the caller's sub-tree: say nothing about the owner
        raise NotFound.of("number", did) from None
    snap = await _snapshot(request, state, scope.tenant_id)
    if snap is None:
        raise NotFound.of("number", did)
    at = body.at or datetime.now(UTC)
    res = resolver.resolve_inbound(snap, did, body.caller_id, at)
    return _answer(snap, res, "inbound", did, at, body.explain)
