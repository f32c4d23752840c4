"""``/api/v1/tenants/{tenant_id}/audit-log`` and ``/api/v1/audit-log`` (the caller's whole sub-tree)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import ColumnElement, select

from centrex.api.deps import PrincipalDep, SessionDep, TenantScopeDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params, paginate
from centrex.api.route import CentrexRoute
from centrex.db.models.audit import AuditEntry
from centrex.domain.errors import PermissionDenied
from centrex.domain.tenancy import Role
from centrex.resources.fields import IsoDateTime

router = APIRouter(tags=["audit"], route_class=CentrexRoute)
Short = Annotated[str, StringConstraints(max_length=80)]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    tenant_id: str | None
    actor: str
    actor_name: str
    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    ip: str | None


class AuditFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    resource_type: Short | None = None
    resource_id: Short | None = None
    actor: Short | None = None
    action: Short | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None


SORTABLE = {"id": AuditEntry.seq, "at": AuditEntry.at}


def _where(f: AuditFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for name in ("resource_type", "resource_id", "actor", "action"):
        if getattr(f, name):
            conds.append(getattr(AuditEntry, name) == getattr(f, name))
    if f.since:
        conds.append(AuditEntry.at >= f.since)
    if f.until:
        conds.append(AuditEntry.at < f.until)
    return conds


async def _page(session: Any, response: Response, where: list[ColumnElement[bool]], page: PageParams) -> Any:
    result = await paginate(session, select(AuditEntry).where(*where), AuditEntry.seq, page, SORTABLE, "-id")
    return page_body(response, result, AuditOut.model_validate)


@router.get(
    "/tenants/{tenant_id}/audit-log",
    response_model=Page[AuditOut],
    dependencies=[Depends(require("audit.read"))],
    summary="A tenant's audit log (newest first)",
)
async def tenant_audit(
    response: Response,
    scope: TenantScopeDep,
    session: SessionDep,
    filters: Annotated[AuditFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    return await _page(session, response, [AuditEntry.tenant_id == scope.tenant_id, *_where(filters)], page)


@router.get(
    "/audit-log",
    response_model=Page[AuditOut],
    dependencies=[Depends(require("audit.read"))],
    summary="The audit log of the caller's whole sub-tree (platform and reseller administrators)",
)
async def tree_audit(
    response: Response,
    principal: PrincipalDep,
    session: SessionDep,
    filters: Annotated[AuditFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    if principal.role not in (Role.PLATFORM_ADMIN, Role.RESELLER_ADMIN):
        raise PermissionDenied("Only platform and reseller administrators read the sub-tree audit log")
    where = [AuditEntry.tenant_path.startswith(principal.tenant_path, autoescape=True), *_where(filters)]
    return await _page(session, response, where, page)
