"""``/api/v1/tenants/{tenant_id}/registrations``: the SIP contacts registered by the tenant's extensions (list,
read) and admin unregister (delete). Not cached: bindings change at registration speed."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from centrex.api.deps import TenantScopeDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.route import CentrexRoute
from centrex.resources.registrations.schemas import RegistrationFilters, RegistrationOut
from centrex.resources.registrations.service import RegistrationService

TAG = {
    "name": "registrations",
    "description": "SIP registrations (contacts) of extensions: user agent, contact, source address, expiry.",
}

router = APIRouter(prefix="/tenants/{tenant_id}/registrations", tags=["registrations"], route_class=CentrexRoute)
RegistrationId = Annotated[str, Path(min_length=1, max_length=40, description="Registration id.")]


async def _svc(uow: UowDep) -> RegistrationService:
    return RegistrationService(uow)


Svc = Annotated[RegistrationService, Depends(_svc)]


@router.get(
    "",
    response_model=Page[RegistrationOut],
    summary="List registered contacts",
    description="Live (unexpired) bindings, newest first by default; filter by `extension_id`. "
    "Sort by `created_at`, `expires_at`, `source_ip` or `id` (prefix `-` for descending).",
    dependencies=[Depends(require("registrations.read"))],
)
async def list_registrations(
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    filters: Annotated[RegistrationFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    result = await svc.list_live(scope, filters, page)
    numbers = await svc.numbers(scope, list(result.items))
    return page_body(response, result, lambda row: svc.present(row, numbers))


@router.get(
    "/{registration_id}",
    response_model=RegistrationOut,
    summary="Read a registered contact",
    dependencies=[Depends(require("registrations.read"))],
)
async def get_registration(registration_id: RegistrationId, scope: TenantScopeDep, svc: Svc) -> RegistrationOut:
    row = await svc.get(scope, registration_id)
    return svc.present(row, await svc.numbers(scope, [row]))


@router.delete(
    "/{registration_id}",
    status_code=204,
    summary="Unregister a contact",
    description="Removes the binding at once: calls stop reaching that contact until the phone registers again "
    "(which it does at its next refresh).",
    dependencies=[Depends(require("registrations.delete"))],
)
async def delete_registration(registration_id: RegistrationId, scope: TenantScopeDep, svc: Svc) -> Response:
    await svc.delete(scope, registration_id)
    return Response(status_code=204)
