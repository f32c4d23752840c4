"""Extension group rules: unique names in the tenant, members that are extensions of the tenant (each once); the
member list with numbers and names (3CX ``extgroup.members.get``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func

from centrex.db.models.groups import ExtensionGroup
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.extension_groups.members import ExtensionRef, check_extensions, extension_refs, referencing
from centrex.resources.extension_groups.schemas import (
    ExtensionGroupCreate,
    ExtensionGroupFilters,
    ExtensionGroupOut,
    ExtensionGroupUpdate,
)
from centrex.resources.service import ResourceService


class ExtensionGroupRepository(TenantRepository[ExtensionGroup]):
    model = ExtensionGroup
    sortable = {"name": ExtensionGroup.name}
    default_sort = "name"


class ExtensionGroupService(ResourceService[ExtensionGroup]):
    repository = ExtensionGroupRepository
    out_model = ExtensionGroupOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, ExtensionGroupFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.name:
            conds.append(ExtensionGroup.name == filters.name)
        if filters.q:
            conds.append(func.lower(ExtensionGroup.name).like(f"%{filters.q.lower()}%"))
        if filters.extension_id:
            conds.append(
                ExtensionGroup.id.in_(referencing(scope, "extension_group", "member_ids", filters.extension_id))
            )
        return conds

    async def _check_name(self, scope: TenantScope, name: str, current: ExtensionGroup | None) -> None:
        existing = await self.repo.find(scope, ExtensionGroup.name == name)
        if existing is not None and existing is not current:
            raise Duplicate(f"an extension group named {name!r} already exists", field="name")

    async def create(self, scope: TenantScope, data: ExtensionGroupCreate) -> ExtensionGroup:
        await self._check_name(scope, data.name, None)
        await check_extensions(self.session, scope, data.member_ids, "member_ids")
        group = ExtensionGroup(
            tenant_id=scope.tenant_id,
            name=data.name,
            description=data.description,
            member_ids=list(data.member_ids),
        )
        self.repo.add(group)
        await self.session.flush()
        return group

    async def update(
        self, scope: TenantScope, obj_id: str, data: ExtensionGroupUpdate, if_match: str | None
    ) -> ExtensionGroup:
        group = await self.get(scope, obj_id)
        check_etag(group, if_match)
        given = data.model_fields_set
        for name in ("name", "description", "member_ids"):
            if name in given and getattr(data, name) is None:
                raise InvalidInput.field(name, "cannot be null")
        changes: dict[str, Any] = {}
        if "name" in given and data.name is not None:
            await self._check_name(scope, data.name, group)
            changes["name"] = data.name
        if "description" in given:
            changes["description"] = data.description
        if "member_ids" in given and data.member_ids is not None:
            await check_extensions(self.session, scope, data.member_ids, "member_ids")
            changes["member_ids"] = list(data.member_ids)
        apply_changes(group, changes)
        await self.session.flush()
        return group

    async def members(self, scope: TenantScope, obj_id: str) -> list[ExtensionRef]:
        group = await self.get(scope, obj_id)
        return await extension_refs(self.session, scope, group.member_ids)
