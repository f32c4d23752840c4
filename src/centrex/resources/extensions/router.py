"""``/api/v1/tenants/{tenant_id}/extensions`` (+ SIP credentials read and rotation)."""

from typing import Annotated

from fastapi import Depends

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.extensions.schemas import (
    ExtensionCreate,
    ExtensionFilters,
    ExtensionUpdate,
    SipCredentials,
)
from centrex.resources.extensions.service import ExtensionService

router = tenant_router(
    ResourceSpec(
        plural="extensions",
        service=ExtensionService,
        create=ExtensionCreate,
        update=ExtensionUpdate,
        filters=ExtensionFilters,
    )
)


async def _svc(uow: UowDep, state: StateDep) -> ExtensionService:
    return ExtensionService(uow, state)


Svc = Annotated[ExtensionService, Depends(_svc)]


@router.get(
    "/{object_id}/sip-credentials",
    response_model=SipCredentials,
    dependencies=[Depends(require("extensions.secrets"))],
    summary="Read an extension's SIP credentials",
)
async def get_sip_credentials(object_id: ObjectId, scope: TenantScopeDep, svc: Svc) -> SipCredentials:
    return await svc.credentials(scope, object_id)


@router.post(
    "/{object_id}/sip-credentials/rotate",
    response_model=SipCredentials,
    dependencies=[Depends(require("extensions.secrets")), Depends(require("extensions.update"))],
    summary="Generate a new SIP password",
)
async def rotate_sip_credentials(object_id: ObjectId, scope: TenantScopeDep, svc: Svc) -> SipCredentials:
    return await svc.rotate_credentials(scope, object_id)
