"""Tenant queries: visibility is the principal's sub-tree (materialised-path prefix)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.api.pagination import PageParams, PageResult, paginate
from centrex.db.models.number import PhoneNumber
from centrex.db.models.tenant import Tenant
from centrex.domain.errors import NotFound
from centrex.domain.tenancy import Principal, Role


def visible(principal: Principal) -> ColumnElement[bool]:
    if principal.role in (Role.USER, Role.TENANT_ADMIN):
        return Tenant.id == principal.tenant_id
    return Tenant.path.startswith(principal.tenant_path, autoescape=True)


class TenantRepository:
    sortable = {"id": Tenant.id, "code": Tenant.code, "name": Tenant.name, "created_at": Tenant.created_at}

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, principal: Principal, key: str) -> Tenant | None:
        stmt = select(Tenant).where(visible(principal), or_(Tenant.id == key, Tenant.code == key)).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, principal: Principal, key: str) -> Tenant:
        tenant = await self.find(principal, key)
        if tenant is None:
            raise NotFound.of("tenant", key)
        return tenant

    async def by_code(self, code: str) -> Tenant | None:
        return (await self.session.execute(select(Tenant).where(Tenant.code == code))).scalar_one_or_none()

    async def by_sip_domain(self, domain: str) -> Tenant | None:
        stmt = select(Tenant).where(Tenant.sip_domain == domain)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def children(self, tenant: Tenant) -> list[Tenant]:
        stmt = select(Tenant).where(Tenant.parent_id == tenant.id).order_by(Tenant.code).limit(100)
        return list((await self.session.execute(stmt)).scalars())

    async def derived_from(self, tenant: Tenant) -> list[Tenant]:
        stmt = select(Tenant).where(Tenant.template_id == tenant.id)
        return list((await self.session.execute(stmt)).scalars())

    async def numbers(self, tenant: Tenant) -> list[PhoneNumber]:
        stmt = select(PhoneNumber).where(PhoneNumber.tenant_id == tenant.id).order_by(PhoneNumber.number)
        return list((await self.session.execute(stmt)).scalars())

    async def page(self, principal: Principal, params: PageParams, *where: ColumnElement[bool]) -> PageResult[Any]:
        stmt = select(Tenant).where(visible(principal), *where)
        return await paginate(self.session, stmt, Tenant.id, params, self.sortable, "id")
