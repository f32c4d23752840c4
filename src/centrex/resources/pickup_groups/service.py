"""Pickup group rules: unique names in the tenant, members that are extensions of the tenant (each once)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func

from centrex.db.models.groups import PickupGroup
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.extension_groups.members import check_extensions, referencing
from centrex.resources.pickup_groups.schemas import (
    PickupGroupCreate,
    PickupGroupFilters,
    PickupGroupOut,
    PickupGroupUpdate,
)
from centrex.resources.service import ResourceService


class PickupGroupRepository(TenantRepository[PickupGroup]):
    model = PickupGroup
    sortable = {"name": PickupGroup.name}
    default_sort = "name"


class PickupGroupService(ResourceService[PickupGroup]):
    repository = PickupGroupRepository
    out_model = PickupGroupOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, PickupGroupFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.q:
            conds.append(func.lower(PickupGroup.name).like(f"%{filters.q.lower()}%"))
        if filters.extension_id:
            conds.append(PickupGroup.id.in_(referencing(scope, "pickup_group", "member_ids", filters.extension_id)))
        return conds

    async def _check_name(self, scope: TenantScope, name: str, current: PickupGroup | None) -> None:
        existing = await self.repo.find(scope, PickupGroup.name == name)
        if existing is not None and existing is not current:
            raise Duplicate(f"a pickup group named {name!r} already exists", field="name")

    async def create(self, scope: TenantScope, data: PickupGroupCreate) -> PickupGroup:
        await self._check_name(scope, data.name, None)
        await check_extensions(self.session, scope, data.member_ids, "member_ids")
        group = PickupGroup(tenant_id=scope.tenant_id, name=data.name, member_ids=list(data.member_ids))
        self.repo.add(group)
        await self.session.flush()
        return group

    async def update(
        self, scope: TenantScope, obj_id: str, data: PickupGroupUpdate, if_match: str | None
    ) -> PickupGroup:
        group = await self.get(scope, obj_id)
        check_etag(group, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = {}
        if "name" in given:
            if data.name is None:
                raise InvalidInput.field("name", "cannot be null")
            await self._check_name(scope, data.name, group)
            changes["name"] = data.name
        if "member_ids" in given:
            if data.member_ids is None:
                raise InvalidInput.field("member_ids", "cannot be null")
            await check_extensions(self.session, scope, data.member_ids, "member_ids")
            changes["member_ids"] = list(data.member_ids)
        apply_changes(group, changes)
        await self.session.flush()
        return group
