"""Number rules: E.164, one tenant per number on the whole platform; caller-ID name, CNAM lookup and SMS target
(an extension target must be in the same tenant). Releasing a number deletes its inbound route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select

from centrex.db.models.number import PhoneNumber
from centrex.db.models.routing import InboundRoute
from centrex.domain.errors import Duplicate
from centrex.domain.tenancy import TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.extensions.repository import ExtensionRepository
from centrex.resources.numbers.schemas import (
    NumberCreate,
    NumberFilters,
    NumberOut,
    NumberUpdate,
    SmsToExtension,
)
from centrex.resources.service import ResourceService


class NumberRepository(TenantRepository[PhoneNumber]):
    model = PhoneNumber
    sortable = {"number": PhoneNumber.number}
    default_sort = "number"


class NumberService(ResourceService[PhoneNumber]):
    repository = NumberRepository
    out_model = NumberOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, NumberFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.q:
            digits = "".join(c for c in filters.q if c.isdigit())
            conds.append(PhoneNumber.number.like(f"%{digits}%"))
        if filters.inbound_cnam_lookup is not None:
            conds.append(PhoneNumber.inbound_cnam_lookup == filters.inbound_cnam_lookup)
        if filters.routed is not None:
            routed = select(InboundRoute.number_id).where(
                InboundRoute.tenant_id == scope.tenant_id, InboundRoute.number_id.is_not(None)
            )
            conds.append(PhoneNumber.id.in_(routed) if filters.routed else PhoneNumber.id.not_in(routed))
        return conds

    async def _sms_target(self, scope: TenantScope, target: BaseModel | None) -> dict[str, Any] | None:
        if target is None:
            return None
        if isinstance(target, SmsToExtension):
            await ExtensionRepository(self.session).reference(scope, target.id, "sms_target.id")
        return target.model_dump(mode="json")

    async def create(self, scope: TenantScope, data: NumberCreate) -> PhoneNumber:
        sms_target = await self._sms_target(scope, data.sms_target)
        if await self.session.scalar(select(PhoneNumber.id).where(PhoneNumber.number == data.number)):
            raise Duplicate(f"{data.number} is already assigned", field="number")
        number = PhoneNumber(
            tenant_id=scope.tenant_id,
            number=data.number,
            description=data.description,
            cnam_name=data.cnam_name,
            inbound_cnam_lookup=data.inbound_cnam_lookup,
            sms_target=sms_target,
        )
        self.repo.add(number)
        await self.session.flush()
        return number

    async def update(self, scope: TenantScope, obj_id: str, data: NumberUpdate, if_match: str | None) -> PhoneNumber:
        number = await self.get(scope, obj_id)
        check_etag(number, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = data.model_dump(include=given & {"description", "cnam_name", "inbound_cnam_lookup"})
        if "sms_target" in given:
            changes["sms_target"] = await self._sms_target(scope, data.sms_target)
        apply_changes(number, changes)
        await self.session.flush()
        return number

    async def before_delete(self, scope: TenantScope, obj: PhoneNumber) -> None:
        # A released number takes its inbound route with it (deleted through the ORM: audited and evented).
        routes = await self.session.scalars(
            select(InboundRoute).where(InboundRoute.tenant_id == scope.tenant_id, InboundRoute.number_id == obj.id)
        )
        for route in routes:
            await self.session.delete(route)
        await self.session.flush()  # before the number: its foreign-key cascade would remove the row under the ORM
