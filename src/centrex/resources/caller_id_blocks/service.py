"""Caller-ID block rules: a number (E.164) or a dial pattern, unique per tenant."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_

from centrex.db.models.routing import CallerIdBlock
from centrex.domain.errors import Duplicate, ErrorCollector
from centrex.domain.tenancy import TenantScope
from centrex.resources.caller_id_blocks.schemas import (
    CallerIdBlockCreate,
    CallerIdBlockFilters,
    CallerIdBlockOut,
    CallerIdBlockUpdate,
)
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.service import ResourceService


class CallerIdBlockRepository(TenantRepository[CallerIdBlock]):
    model = CallerIdBlock
    sortable = {"pattern": CallerIdBlock.pattern}
    default_sort = "pattern"


class CallerIdBlockService(ResourceService[CallerIdBlock]):
    repository = CallerIdBlockRepository
    out_model = CallerIdBlockOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, CallerIdBlockFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.action:
            conds.append(CallerIdBlock.action == filters.action)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(CallerIdBlock.pattern.like(like), func.lower(CallerIdBlock.reason).like(like)))
        return conds

    async def _check_unique(self, scope: TenantScope, pattern: str, current: CallerIdBlock | None) -> None:
        taken = await self.repo.find(scope, CallerIdBlock.pattern == pattern)
        if taken is not None and taken is not current:
            raise Duplicate(f"{pattern} is already blocked in this tenant", field="pattern", owner=taken.id)

    async def create(self, scope: TenantScope, data: CallerIdBlockCreate) -> CallerIdBlock:
        await self._check_unique(scope, data.pattern, None)
        block = CallerIdBlock(tenant_id=scope.tenant_id, **data.model_dump())
        self.repo.add(block)
        await self.session.flush()
        return block

    async def update(
        self, scope: TenantScope, obj_id: str, data: CallerIdBlockUpdate, if_match: str | None
    ) -> CallerIdBlock:
        block = await self.get(scope, obj_id)
        check_etag(block, if_match)
        given = data.model_fields_set
        errors = ErrorCollector()
        for name in sorted(given):
            if getattr(data, name) is None:
                errors.add(name, "cannot be null")
        errors.raise_if_any()
        changes: dict[str, Any] = data.model_dump(include=given)
        if "pattern" in given and data.pattern != block.pattern:
            assert data.pattern is not None
            await self._check_unique(scope, data.pattern, block)
        apply_changes(block, changes)
        await self.session.flush()
        return block
