"""Outbound route rules: patterns compile; trunks are the tenant's own or shared trunks of its ancestors, in failover
order; a time condition must be the tenant's. Every tenant (kind ``tenant``) has one emergency route
(``ensure_emergency_route``): 911 and 933 as dialled, 9911 with the 9 stripped, class ``emergency``; it cannot be
deleted, disabled, put under a time condition or lose those patterns, and an empty trunk list means "any trunk this
tenant may use"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.api.pagination import PageParams, PageResult
from centrex.db.models.refs import ObjectRef
from centrex.db.models.routing import OutboundRoute, Trunk
from centrex.db.models.tenant import Tenant
from centrex.db.models.time_condition import TimeCondition
from centrex.db.tracking import ChangeContext
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import Conflict, ErrorCollector, InvalidInput, InvalidReference
from centrex.domain.tenancy import DestinationClass, TenantKind, TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.outbound_routes.schemas import (
    OutboundRouteCreate,
    OutboundRouteFilters,
    OutboundRouteOut,
    OutboundRouteUpdate,
)
from centrex.resources.service import ResourceService
from centrex.resources.trunks.service import usable_condition

# The patterns every emergency route keeps (more may be added): 911 and 933 (address test) as dialled, and 9911 for
# phones used to dialling 9 for an outside line (Kari's Law: 911 works with and without the prefix).
EMERGENCY_PATTERNS: tuple[dict[str, Any], ...] = (
    {"match": "911", "strip": 0, "prepend": ""},
    {"match": "933", "strip": 0, "prepend": ""},
    {"match": "9911", "strip": 1, "prepend": ""},
)
EMERGENCY_NAME = "Emergency"


async def _has_emergency(session: AsyncSession, tenant_id: str) -> str | None:
    found: str | None = await session.scalar(
        select(OutboundRoute.id).where(OutboundRoute.tenant_id == tenant_id, OutboundRoute.emergency.is_(True)).limit(1)
    )
    return found


async def ensure_emergency_route(session: AsyncSession, tenant_id: str) -> None:
    """Give a tenant (kind ``tenant``) its emergency route if it has none; idempotent, a no-op for other kinds.

    Call it after a template copy (a copied emergency route counts). The tenant row is locked (PostgreSQL) so that
    concurrent callers create one route, not two.
    """
    stmt = select(Tenant.kind).where(Tenant.id == tenant_id).with_for_update()
    kind = (await session.execute(stmt)).scalar_one_or_none()
    if kind != TenantKind.TENANT.value:
        return
    if await _has_emergency(session, tenant_id) is not None:
        return
    session.add(
        OutboundRoute(
            tenant_id=tenant_id,
            name=EMERGENCY_NAME,
            priority=0,
            patterns=[dict(p) for p in EMERGENCY_PATTERNS],
            destination_class=DestinationClass.EMERGENCY.value,
            trunk_ids=[],
            time_condition_id=None,
            emergency=True,
            caller_id_number=None,
            enabled=True,
        )
    )
    await session.flush()


class OutboundRouteRepository(TenantRepository[OutboundRoute]):
    model = OutboundRoute
    sortable = {"priority": OutboundRoute.priority, "name": OutboundRoute.name}
    default_sort = "priority"


def _pattern_key(p: dict[str, Any]) -> tuple[str, int, str]:
    return (str(p["match"]).removeprefix("_"), int(p.get("strip", 0)), str(p.get("prepend", "")))


class OutboundRouteService(ResourceService[OutboundRoute]):
    repository = OutboundRouteRepository
    out_model = OutboundRouteOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, OutboundRouteFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.destination_class:
            conds.append(OutboundRoute.destination_class == filters.destination_class)
        if filters.trunk_id:
            users = select(ObjectRef.from_id).where(
                ObjectRef.tenant_id == scope.tenant_id,
                ObjectRef.from_type == OutboundRoute.__resource__,
                ObjectRef.to_id == filters.trunk_id,
            )
            conds.append(OutboundRoute.id.in_(users))
        if filters.emergency is not None:
            conds.append(OutboundRoute.emergency == filters.emergency)
        if filters.enabled is not None:
            conds.append(OutboundRoute.enabled == filters.enabled)
        if filters.q:
            conds.append(func.lower(OutboundRoute.name).like(f"%{filters.q.lower()}%"))
        return conds

    async def list(self, scope: TenantScope, filters: BaseModel, page: PageParams) -> PageResult[OutboundRoute]:
        if scope.tenant_kind == TenantKind.TENANT:
            await self._ensure_emergency(scope)
        return await super().list(scope, filters, page)

    async def _ensure_emergency(self, scope: TenantScope) -> None:
        """Tenants made before emergency routes existed get theirs on first listing."""
        if await _has_emergency(self.session, scope.tenant_id) is not None:
            return
        if self.uow.write:
            await ensure_emergency_route(self.session, scope.tenant_id)
            return
        # A read request does not commit: write the route in a unit of work of its own. The read session gives its
        # connection back first (SQLite has one) and sees the route on its next statement.
        await self.session.rollback()
        ctx = ChangeContext(actor="system", actor_name="system", request_id=self.uow.ctx.request_id)
        async with UnitOfWork(self.uow.db, ctx) as uow:
            await ensure_emergency_route(uow.session, scope.tenant_id)
            await uow.commit()

    # ------------------------------------------------------------------------------------------------ rules
    async def _check_trunks(self, scope: TenantScope, trunk_ids: Sequence[str]) -> None:
        if not trunk_ids:
            return
        found = set(
            await self.session.scalars(select(Trunk.id).where(Trunk.id.in_(trunk_ids), usable_condition(scope)))
        )
        for i, trunk_id in enumerate(trunk_ids):
            if trunk_id not in found:
                raise InvalidReference.field(
                    f"trunk_ids.{i}",
                    f"no trunk {trunk_id!r} that this tenant may use (its own or one shared from above)",
                    "invalid_reference",
                )

    async def _check_time_condition(self, scope: TenantScope, tc_id: str | None) -> None:
        if tc_id is None:
            return
        found = await self.session.scalar(
            select(TimeCondition.id).where(TimeCondition.id == tc_id, TimeCondition.tenant_id == scope.tenant_id)
        )
        if found is None:
            raise InvalidReference.field(
                "time_condition_id", f"no time_condition {tc_id!r} in this tenant", "invalid_reference"
            )

    @staticmethod
    def _check_emergency(state: dict[str, Any]) -> None:
        errors = ErrorCollector()
        if state["enabled"] is not True:
            errors.add("enabled", "the emergency route cannot be disabled")
        if state["destination_class"] != DestinationClass.EMERGENCY.value:
            errors.add("destination_class", "the emergency route's class is `emergency`")
        if state["time_condition_id"] is not None:
            errors.add("time_condition_id", "the emergency route is always open; it takes no time condition")
        have = {_pattern_key(p) for p in state["patterns"]}
        missing = [p["match"] for p in EMERGENCY_PATTERNS if _pattern_key(p) not in have]
        if missing:
            errors.add(
                "patterns",
                "the emergency route keeps 911 and 933 (strip 0) and 9911 (strip 1); missing: " + ", ".join(missing),
            )
        errors.raise_if_any("The emergency route must stay able to reach emergency services")

    async def create(self, scope: TenantScope, data: OutboundRouteCreate) -> OutboundRoute:
        await self._check_trunks(scope, data.trunk_ids)
        await self._check_time_condition(scope, data.time_condition_id)
        if scope.tenant_kind == TenantKind.TENANT:
            await ensure_emergency_route(self.session, scope.tenant_id)
        route = OutboundRoute(
            tenant_id=scope.tenant_id,
            **data.model_dump(mode="json", exclude={"patterns"}),
            patterns=[p.model_dump(mode="json") for p in data.patterns],
            emergency=False,
        )
        self.repo.add(route)
        await self.session.flush()
        return route

    async def update(
        self, scope: TenantScope, obj_id: str, data: OutboundRouteUpdate, if_match: str | None
    ) -> OutboundRoute:
        route = await self.get(scope, obj_id)
        check_etag(route, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = data.model_dump(mode="json", include=given - {"patterns"})
        if "patterns" in given:
            changes["patterns"] = [p.model_dump(mode="json") for p in data.patterns or []]
        state = {
            name: changes.get(name, getattr(route, name)) for name in (*OutboundRouteCreate.model_fields, "emergency")
        }
        if route.emergency:
            self._check_emergency(state)
        elif not state["trunk_ids"]:
            raise InvalidInput.field("trunk_ids", "a route needs at least one trunk", "missing")
        if "trunk_ids" in given:
            await self._check_trunks(scope, state["trunk_ids"])
        if "time_condition_id" in given:
            await self._check_time_condition(scope, state["time_condition_id"])
        apply_changes(route, changes)
        await self.session.flush()
        return route

    async def before_delete(self, scope: TenantScope, obj: OutboundRoute) -> None:
        if obj.emergency:
            raise Conflict("The emergency route cannot be deleted (its trunks and extra patterns can be changed)")
