"""Registration reads and admin unregister: only live (unexpired) bindings of the scope's tenant are visible;
another tenant's registration is a 404 like a missing one. Writes come from the engine's registrar."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select

from centrex.api.pagination import PageParams, PageResult, paginate
from centrex.db.models.extension import Extension
from centrex.db.models.sip import SipRegistration
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import NotFound
from centrex.domain.tenancy import TenantScope
from centrex.resources.registrations.schemas import RegistrationFilters, RegistrationOut

SORTABLE = {
    "id": SipRegistration.id,
    "created_at": SipRegistration.created_at,
    "expires_at": SipRegistration.expires_at,
    "source_ip": SipRegistration.source_ip,
}


class RegistrationService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.session = uow.session

    @staticmethod
    def _live(scope: TenantScope) -> list[ColumnElement[bool]]:
        return [SipRegistration.tenant_id == scope.tenant_id, SipRegistration.expires_at > datetime.now(UTC)]

    async def list_live(
        self, scope: TenantScope, filters: RegistrationFilters, page: PageParams
    ) -> PageResult[SipRegistration]:
        conds = self._live(scope)
        if filters.extension_id:
            conds.append(SipRegistration.extension_id == filters.extension_id)
        stmt = select(SipRegistration).where(*conds)
        return await paginate(self.session, stmt, SipRegistration.id, page, SORTABLE, "-created_at")

    async def get(self, scope: TenantScope, registration_id: str) -> SipRegistration:
        row = (
            await self.session.execute(
                select(SipRegistration).where(*self._live(scope), SipRegistration.id == registration_id)
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound.of("registration", registration_id)
        return row

    async def delete(self, scope: TenantScope, registration_id: str) -> None:
        row = await self.get(scope, registration_id)
        await self.session.delete(row)
        await self.session.flush()

    async def numbers(self, scope: TenantScope, rows: list[SipRegistration]) -> dict[str, str]:
        ids = {r.extension_id for r in rows}
        if not ids:
            return {}
        result = await self.session.execute(
            select(Extension.id, Extension.number).where(Extension.tenant_id == scope.tenant_id, Extension.id.in_(ids))
        )
        return {row.id: row.number for row in result}

    @staticmethod
    def present(row: SipRegistration, numbers: dict[str, str]) -> RegistrationOut:
        left = (row.expires_at - datetime.now(UTC)).total_seconds()
        return RegistrationOut(
            id=row.id,
            tenant_id=row.tenant_id,
            extension_id=row.extension_id,
            extension_number=numbers.get(row.extension_id, ""),
            aor=row.aor,
            contact=row.contact,
            contact_uri=row.contact_uri,
            source_ip=row.source_ip,
            source_port=row.source_port,
            transport=row.transport,
            user_agent=row.user_agent,
            instance_id=row.instance_id,
            expires_at=row.expires_at,
            expires_in=max(0, round(left)),
            registered_at=row.created_at,
            updated_at=row.updated_at,
        )
