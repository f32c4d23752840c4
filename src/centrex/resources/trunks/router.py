"""``/api/v1/tenants/{tenant_id}/trunks`` (+ ``GET …/trunks/available``: the trunks this tenant may use, and
``GET …/trunks/{id}/registration``: the engine's registration with the carrier)."""

from typing import Annotated

from fastapi import Depends

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.api.response_cache import cached
from centrex.engine import trunk_registration
from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.trunks.schemas import (
    AvailableTrunks,
    TrunkCreate,
    TrunkFilters,
    TrunkRegistrationOut,
    TrunkUpdate,
)
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


@router.get(
    "/{object_id}/registration",
    response_model=TrunkRegistrationOut,
    dependencies=[Depends(require("trunks.read"))],
    summary="The engine's registration with the carrier for this trunk (live state)",
)
async def trunk_registration_state(
    object_id: str, scope: TenantScopeDep, svc: Svc, state: StateDep
) -> TrunkRegistrationOut:
    trunk = await svc.get(scope, object_id)
    manager = trunk_registration.for_database(state.db)
    live = manager.state(trunk.id) if manager is not None else None
    if live is not None:
        return TrunkRegistrationOut(
            trunk_id=trunk.id,
            state=live.state,
            status_code=live.status_code,
            reason=live.reason,
            expires_at=live.expires_at,
            last_error=live.last_error,
            next_attempt_at=live.next_attempt_at,
            updated_at=live.updated_at,
        )
    if manager is None:
        why = "the SIP engine is not running in this process"
    elif trunk.kind != "registration" or not trunk.register or not trunk.enabled:
        why = "the trunk does not register (kind, register or enabled)"
    else:
        why = "not picked up by the engine yet"
    return TrunkRegistrationOut(trunk_id=trunk.id, state="unregistered", reason=why)
