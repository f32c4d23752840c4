"""CDR reading rules: records of the scope's tenant only; end users see only their own extension's records (calls
to it, and internal calls from it) and only its missed calls; filters combine with AND; newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from centrex.api.pagination import PageParams, PageResult, paginate
from centrex.db.models.cdr import Cdr
from centrex.db.models.extension import Extension
from centrex.domain.errors import NotFound
from centrex.domain.tenancy import TenantScope
from centrex.resources.cdrs.schemas import MISSED, CdrFilters, CdrOut, MissedFilters

MAX_EXPORT = 100_000
SORTABLE = {"started_at": Cdr.started_at, "duration_seconds": Cdr.duration_seconds, "id": Cdr.id}
DEFAULT_SORT = "-started_at"
_NOISE = ("+", "-", " ", "(", ")", ".")


def _digits_of(column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]) -> ColumnElement[str]:
    expr: ColumnElement[str] = func.coalesce(column, "")
    for ch in _NOISE:
        expr = func.replace(expr, ch, "")
    return expr


def _number_matches(digits: str) -> ColumnElement[bool]:
    pattern = "%" + digits  # digits only: no LIKE wildcards to escape
    return or_(*(_digits_of(col).like(pattern) for col in (Cdr.caller_number, Cdr.callee_number, Cdr.did)))


class CdrService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def present(self, cdr: Cdr) -> CdrOut:
        return CdrOut.model_validate(cdr)

    async def _extension(self, scope: TenantScope, extension_id: str) -> Extension | None:
        stmt = select(Extension).where(Extension.tenant_id == scope.tenant_id, Extension.id == extension_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def _involving(self, scope: TenantScope, extension_id: str) -> ColumnElement[bool]:
        """Records of an extension: those about it, and internal calls it placed (matched by its number)."""
        ext = await self._extension(scope, extension_id)
        about = Cdr.extension_id == extension_id
        if ext is None:  # deleted since (history) or not this tenant's: only what names it
            return about
        return or_(about, and_(Cdr.direction == "internal", Cdr.caller_number == ext.number))

    async def _conditions(self, scope: TenantScope, filters: CdrFilters) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [Cdr.tenant_id == scope.tenant_id]
        own = scope.own_extension_only
        if own is not None:
            conds.append(await self._involving(scope, own))
        if filters.from_ is not None:
            conds.append(Cdr.started_at >= filters.from_)
        if filters.to is not None:
            conds.append(Cdr.started_at < filters.to)
        if filters.extension_id is not None:
            conds.append(await self._involving(scope, filters.extension_id))
        if filters.number is not None:
            conds.append(_number_matches(filters.number))
        if filters.direction is not None:
            conds.append(Cdr.direction == filters.direction)
        if filters.disposition is not None:
            conds.append(Cdr.disposition == filters.disposition)
        return conds

    async def _select(self, scope: TenantScope, filters: CdrFilters) -> Select[Any]:
        return select(Cdr).where(*await self._conditions(scope, filters))

    async def list_page(self, scope: TenantScope, filters: CdrFilters, page: PageParams) -> PageResult[Cdr]:
        stmt = await self._select(scope, filters)
        return await paginate(self.session, stmt, Cdr.id, page, SORTABLE, DEFAULT_SORT)

    async def get(self, scope: TenantScope, cdr_id: str) -> Cdr:
        conds = [Cdr.id == cdr_id, *await self._conditions(scope, CdrFilters())]
        cdr = (await self.session.execute(select(Cdr).where(*conds))).scalar_one_or_none()
        if cdr is None:
            raise NotFound.of("cdr", cdr_id)
        return cdr

    async def export_rows(self, scope: TenantScope, filters: CdrFilters) -> list[Cdr]:
        stmt = (await self._select(scope, filters)).order_by(Cdr.started_at.desc(), Cdr.id.desc()).limit(MAX_EXPORT)
        return list((await self.session.execute(stmt)).scalars())

    async def missed(
        self, scope: TenantScope, extension_id: str, filters: MissedFilters, page: PageParams
    ) -> PageResult[Cdr]:
        """Inbound or internal calls to the extension that nobody answered (no answer, cancelled, busy)."""
        own = scope.own_extension_only
        ext = await self._extension(scope, extension_id)
        if ext is None or (own is not None and own != extension_id):
            raise NotFound.of("extension", extension_id)
        conds: list[ColumnElement[bool]] = [
            Cdr.tenant_id == scope.tenant_id,
            Cdr.extension_id == extension_id,
            Cdr.direction.in_(("inbound", "internal")),
            Cdr.disposition.in_(MISSED),
        ]
        if filters.from_ is not None:
            conds.append(Cdr.started_at >= filters.from_)
        if filters.to is not None:
            conds.append(Cdr.started_at < filters.to)
        stmt = select(Cdr).where(*conds)
        return await paginate(self.session, stmt, Cdr.id, page, SORTABLE, DEFAULT_SORT)
