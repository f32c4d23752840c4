"""``/api/v1/tenants/{tenant_id}/ivrs`` (+ the menu's destinations with their targets' names)."""

from typing import Annotated

from fastapi import Depends

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.ivrs.schemas import IvrCreate, IvrFilters, IvrUpdate
from centrex.resources.ivrs.service import IvrService
from centrex.resources.ivrs.targets import DestinationList

TAG = {
    "name": "ivrs",
    "description": "IVRs / auto attendants: greeting, digit options, dial-by-name directory, timeout and retries.",
}

router = tenant_router(
    ResourceSpec(
        plural="ivrs",
        service=IvrService,
        create=IvrCreate,
        update=IvrUpdate,
        filters=IvrFilters,
        singular="IVR",
    )
)


async def _svc(uow: UowDep, state: StateDep) -> IvrService:
    return IvrService(uow, state)


Svc = Annotated[IvrService, Depends(_svc)]


@router.get(
    "/{object_id}/destinations",
    response_model=DestinationList,
    dependencies=[Depends(require("ivrs.read"))],
    summary="List an IVR's destinations with the names and numbers of their targets",
)
async def get_ivr_destinations(object_id: ObjectId, scope: TenantScopeDep, svc: Svc) -> DestinationList:
    return await svc.destinations(scope, object_id)
