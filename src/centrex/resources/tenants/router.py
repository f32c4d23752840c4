"""``/api/v1/tenants``: the tenant tree (platform resource)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from centrex.api.deps import IfMatch, PrincipalDep, StateDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.route import CentrexRoute
from centrex.resources.tenants.schemas import (
    SuspendIn,
    TenantCreate,
    TenantFilters,
    TenantOut,
    TenantUpdate,
)
from centrex.resources.tenants.service import TenantService

router = APIRouter(prefix="/tenants", tags=["tenants"], route_class=CentrexRoute)

TenantIdPath = Annotated[str, Path(min_length=1, max_length=63, description="Tenant id or code.")]


async def tenant_service(uow: UowDep, state: StateDep) -> TenantService:
    return TenantService(uow, state.settings.platform_domain)


ServiceDep = Annotated[TenantService, Depends(tenant_service)]


@router.get(
    "",
    response_model=Page[TenantOut],
    dependencies=[Depends(require("tenants.read"))],
    summary="List the tenants visible to the caller",
)
async def list_tenants(
    response: Response,
    svc: ServiceDep,
    principal: PrincipalDep,
    page: Annotated[PageParams, Depends(page_params)],
    parent_id: Annotated[str | None, Query(max_length=63)] = None,
    kind: Literal["platform", "reseller", "tenant"] | None = None,
    status: Literal["active", "suspended"] | None = None,
    is_template: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Search in code and name.")] = None,
) -> dict[str, object]:
    filters = TenantFilters(parent_id=parent_id, kind=kind, status=status, is_template=is_template, q=q)
    result = await svc.list(principal, filters, page)
    return page_body(response, result, TenantOut.of)


@router.post(
    "",
    status_code=201,
    response_model=TenantOut,
    dependencies=[Depends(require("tenants.create"))],
    summary="Create a reseller or tenant, optionally from a template tenant",
)
async def create_tenant(body: TenantCreate, response: Response, svc: ServiceDep, principal: PrincipalDep) -> TenantOut:
    tenant = await svc.create(principal, body)
    response.headers["Location"] = f"/api/v1/tenants/{tenant.id}"
    response.headers["ETag"] = tenant.etag
    return TenantOut.of(tenant)


@router.get(
    "/{tenant_id}",
    response_model=TenantOut,
    dependencies=[Depends(require("tenants.read"))],
    summary="Get a tenant",
)
async def get_tenant(
    tenant_id: TenantIdPath, response: Response, svc: ServiceDep, principal: PrincipalDep
) -> TenantOut:
    tenant = await svc.get(principal, tenant_id)
    response.headers["ETag"] = tenant.etag
    return TenantOut.of(tenant)


@router.patch(
    "/{tenant_id}",
    response_model=TenantOut,
    dependencies=[Depends(require("tenants.update"))],
    summary="Update a tenant (limits only by the administrators above it)",
)
async def update_tenant(
    tenant_id: TenantIdPath,
    body: TenantUpdate,
    response: Response,
    svc: ServiceDep,
    principal: PrincipalDep,
    if_match: IfMatch = None,
) -> TenantOut:
    tenant = await svc.update(principal, tenant_id, body, if_match)
    response.headers["ETag"] = tenant.etag
    return TenantOut.of(tenant)


@router.post(
    "/{tenant_id}/suspend",
    response_model=TenantOut,
    dependencies=[Depends(require("tenants.suspend"))],
    summary="Suspend a tenant (and its sub-tree)",
)
async def suspend_tenant(
    tenant_id: TenantIdPath,
    response: Response,
    svc: ServiceDep,
    principal: PrincipalDep,
    body: SuspendIn | None = None,
    if_match: IfMatch = None,
) -> TenantOut:
    tenant = await svc.suspend(principal, tenant_id, body.reason if body else "", if_match)
    response.headers["ETag"] = tenant.etag
    return TenantOut.of(tenant)


@router.post(
    "/{tenant_id}/resume",
    response_model=TenantOut,
    dependencies=[Depends(require("tenants.suspend"))],
    summary="Resume a suspended tenant",
)
async def resume_tenant(
    tenant_id: TenantIdPath,
    response: Response,
    svc: ServiceDep,
    principal: PrincipalDep,
    if_match: IfMatch = None,
) -> TenantOut:
    tenant = await svc.resume(principal, tenant_id, if_match)
    response.headers["ETag"] = tenant.etag
    return TenantOut.of(tenant)


@router.delete(
    "/{tenant_id}",
    status_code=204,
    dependencies=[Depends(require("tenants.delete"))],
    summary="Delete a tenant (refused while it has numbers or sub-tenants)",
)
async def delete_tenant(
    tenant_id: TenantIdPath, svc: ServiceDep, principal: PrincipalDep, if_match: IfMatch = None
) -> Response:
    await svc.delete(principal, tenant_id, if_match)
    return Response(status_code=204)
