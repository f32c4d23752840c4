"""``/api/v1/tenants/{tenant_id}/trunks`` (+ ``GET …/trunks/available``: the trunks this tenant may use)."""

from typing import Annotated

from fastapi import Depends

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.api.response_cache import cached
from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.trunks.schemas import AvailableTrunks, TrunkCreate, TrunkFilters, TrunkUpdate
from centrex.resources.trunks.service import TrunkService

TAG = {
    "name": "trunks",
    "description": "SIP trunks to carriers: registration or IP-authenticated; platform and reseller trunks may be "
    "shared with every tenant below.",
}

router = tenant_router(
    ResourceSpec(
        plural="trunks",
        service=TrunkService,
        create=TrunkCreate,
        update=TrunkUpdate,
        filters=TrunkFilters,
    )
)


async def _svc(uow: UowDep, state: StateDep) -> TrunkService:
    return TrunkService(uow, state)


Svc = Annotated[TrunkService, Depends(_svc)]


@router.get(
    "/available",
    response_model=AvailableTrunks,
    dependencies=[Depends(require("trunks.read"))],
    summary="Trunks this tenant's outbound routes may use (own and shared from above)",
)
@cached("trunks")
async def available_trunks(scope: TenantScopeDep, svc: Svc) -> AvailableTrunks:
    return await svc.available(scope)


# ``/available`` must be matched before ``/{object_id}``.
router.routes.insert(0, router.routes.pop())
