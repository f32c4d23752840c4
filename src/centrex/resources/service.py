"""``ResourceService``: the generic part of a tenant-owned resource's service (list, get, delete).

A slice subclasses it, names its repository, and writes ``create``/``update`` with its own rules. ``visible``
narrows what a principal may see inside the tenant (end users see only what belongs to their own extension).
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.api.pagination import PageParams, PageResult
from centrex.api.state import AppState
from centrex.db.base import TenantOwned
from centrex.db.models.tenant import Tenant
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import NotFound
from centrex.domain.tenancy import TenantScope
from centrex.resources.common import TenantRepository, check_etag

M = TypeVar("M", bound=TenantOwned)


class ResourceService(Generic[M]):
    repository: ClassVar[type[TenantRepository[Any]]]
    out_model: ClassVar[type[BaseModel]]
    created_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, uow: UnitOfWork, state: AppState) -> None:
        self.uow = uow
        self.state = state
        self.session: AsyncSession = uow.session
        self.repo: TenantRepository[M] = self.repository(self.session)
        # Secrets shown once in the create response (generated passwords, key material), by object id.
        self.once: dict[str, dict[str, Any]] = {}

    def present(self, obj: M) -> BaseModel:
        """The API representation of ``obj``."""
        return self.out_model.model_validate(obj)

    def present_created(self, obj: M) -> BaseModel:
        """The create response: the representation plus what is shown only once."""
        if self.created_model is None:
            return self.present(obj)
        return self.created_model(**self.present(obj).model_dump(), **self.once.get(obj.id, {}))

    @property
    def model(self) -> type[M]:
        model: type[M] = self.repo.model
        return model

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        """Extra conditions for what this principal may see inside the tenant (default: everything)."""
        return []

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        """Conditions from the list's typed filters."""
        return []

    async def list(self, scope: TenantScope, filters: BaseModel, page: PageParams) -> PageResult[M]:
        return await self.repo.page(scope, page, *self.visible(scope), *self.where(scope, filters))

    async def get(self, scope: TenantScope, obj_id: str) -> M:
        obj = await self.repo.find(scope, self.model.id == obj_id, *self.visible(scope))
        if obj is None:
            raise NotFound.of(self.model.__resource__, obj_id)
        return obj

    async def delete(self, scope: TenantScope, obj_id: str, if_match: str | None) -> None:
        obj = await self.get(scope, obj_id)
        check_etag(obj, if_match)
        await self.before_delete(scope, obj)
        await self.repo.delete(obj)

    async def before_delete(self, scope: TenantScope, obj: M) -> None:
        """Hook: refuse a delete with a domain error (references are checked generically anyway)."""

    async def tenant(self, scope: TenantScope, *, lock: bool = False) -> Tenant:
        """The scope's tenant row; ``lock`` takes a row lock (PostgreSQL) to serialise quota checks."""
        from sqlalchemy import select

        stmt = select(Tenant).where(Tenant.id == scope.tenant_id)
        if lock:
            stmt = stmt.with_for_update()
        tenant = (await self.session.execute(stmt)).scalar_one()
        return tenant
