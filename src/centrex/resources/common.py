"""What every resource slice shares: the tenant-scoped repository base, ETag checks, patch application."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from centrex.api.pagination import PageParams, PageResult, paginate
from centrex.db.base import Resource, TenantOwned
from centrex.domain.errors import InvalidReference, NotFound, PreconditionFailed
from centrex.domain.tenancy import TenantScope

M = TypeVar("M", bound=TenantOwned)


class TenantRepository(Generic[M]):
    """Data access for one tenant-owned model; every method requires a ``TenantScope``."""

    model: ClassVar[type[Any]]
    sortable: ClassVar[dict[str, InstrumentedAttribute[Any]]] = {}
    default_sort: ClassVar[str] = "id"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def scoped(self, scope: TenantScope) -> Select[Any]:
        return select(self.model).where(self.model.tenant_id == scope.tenant_id)

    async def get(self, scope: TenantScope, obj_id: str) -> M:
        obj = await self.find(scope, self.model.id == obj_id)
        if obj is None:
            raise NotFound.of(self.model.__resource__, obj_id)
        return obj

    async def find(self, scope: TenantScope, *where: ColumnElement[bool]) -> M | None:
        result = await self.session.execute(self.scoped(scope).where(*where).limit(1))
        obj: M | None = result.scalar_one_or_none()
        return obj

    async def reference(self, scope: TenantScope, obj_id: str, field: str) -> M:
        """Resolve an id given in an input field: must exist in the same tenant (else 422 invalid_reference)."""
        obj = await self.find(scope, self.model.id == obj_id)
        if obj is None:
            raise InvalidReference.field(
                field, f"no {self.model.__resource__} {obj_id!r} in this tenant", "invalid_reference"
            )
        return obj

    async def count(self, scope: TenantScope, *where: ColumnElement[bool]) -> int:
        stmt = select(func.count()).select_from(self.model).where(self.model.tenant_id == scope.tenant_id, *where)
        return int(await self.session.scalar(stmt) or 0)

    async def page(self, scope: TenantScope, params: PageParams, *where: ColumnElement[bool]) -> PageResult[M]:
        sortable = {"id": self.model.id, "created_at": self.model.created_at, **self.sortable}
        return await paginate(
            self.session, self.scoped(scope).where(*where), self.model.id, params, sortable, self.default_sort
        )

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj

    async def delete(self, obj: M) -> None:
        await self.session.delete(obj)
        await self.session.flush()


def check_etag(obj: Resource, if_match: str | None) -> None:
    """Refuse the change (412) when ``If-Match`` is given and is not the object's current ETag."""
    if if_match is None:
        return
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates:
        return
    current = obj.etag
    if not any(c == current or c.removeprefix("W/") == current for c in candidates):
        raise PreconditionFailed(
            f"If-Match {if_match} does not match the current ETag {current}; fetch the object again"
        )


def apply_changes(obj: Any, changes: dict[str, Any]) -> list[str]:
    """Set each attribute whose value differs; return the names of those that changed."""
    changed = []
    for key, value in changes.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(key)
    return changed
