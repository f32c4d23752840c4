"""Music-on-hold class rules: unique names, playlists of the tenant's own ``moh``/``prompt`` media, and at most
one default class per tenant (making a class the default clears the flag on the previous one)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select

from centrex.db.models.media import MediaFile, MohClass
from centrex.db.models.refs import ObjectRef
from centrex.domain.errors import Duplicate, InvalidInput, InvalidReference
from centrex.domain.tenancy import TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.moh_classes.schemas import MohClassCreate, MohClassFilters, MohClassOut, MohClassUpdate
from centrex.resources.service import ResourceService

PLAYABLE = frozenset({"moh", "prompt"})


class MohClassRepository(TenantRepository[MohClass]):
    model = MohClass
    sortable = {"name": MohClass.name}
    default_sort = "name"


class MohClassService(ResourceService[MohClass]):
    repository = MohClassRepository
    out_model = MohClassOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, MohClassFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.q:
            conds.append(func.lower(MohClass.name).like(f"%{filters.q.lower()}%"))
        if filters.is_default is not None:
            conds.append(MohClass.is_default == filters.is_default)
        if filters.media_id:
            conds.append(
                MohClass.id.in_(
                    select(ObjectRef.from_id).where(
                        ObjectRef.tenant_id == scope.tenant_id,
                        ObjectRef.from_type == MohClass.__resource__,
                        ObjectRef.to_id == filters.media_id,
                    )
                )
            )
        return conds

    async def _check_name(self, scope: TenantScope, name: str, current: MohClass | None) -> None:
        existing = await self.repo.find(scope, MohClass.name == name)
        if existing is not None and existing is not current:
            raise Duplicate(f"a music-on-hold class named {name!r} already exists", field="name")

    async def _check_media(self, scope: TenantScope, media_ids: list[str]) -> None:
        if not media_ids:
            return
        rows = await self.session.execute(
            select(MediaFile.id, MediaFile.kind).where(
                MediaFile.tenant_id == scope.tenant_id, MediaFile.id.in_(media_ids)
            )
        )
        kinds = {row.id: row.kind for row in rows}
        for i, media_id in enumerate(media_ids):
            if media_id not in kinds:
                raise InvalidReference.field(
                    f"media_ids.{i}", f"no media file {media_id!r} in this tenant", "invalid_reference"
                )
            if kinds[media_id] not in PLAYABLE:
                raise InvalidInput.field(
                    f"media_ids.{i}", f"media file {media_id!r} is a {kinds[media_id]}; only moh or prompt files play"
                )

    async def _clear_other_defaults(self, scope: TenantScope, keep: MohClass) -> None:
        await self.tenant(scope, lock=True)  # PostgreSQL: concurrent "make default" requests queue here
        others = await self.session.execute(
            self.repo.scoped(scope).where(MohClass.is_default.is_(True), MohClass.id != keep.id)
        )
        for other in others.scalars():
            other.is_default = False

    async def create(self, scope: TenantScope, data: MohClassCreate) -> MohClass:
        await self._check_name(scope, data.name, None)
        await self._check_media(scope, data.media_ids)
        moh = MohClass(
            tenant_id=scope.tenant_id,
            name=data.name,
            media_ids=list(data.media_ids),
            random=data.random,
            is_default=data.is_default,
        )
        if data.is_default:
            await self._clear_other_defaults(scope, moh)
        self.repo.add(moh)
        await self.session.flush()
        return moh

    async def update(self, scope: TenantScope, obj_id: str, data: MohClassUpdate, if_match: str | None) -> MohClass:
        moh = await self.get(scope, obj_id)
        check_etag(moh, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = data.model_dump(include=given)
        if "name" in changes and changes["name"] != moh.name:
            await self._check_name(scope, changes["name"], moh)
        if "media_ids" in changes:
            await self._check_media(scope, changes["media_ids"])
        if changes.get("is_default") and not moh.is_default:
            await self._clear_other_defaults(scope, moh)
        apply_changes(moh, changes)
        await self.session.flush()
        return moh
