"""``/api/v1/tenants/{tenant_id}/cdrs`` (list, one record, ``export.csv``; the list also answers ``Accept:
text/csv``) and ``/api/v1/tenants/{tenant_id}/extensions/{extension_id}/missed-calls``. Read-only: the call
engine writes CDRs (``centrex.cdr.writer``)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from starlette.requests import Request

from centrex.api.deps import SessionDep, TenantScopeDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.response_cache import cached
from centrex.api.route import CentrexRoute
from centrex.resources.cdrs import csvio
from centrex.resources.cdrs.schemas import CdrFilters, CdrOut, MissedFilters
from centrex.resources.cdrs.service import MAX_EXPORT, CdrService
from centrex.resources.contacts.router import CSV_RESPONSE, csv_response, wants_csv

TAG = {
    "name": "cdrs",
    "description": "Call detail records: one per call with its legs; filters, CSV export, missed calls per extension.",
}
TABLES = ("cdrs", "extensions")
READ = [Depends(require("cdrs.read"))]

cdrs = APIRouter(prefix="/tenants/{tenant_id}/cdrs", tags=["cdrs"], route_class=CentrexRoute)
missed = APIRouter(prefix="/tenants/{tenant_id}/extensions", tags=["cdrs"], route_class=CentrexRoute)
CdrId = Annotated[str, Path(min_length=1, max_length=40, description="CDR id.")]
ExtensionId = Annotated[str, Path(min_length=1, max_length=40, description="Extension id.")]
Filters = Annotated[CdrFilters, Query()]


async def _svc(session: SessionDep) -> CdrService:
    return CdrService(session)


Svc = Annotated[CdrService, Depends(_svc)]


@cdrs.get(
    "",
    response_model=Page[CdrOut],
    summary="List call detail records",
    description="Newest first (`sort`: `started_at`, `duration_seconds`, `id`, `-` for descending). End users see "
    "only their own extension's calls. With `Accept: text/csv` the same page is returned as CSV.",
    dependencies=READ,
    responses=CSV_RESPONSE,
)
async def list_cdrs(
    request: Request,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    result = await svc.list_page(scope, filters, page)
    if wants_csv(request):
        return csv_response(csvio.export(result.items), "cdrs.csv", result.total)
    return page_body(response, result, svc.present)


@cdrs.get(
    "/export.csv",
    response_class=Response,
    summary="Export call detail records as CSV",
    description=f"Every record matching the filters (newest first, at most {MAX_EXPORT:,}).",
    dependencies=READ,
    responses={200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
@cached(*TABLES)
async def export_cdrs(scope: TenantScopeDep, svc: Svc, filters: Filters) -> Response:
    rows = await svc.export_rows(scope, filters)
    return csv_response(csvio.export(rows), "cdrs.csv", len(rows))


@cdrs.get("/{cdr_id}", response_model=CdrOut, summary="Get a call detail record", dependencies=READ)
@cached(*TABLES)
async def get_cdr(cdr_id: CdrId, scope: TenantScopeDep, svc: Svc) -> CdrOut:
    return svc.present(await svc.get(scope, cdr_id))


@missed.get(
    "/{extension_id}/missed-calls",
    response_model=Page[CdrOut],
    summary="Missed calls of an extension",
    description="Inbound and internal calls to the extension with disposition `no_answer`, `cancelled` or `busy`, "
    "newest first. End users reach only their own extension.",
    dependencies=READ,
)
@cached(*TABLES)
async def missed_calls(
    extension_id: ExtensionId,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    filters: Annotated[MissedFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    result = await svc.missed(scope, extension_id, filters, page)
    return page_body(response, result, svc.present)


router = APIRouter()
router.include_router(cdrs)
router.include_router(missed)
