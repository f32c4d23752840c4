"""``/api/v1/tenants/{tenant_id}/users`` (+ password reset by an administrator)."""

from typing import Annotated

from fastapi import Depends

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.users.schemas import (
    PasswordResult,
    PasswordSet,
    UserCreate,
    UserFilters,
    UserUpdate,
)
from centrex.resources.users.service import UserService

router = tenant_router(
    ResourceSpec(plural="users", service=UserService, create=UserCreate, update=UserUpdate, filters=UserFilters)
)


async def _svc(uow: UowDep, state: StateDep) -> UserService:
    return UserService(uow, state)


@router.post(
    "/{object_id}/password",
    response_model=PasswordResult,
    dependencies=[Depends(require("users.update"))],
    summary="Set or reset a user's password",
)
async def set_user_password(
    object_id: ObjectId, body: PasswordSet, scope: TenantScopeDep, svc: Annotated[UserService, Depends(_svc)]
) -> PasswordResult:
    return PasswordResult(password=await svc.set_password(scope, object_id, body.password))
