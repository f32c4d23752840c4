"""Ring group rules: a number in the tenant's one number space, members that are extensions of the tenant or
outside numbers (no duplicates), a checked no-answer destination and MOH class, no static loops; and the 3CX-style
member list (``group.members.get`` / ``group.members.set``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_

from centrex.callflow.loader import ensure_no_static_loop
from centrex.db.models.groups import RingGroup
from centrex.db.models.media import MohClass
from centrex.domain.errors import InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources import destinations, dialplan
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.extension_groups.members import (
    MemberSet,
    check_exists,
    check_extensions,
    extension_refs,
    referencing,
    resolve,
)
from centrex.resources.ring_groups.schemas import (
    NOT_NULL,
    ExtensionMember,
    Member,
    RingGroupCreate,
    RingGroupFilters,
    RingGroupMember,
    RingGroupOut,
    RingGroupUpdate,
)
from centrex.resources.service import ResourceService


class RingGroupRepository(TenantRepository[RingGroup]):
    model = RingGroup
    sortable = {"name": RingGroup.name, "number": RingGroup.number}
    default_sort = "name"


class RingGroupService(ResourceService[RingGroup]):
    repository = RingGroupRepository
    out_model = RingGroupOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, RingGroupFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.number:
            conds.append(RingGroup.number == filters.number)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(RingGroup.number.like(like), func.lower(RingGroup.name).like(like)))
        if filters.extension_id:
            conds.append(RingGroup.id.in_(referencing(scope, "ring_group", "members", filters.extension_id)))
        return conds

    async def _members(self, scope: TenantScope, members: list[Member]) -> list[dict[str, Any]]:
        at = [(i, m.extension_id) for i, m in enumerate(members) if isinstance(m, ExtensionMember)]
        fields = [f"members.{i}.extension_id" for i, _ in at]
        await check_extensions(self.session, scope, [ext_id for _, ext_id in at], "members", fields)
        return [m.model_dump(mode="json") for m in members]

    async def _no_answer(self, scope: TenantScope, dest: Any) -> dict[str, Any] | None:
        return await destinations.check(self.session, scope, dest, "no_answer_destination")

    async def create(self, scope: TenantScope, data: RingGroupCreate) -> RingGroup:
        if data.number is not None:
            await dialplan.ensure_free(self.session, scope, data.number)
        await check_exists(self.session, scope, MohClass, data.moh_class_id, "moh_class_id")
        group = RingGroup(
            tenant_id=scope.tenant_id,
            name=data.name,
            number=data.number,
            strategy=data.strategy,
            ring_time=data.ring_time,
            members=await self._members(scope, data.members),
            no_answer_destination=await self._no_answer(scope, data.no_answer_destination),
            caller_id_prefix=data.caller_id_prefix,
            confirm_external=data.confirm_external,
            skip_busy=data.skip_busy,
            moh_class_id=data.moh_class_id,
        )
        self.repo.add(group)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return group

    async def update(self, scope: TenantScope, obj_id: str, data: RingGroupUpdate, if_match: str | None) -> RingGroup:
        group = await self.get(scope, obj_id)
        check_etag(group, if_match)
        given = data.model_fields_set
        for name in NOT_NULL:
            if name in given and getattr(data, name) is None:
                raise InvalidInput.field(name, "cannot be null")
        changes: dict[str, Any] = {}
        if "number" in given and data.number != group.number:
            if data.number is not None:
                await dialplan.ensure_free(self.session, scope, data.number, group.id)
            changes["number"] = data.number
        if "members" in given and data.members is not None:
            changes["members"] = await self._members(scope, data.members)
        if "no_answer_destination" in given:
            changes["no_answer_destination"] = await self._no_answer(scope, data.no_answer_destination)
        if "moh_class_id" in given:
            await check_exists(self.session, scope, MohClass, data.moh_class_id, "moh_class_id")
            changes["moh_class_id"] = data.moh_class_id
        simple = given & {"name", "strategy", "ring_time", "caller_id_prefix", "confirm_external", "skip_busy"}
        changes.update(data.model_dump(include=simple))
        apply_changes(group, changes)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return group

    # ------------------------------------------------------------------ members (3CX group.members.get/set)
    async def list_members(self, scope: TenantScope, obj_id: str) -> list[RingGroupMember]:
        group = await self.get(scope, obj_id)
        ext_ids = [m["extension_id"] for m in group.members if m.get("type") == "extension"]
        refs = {r.extension_id: r for r in await extension_refs(self.session, scope, ext_ids)}
        out: list[RingGroupMember] = []
        for m in group.members:
            if m.get("type") == "extension":
                ref = refs.get(m["extension_id"])
                if ref is None:
                    continue
                out.append(
                    RingGroupMember(
                        type="extension",
                        extension_id=ref.extension_id,
                        number=ref.number,
                        name=ref.name,
                        ring_time=m.get("ring_time"),
                        delay=m.get("delay") or 0,
                    )
                )
            else:
                out.append(RingGroupMember(type="external", number=m["number"], ring_time=m.get("ring_time")))
        return out

    async def set_members(self, scope: TenantScope, obj_id: str, body: MemberSet, if_match: str | None) -> RingGroup:
        """Replace the member set; members that stay keep their own ring time and delay, the list order is the
        new hunt order."""
        group = await self.get(scope, obj_id)
        check_etag(group, if_match)
        resolved = await resolve(self.session, scope, body.members, "members", external=True)
        current = {m.get("extension_id") or m.get("number"): m for m in group.members}
        members: list[dict[str, Any]] = []
        for item in resolved:
            if item.key in current:
                members.append(current[item.key])
            elif item.extension is not None:
                members.append({"type": "extension", "extension_id": item.extension.id, "ring_time": None, "delay": 0})
            else:
                members.append({"type": "external", "number": item.external_number, "ring_time": None})
        apply_changes(group, {"members": members})
        await self.session.flush()
        return group
