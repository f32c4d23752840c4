"""``/api/v1/tenants/{tenant_id}/extension-groups`` (+ ``GET …/{id}/members``, 3CX extgroup.members.get)."""

from typing import Annotated

from fastapi import Depends

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.api.response_cache import cached
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.extension_groups.members import ExtensionRef, Listing
from centrex.resources.extension_groups.schemas import (
    ExtensionGroupCreate,
    ExtensionGroupFilters,
    ExtensionGroupUpdate,
)
from centrex.resources.extension_groups.service import ExtensionGroupService

TAG = {
    "name": "extension-groups",
    "description": "Extension groups: named sets of extensions (departments, directory views, presence lists).",
}

router = tenant_router(
    ResourceSpec(
        plural="extension-groups",
        service=ExtensionGroupService,
        create=ExtensionGroupCreate,
        update=ExtensionGroupUpdate,
        filters=ExtensionGroupFilters,
        singular="extension group",
    )
)


async def _svc(uow: UowDep, state: StateDep) -> ExtensionGroupService:
    return ExtensionGroupService(uow, state)


Svc = Annotated[ExtensionGroupService, Depends(_svc)]


@router.get(
    "/{object_id}/members",
    response_model=Listing[ExtensionRef],
    dependencies=[Depends(require("extension_groups.read"))],
    summary="List an extension group's members with their numbers and names",
)
@cached("extension_groups", "extensions")
async def get_extension_group_members(object_id: ObjectId, scope: TenantScopeDep, svc: Svc) -> Listing[ExtensionRef]:
    members = await svc.members(scope, object_id)
    return Listing[ExtensionRef](count=len(members), items=members)
