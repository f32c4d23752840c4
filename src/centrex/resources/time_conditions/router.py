"""``/api/v1/tenants/{tenant_id}/time-conditions`` (+ state at an instant, office-mode override, destinations)."""

from typing import Annotated

from fastapi import Depends, Query, Response

from centrex.api.deps import IfMatch, StateDep, TenantScopeDep, UowDep, require
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.ivrs.targets import DestinationList
from centrex.resources.time_conditions.schemas import (
    Instant,
    ModeChange,
    TimeConditionCreate,
    TimeConditionFilters,
    TimeConditionOut,
    TimeConditionState,
    TimeConditionUpdate,
)
from centrex.resources.time_conditions.service import TimeConditionService

TAG = {
    "name": "time-conditions",
    "description": "Time conditions (schedules): weekly hours, holidays, office-mode overrides, flows; state now.",
}

router = tenant_router(
    ResourceSpec(
        plural="time-conditions",
        service=TimeConditionService,
        create=TimeConditionCreate,
        update=TimeConditionUpdate,
        filters=TimeConditionFilters,
        singular="time condition",
    )
)


async def _svc(uow: UowDep, state: StateDep) -> TimeConditionService:
    return TimeConditionService(uow, state)


Svc = Annotated[TimeConditionService, Depends(_svc)]
At = Annotated[
    Instant | None,
    Query(description="Instant to evaluate, ISO-8601 with a zone (default: now).", examples=["2026-11-23T15:00:00Z"]),
]


@router.get(
    "/{object_id}/state",
    response_model=TimeConditionState,
    dependencies=[Depends(require("time_conditions.read"))],
    summary="The state of a time condition at an instant (default now) and where calls go",
)
async def get_time_condition_state(
    object_id: ObjectId, scope: TenantScopeDep, svc: Svc, at: At = None
) -> TimeConditionState:
    return await svc.state_at(scope, object_id, at)


@router.post(
    "/{object_id}/mode",
    response_model=TimeConditionOut,
    dependencies=[Depends(require("time_conditions.update"))],
    summary="Set the office mode: force open, closed or holiday (optionally until a time), or back to auto",
)
async def set_time_condition_mode(
    object_id: ObjectId,
    body: ModeChange,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    if_match: IfMatch = None,
) -> TimeConditionOut:
    tc = await svc.set_mode(scope, object_id, body, if_match)
    response.headers["ETag"] = tc.etag
    return TimeConditionOut.model_validate(tc)


@router.get(
    "/{object_id}/destinations",
    response_model=DestinationList,
    dependencies=[Depends(require("time_conditions.read"))],
    summary="List a time condition's destinations with the names and numbers of their targets",
)
async def get_time_condition_destinations(object_id: ObjectId, scope: TenantScopeDep, svc: Svc) -> DestinationList:
    return await svc.destinations(scope, object_id)
