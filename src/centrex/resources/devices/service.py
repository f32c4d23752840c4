"""Device rules: MACs are unique on the platform; bound and watched extensions must be in the same tenant."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select

from centrex.db.models.device import Device
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.devices.schemas import DeviceCreate, DeviceFilters, DeviceOut, DeviceUpdate, LineKey
from centrex.resources.extensions.repository import ExtensionRepository
from centrex.resources.service import ResourceService


class DeviceRepository(TenantRepository[Device]):
    model = Device
    sortable = {"mac": Device.mac, "name": Device.name}
    default_sort = "mac"


class DeviceService(ResourceService[Device]):
    repository = DeviceRepository
    out_model = DeviceOut

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        own = scope.own_extension_only
        return [Device.extension_id == own] if own is not None else []

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, DeviceFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.extension_id:
            conds.append(Device.extension_id == filters.extension_id)
        if filters.mac:
            conds.append(Device.mac == filters.mac.replace(":", "").replace("-", "").lower())
        return conds

    async def _refs(self, scope: TenantScope, extension_id: str | None, keys: list[LineKey] | None) -> None:
        exts = ExtensionRepository(self.session)
        if extension_id:
            await exts.reference(scope, extension_id, "extension_id")
        for i, key in enumerate(keys or []):
            if key.extension_id:
                await exts.reference(scope, key.extension_id, f"line_keys.{i}.extension_id")

    async def create(self, scope: TenantScope, data: DeviceCreate) -> Device:
        await self._refs(scope, data.extension_id, data.line_keys)
        taken = await self.session.scalar(select(Device.id).where(Device.mac == data.mac))
        if taken is not None:
            raise Duplicate(f"a device with MAC {data.mac} is already provisioned", field="mac")
        device = Device(
            tenant_id=scope.tenant_id,
            mac=data.mac,
            model=data.model,
            name=data.name,
            extension_id=data.extension_id,
            line_keys=[k.model_dump(mode="json") for k in data.line_keys],
            enabled=data.enabled,
        )
        self.repo.add(device)
        await self.session.flush()
        return device

    async def update(self, scope: TenantScope, obj_id: str, data: DeviceUpdate, if_match: str | None) -> Device:
        device = await self.get(scope, obj_id)
        check_etag(device, if_match)
        given = data.model_fields_set
        await self._refs(scope, data.extension_id if "extension_id" in given else None, data.line_keys)
        changes: dict[str, Any] = {}
        for name in ("model", "name", "enabled"):
            if name in given:
                if getattr(data, name) is None:
                    raise InvalidInput.field(name, "cannot be null")
                changes[name] = getattr(data, name)
        if "extension_id" in given:
            changes["extension_id"] = data.extension_id
        if "line_keys" in given:
            changes["line_keys"] = [k.model_dump(mode="json") for k in data.line_keys or []]
        apply_changes(device, changes)
        await self.session.flush()
        return device
