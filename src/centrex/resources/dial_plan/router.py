"""``GET /api/v1/tenants/{tenant_id}/dial-plan/numbers`` and ``…/dial-plan/free``: the tenant's one number space
(extensions, ring groups, queues, IVRs, conferences). Reading it needs ``extensions.read``."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from centrex.api.deps import SessionDep, TenantScopeDep, require
from centrex.api.response_cache import cached
from centrex.api.route import CentrexRoute
from centrex.resources.dial_plan import service
from centrex.resources.dial_plan.schemas import FreeNumbers, UsedNumbers

TAG = {
    "name": "dial-plan",
    "description": "The tenant's number space: which numbers dial what, and which extension numbers are free.",
}
DIALABLE_TABLES = ("extensions", "ring_groups", "queues", "ivrs", "conferences")

router = APIRouter(prefix="/tenants/{tenant_id}/dial-plan", tags=["dial-plan"], route_class=CentrexRoute)


@router.get(
    "/numbers",
    response_model=UsedNumbers,
    dependencies=[Depends(require("extensions.read"))],
    summary="Every used number and what it dials",
)
@cached(*DIALABLE_TABLES)
async def used_numbers(scope: TenantScopeDep, session: SessionDep) -> UsedNumbers:
    return await service.numbers(session, scope)


@router.get(
    "/free",
    response_model=FreeNumbers,
    dependencies=[Depends(require("extensions.read"))],
    summary="Free extension numbers",
    description="Numbers of the tenant's extension length that nothing uses, in order, skipping emergency numbers.",
)
@cached(*DIALABLE_TABLES)
async def free_numbers(
    scope: TenantScopeDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="How many (1–500).")] = 10,
    start: Annotated[int | None, Query(alias="from", ge=0, le=99_999_999, description="Start at this number.")] = None,
) -> FreeNumbers:
    return await service.free(session, scope, limit, start)
