"""Trunk rules: registration trunks need credentials, IP trunks source addresses; every literal address is public
(unless ``trunk_private_addresses``); ``shared`` only on platform and reseller tenants; names unique per tenant;
passwords encrypted and never shown. Also which trunks a tenant may use: its own and its ancestors' shared ones."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select

from centrex.db.models.refs import ObjectRef
from centrex.db.models.routing import Trunk
from centrex.domain.errors import Duplicate, ErrorCollector, InUse, Reference
from centrex.domain.tenancy import TenantKind, TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.service import ResourceService
from centrex.resources.trunks.addresses import non_public_reason, parse_cidr
from centrex.resources.trunks.schemas import (
    NULLABLE,
    AvailableTrunk,
    AvailableTrunks,
    TrunkCreate,
    TrunkFilters,
    TrunkOut,
    TrunkUpdate,
)
from centrex.security.secrets import default_box

SHARING_KINDS = frozenset({TenantKind.PLATFORM, TenantKind.RESELLER})
# Input field name → column (``register_`` is ``register``); the output's keys, which are columns too.
_COLUMNS = {name: f.alias or name for name, f in TrunkCreate.model_fields.items() if name != "password"}
_OUT_KEYS = [f.alias or name for name, f in TrunkOut.model_fields.items() if name != "password_set"]


def ancestor_ids(scope: TenantScope) -> list[str]:
    """The ids of the tenants above this one (its materialised path, without itself)."""
    return [p for p in scope.tenant_path.strip("/").split("/") if p and p != scope.tenant_id]


def usable_condition(scope: TenantScope) -> ColumnElement[bool]:
    """Trunks this tenant's outbound routes may use: its own, and shared trunks of the tenants above it."""
    ancestors = ancestor_ids(scope)
    own = Trunk.tenant_id == scope.tenant_id
    if not ancestors:
        return own
    return or_(own, Trunk.tenant_id.in_(ancestors) & Trunk.shared.is_(True))


class TrunkRepository(TenantRepository[Trunk]):
    model = Trunk
    sortable = {"name": Trunk.name, "host": Trunk.host}
    default_sort = "name"


