"""Request dependencies: the unit of work, the principal, permission checks, tenant scope, If-Match.

``require("extensions.create")`` is the one permission check; ``TenantScopeDep`` resolves ``{tenant_id}`` (an id or a
tenant code) to a ``TenantScope`` the principal may see, or answers 404 — other tenants' objects never produce 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Path
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from centrex.api.state import AppState, app_state
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import NotFound, PermissionDenied, TenantSuspended, Unauthenticated
from centrex.domain.tenancy import Principal, TenantScope, TenantStatus

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def uow_of(request: Request) -> UnitOfWork:
    uow = getattr(request.state, "uow", None)
    if not isinstance(uow, UnitOfWork):
        raise RuntimeError("route is not a CentrexRoute")
    return uow


# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, which would
# add a thread hop per dependency to every request.


async def get_uow(request: Request) -> UnitOfWork:
    return uow_of(request)


async def get_session(uow: Annotated[UnitOfWork, Depends(get_uow)]) -> AsyncSession:
    return uow.session


async def get_state(request: Request) -> AppState:
    return app_state(request)


async def get_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthenticated("Authentication required")
    return principal


UowDep = Annotated[UnitOfWork, Depends(get_uow)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
StateDep = Annotated[AppState, Depends(get_state)]


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must hold ``permission`` (e.g. ``extensions.create``).

    On tenant-scoped paths the tenant is resolved first, so that another tenant's objects are a 404 whatever the
    caller's permissions (never a 403 that would confirm they exist).
    """

    async def check(request: Request, principal: PrincipalDep, state: StateDep) -> Principal:
        tenant_key = request.path_params.get("tenant_id")
        if isinstance(tenant_key, str):
            await resolve_scope(request, state, principal, tenant_key)
        if not principal.can(permission):
            ro = " (read-only credential)" if principal.read_only else ""
            raise PermissionDenied(f"Permission {permission!r} is required{ro}", permission=permission)
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return check


async def resolve_scope(request: Request, state: AppState, principal: Principal, tenant_key: str) -> TenantScope:
    """Resolve and authorise ``tenant_key`` once per request (memoised on the request)."""
    cached = getattr(request.state, "scope", None)
    if isinstance(cached, TenantScope):
        return cached
    uow = uow_of(request)
    info = await state.tenants.get(uow.session, tenant_key)
    if info is None or not principal.sees_path(info.path):
        raise NotFound.of("tenant", tenant_key)
    suspended_at = await state.tenants.suspended_root(uow.session, info)
    status = TenantStatus.SUSPENDED if suspended_at else TenantStatus.ACTIVE
    if suspended_at and request.method not in _SAFE and principal.tenant_path.startswith(suspended_at):
        # Users inside the suspended sub-tree are read-only; administrators above it can still manage it.
        raise TenantSuspended("This tenant is suspended; only reads are allowed")
    scope = TenantScope(info.id, info.path, info.kind, status, principal)
    request.state.scope = scope
    return scope


async def get_tenant_scope(
    request: Request,
    tenant_id: Annotated[str, Path(min_length=1, max_length=63, description="Tenant id or tenant code.")],
    principal: PrincipalDep,
    state: StateDep,
) -> TenantScope:
    return await resolve_scope(request, state, principal, tenant_id)


TenantScopeDep = Annotated[TenantScope, Depends(get_tenant_scope)]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=100,
        description="ETag from a previous read; the change is refused with 412 if the object changed since.",
    ),
]
