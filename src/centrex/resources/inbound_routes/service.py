"""Inbound route rules: exactly one of a number of this tenant (one route per number) or a DID pattern; the
destination must point at objects of the same tenant; a change may not create a static call-flow loop."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_

from centrex.callflow.loader import ensure_no_static_loop
from centrex.db.models.routing import InboundRoute
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources import destinations
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.inbound_routes.schemas import (
    InboundRouteCreate,
    InboundRouteFilters,
    InboundRouteOut,
    InboundRouteUpdate,
)
from centrex.resources.numbers.service import NumberRepository
from centrex.resources.service import ResourceService


class InboundRouteRepository(TenantRepository[InboundRoute]):
    model = InboundRoute
    sortable = {"priority": InboundRoute.priority, "name": InboundRoute.name}
    default_sort = "priority"


class InboundRouteService(ResourceService[InboundRoute]):
    repository = InboundRouteRepository
    out_model = InboundRouteOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, InboundRouteFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.number_id:
            conds.append(InboundRoute.number_id == filters.number_id)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(func.lower(InboundRoute.name).like(like), InboundRoute.pattern.like(like)))
        if filters.enabled is not None:
            conds.append(InboundRoute.enabled == filters.enabled)
        return conds

    async def _check_number(self, scope: TenantScope, number_id: str, current: InboundRoute | None) -> None:
        number = await NumberRepository(self.session).reference(scope, number_id, "number_id")
        taken = await self.repo.find(scope, InboundRoute.number_id == number_id)
        if taken is not None and taken is not current:
            raise Duplicate(
                f"{number.number} already has inbound route {taken.name!r}", field="number_id", owner=taken.id
            )

    async def create(self, scope: TenantScope, data: InboundRouteCreate) -> InboundRoute:
        if data.number_id is not None:
            await self._check_number(scope, data.number_id, None)
        destination = await destinations.check(self.session, scope, data.destination, "destination")
        route = InboundRoute(
            tenant_id=scope.tenant_id,
            **data.model_dump(exclude={"destination"}),
            destination=destination,
        )
        self.repo.add(route)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return route

    async def update(
        self, scope: TenantScope, obj_id: str, data: InboundRouteUpdate, if_match: str | None
    ) -> InboundRoute:
        route = await self.get(scope, obj_id)
        check_etag(route, if_match)
        given = data.model_fields_set
        number_id = data.number_id if "number_id" in given else route.number_id
        pattern = data.pattern if "pattern" in given else route.pattern
        if (number_id is None) == (pattern is None):
            raise InvalidInput.field(
                "number_id" if "number_id" in given else "pattern",
                "a route has exactly one of number_id and pattern (set the other to null when switching)",
            )
        if "number_id" in given and number_id is not None and number_id != route.number_id:
            await self._check_number(scope, number_id, route)
        changes: dict[str, Any] = data.model_dump(include=given - {"destination"})
        if "destination" in given:
            changes["destination"] = await destinations.check(self.session, scope, data.destination, "destination")
        apply_changes(route, changes)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return route
