"""``/api/v1/tenants/{tenant_id}/ring-groups`` (+ ``GET|PUT …/{id}/members``, 3CX group.members.get/set)."""

from typing import Annotated

from fastapi import Depends, Response

from centrex.api.deps import IfMatch, StateDep, TenantScopeDep, UowDep, require
from centrex.api.response_cache import cached
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.extension_groups.members import Listing, MemberSet
from centrex.resources.ring_groups.schemas import (
    RingGroupCreate,
    RingGroupFilters,
    RingGroupMember,
    RingGroupUpdate,
)
from centrex.resources.ring_groups.service import RingGroupService

TAG = {
    "name": "ring-groups",
    "description": "Ring groups (hunt lists): ring extensions and outside numbers at once or in turn; calls nobody "
    "answers go to a destination.",
}

router = tenant_router(
    ResourceSpec(
        plural="ring-groups",
        service=RingGroupService,
        create=RingGroupCreate,
        update=RingGroupUpdate,
        filters=RingGroupFilters,
        singular="ring group",
    )
)


async def _svc(uow: UowDep, state: StateDep) -> RingGroupService:
    return RingGroupService(uow, state)


Svc = Annotated[RingGroupService, Depends(_svc)]


@router.get(
    "/{object_id}/members",
    response_model=Listing[RingGroupMember],
    dependencies=[Depends(require("ring_groups.read"))],
    summary="List a ring group's members with their numbers",
)
@cached("ring_groups", "extensions")
async def get_ring_group_members(object_id: ObjectId, scope: TenantScopeDep, svc: Svc) -> Listing[RingGroupMember]:
    members = await svc.list_members(scope, object_id)
    return Listing[RingGroupMember](count=len(members), items=members)


@router.put(
    "/{object_id}/members",
    response_model=Listing[RingGroupMember],
    dependencies=[Depends(require("ring_groups.update"))],
    summary="Replace a ring group's members",
    description="The body lists extension ids, extension numbers or outside numbers (E.164), in hunt order, as "
    '`{"members": [...]}` or as a bare JSON array. Members that stay keep their own ring time and delay.',
)
async def set_ring_group_members(
    object_id: ObjectId,
    body: MemberSet,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    if_match: IfMatch = None,
) -> Listing[RingGroupMember]:
    group = await svc.set_members(scope, object_id, body, if_match)
    response.headers["ETag"] = group.etag
    members = await svc.list_members(scope, object_id)
    return Listing[RingGroupMember](count=len(members), items=members)
