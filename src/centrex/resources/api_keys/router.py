"""``/api/v1/tenants/{tenant_id}/api-keys`` (+ rotate, revoke)."""

from typing import Annotated

from fastapi import Depends

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.resources.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyFilters,
    ApiKeyIssued,
    ApiKeyOut,
    ApiKeyRotate,
    ApiKeyUpdate,
)
from centrex.resources.api_keys.service import ApiKeyService
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router

router = tenant_router(
    ResourceSpec(
        plural="api-keys",
        singular="API key",
        service=ApiKeyService,
        create=ApiKeyCreate,
        update=ApiKeyUpdate,
        filters=ApiKeyFilters,
        cache=False,  # last_used_at changes without a commit
    )
)


async def _svc(uow: UowDep, state: StateDep) -> ApiKeyService:
    return ApiKeyService(uow, state)


Svc = Annotated[ApiKeyService, Depends(_svc)]


@router.post(
    "/{object_id}/rotate",
    status_code=201,
    response_model=ApiKeyIssued,
    dependencies=[Depends(require("api_keys.rotate"))],
    summary="Issue a replacement key; the old one keeps working for the overlap window",
)
async def rotate_api_key(
    object_id: ObjectId, scope: TenantScopeDep, svc: Svc, body: ApiKeyRotate | None = None
) -> ApiKeyIssued:
    key = await svc.rotate(scope, object_id, body.overlap_seconds if body else None)
    issued = svc.present_created(key)
    assert isinstance(issued, ApiKeyIssued)
    return issued


@router.post(
    "/{object_id}/revoke",
    response_model=ApiKeyOut,
    dependencies=[Depends(require("api_keys.revoke"))],
    summary="Revoke a key at once",
)
async def revoke_api_key(object_id: ObjectId, scope: TenantScopeDep, svc: Svc) -> ApiKeyOut:
    out = svc.present(await svc.revoke(scope, object_id))
    assert isinstance(out, ApiKeyOut)
    return out