class TrunkService(ResourceService[Trunk]):
    repository = TrunkRepository
    out_model = TrunkOut

    def present(self, obj: Trunk) -> BaseModel:
        fields = {key: getattr(obj, key) for key in _OUT_KEYS}
        return TrunkOut(**fields, password_set=obj.password_enc is not None)

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, TrunkFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.kind:
            conds.append(Trunk.kind == filters.kind)
        if filters.shared is not None:
            conds.append(Trunk.shared == filters.shared)
        if filters.enabled is not None:
            conds.append(Trunk.enabled == filters.enabled)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(func.lower(Trunk.name).like(like), Trunk.host.like(like)))
        return conds

    # ------------------------------------------------------------------------------------------------ rules
    def _check(self, scope: TenantScope, state: dict[str, Any], password_set: bool) -> None:
        """The rules that involve several fields or the settings, over the trunk as it would be stored."""
        errors = ErrorCollector()
        allow_private = self.state.settings.trunk_private_addresses
        if state["shared"] and scope.tenant_kind not in SHARING_KINDS:
            errors.add("shared", "only platform and reseller trunks can be shared")
        host = state["host"]
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            address = None
        if address is not None and not allow_private:
            reason = non_public_reason(ipaddress.IPv4Network(address))
            if reason:
                errors.add("host", f"{host} is not a public address ({reason})", "not_public")
        if not allow_private:
            for i, cidr in enumerate(state["allowed_ips"]):
                reason = non_public_reason(parse_cidr(cidr))
                if reason:
                    errors.add(f"allowed_ips.{i}", f"{cidr} is not a public network ({reason})", "not_public")
        if state["kind"] == "registration":
            if not state["username"]:
                errors.add("username", "a registration trunk needs a username", "missing")
            if not password_set:
                errors.add("password", "a registration trunk needs a password", "missing")
        else:
            if not state["allowed_ips"]:
                errors.add("allowed_ips", "an IP trunk needs at least one source address or network", "missing")
            if state["register"]:
                errors.add("register", "an IP trunk does not register (use kind `registration`)")
            if password_set:
                errors.add("password", "an IP trunk authenticates by source address; it has no password")
        if state["caller_id_mode"] == "fixed" and not state["caller_id_number"]:
            errors.add("caller_id_number", "caller_id_mode `fixed` needs a caller_id_number", "missing")
        errors.raise_if_any()

    async def _check_name(self, scope: TenantScope, name: str, current: Trunk | None) -> None:
        taken = await self.repo.find(scope, Trunk.name == name)
        if taken is not None and taken is not current:
            raise Duplicate(f"a trunk named {name!r} already exists in this tenant", field="name", owner=taken.id)

    async def _check_unshare(self, scope: TenantScope, trunk: Trunk) -> None:
        """A shared trunk that routes of tenants below still use cannot stop being shared."""
        rows = await self.session.scalars(
            select(ObjectRef).where(ObjectRef.to_id == trunk.id, ObjectRef.tenant_id != scope.tenant_id)
        )
        refs = [Reference(r.from_type, r.from_id, r.field, r.label or None) for r in rows]
        if refs:
            listing = ", ".join(f"{r.resource} {r.label or r.id}" for r in refs[:10])
            raise InUse(f"trunk {trunk.name!r} is used by other tenants' {listing}; it must stay shared", refs)

    async def create(self, scope: TenantScope, data: TrunkCreate) -> Trunk:
        state = data.model_dump(exclude={"password"}, by_alias=True)
        self._check(scope, state, data.password is not None)
        await self._check_name(scope, data.name, None)
        trunk = Trunk(
            tenant_id=scope.tenant_id,
            **state,
            password_enc=default_box().encrypt(data.password) if data.password is not None else None,
        )
        self.repo.add(trunk)
        await self.session.flush()
        return trunk

    async def update(self, scope: TenantScope, obj_id: str, data: TrunkUpdate, if_match: str | None) -> Trunk:
        trunk = await self.get(scope, obj_id)
        check_etag(trunk, if_match)
        given = data.model_fields_set
        errors = ErrorCollector()
        for name in sorted(given - NULLABLE):
            if getattr(data, name) is None:
                errors.add(_COLUMNS[name], "cannot be null")
        errors.raise_if_any()
        changes: dict[str, Any] = data.model_dump(include=given - {"password"}, by_alias=True)
        state = {column: changes.get(column, getattr(trunk, column)) for column in _COLUMNS.values()}
        password_set = data.password is not None if "password" in given else trunk.password_enc is not None
        self._check(scope, state, password_set)
        if "name" in given and data.name != trunk.name:
            assert data.name is not None
            await self._check_name(scope, data.name, trunk)
        if trunk.shared and state["shared"] is False:
            await self._check_unshare(scope, trunk)
        if "password" in given:
            changes["password_enc"] = default_box().encrypt(data.password) if data.password is not None else None
        apply_changes(trunk, changes)
        await self.session.flush()
        return trunk

    async def available(self, scope: TenantScope) -> AvailableTrunks:
        rows = (
            await self.session.scalars(select(Trunk).where(usable_condition(scope)).order_by(Trunk.name, Trunk.id))
        ).all()
        items = [
            AvailableTrunk(
                id=t.id,
                tenant_id=t.tenant_id,
                name=t.name,
                kind=t.kind,
                shared=t.shared,
                inherited=t.tenant_id != scope.tenant_id,
                codecs=list(t.codecs or []),
                max_channels=t.max_channels,
                enabled=t.enabled,
            )
            for t in rows
        ]
        return AvailableTrunks(items=items, total=len(items))
