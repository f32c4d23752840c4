"""``/api/v1/tenants/{tenant_id}/contacts`` (+ find by number, CSV export; the list also answers ``Accept: text/csv``).

The list is answered fresh on every request (it varies with the ``Accept`` header, which the response cache does
not key on); ``find`` and ``export.csv`` have URLs of their own and are cached like other reads.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from starlette.requests import Request

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.response_cache import cached
from centrex.api.route import CentrexRoute
from centrex.resources.contacts import csvio
from centrex.resources.contacts.schemas import (
    ContactCreate,
    ContactFilters,
    ContactMatches,
    ContactOut,
    ContactUpdate,
)
from centrex.resources.contacts.service import ContactService
from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.media.httpio import without_route

TAG = {
    "name": "contacts",
    "description": "Contacts in phonebooks: typed numbers and e-mails, speed dial, tags; find by number; CSV export.",
}
BASE = "/tenants/{tenant_id}/contacts"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON page, or CSV when asked for with `Accept: text/csv`.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}

crud = tenant_router(
    ResourceSpec(
        plural="contacts",
        service=ContactService,
        create=ContactCreate,
        update=ContactUpdate,
        filters=ContactFilters,
    )
)
without_route(crud, "GET", BASE)  # replaced below by a list that can also answer in CSV
extra = APIRouter(prefix=BASE, tags=["contacts"], route_class=CentrexRoute)


async def _svc(uow: UowDep, state: StateDep) -> ContactService:
    return ContactService(uow, state)


Svc = Annotated[ContactService, Depends(_svc)]
Filters = Annotated[ContactFilters, Query()]


def wants_csv(request: Request) -> bool:
    """Does the ``Accept`` header prefer ``text/csv`` over JSON?"""
    best: dict[str, tuple[float, int]] = {}
    for position, item in enumerate(request.headers.get("accept", "").split(",")):
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best.setdefault(media.lower(), (q, position))
    csv_q, csv_pos = best.get("text/csv", (0.0, 0))
    json = max((best[m] for m in ("application/json", "application/*", "*/*") if m in best), default=(0.0, 0))
    return csv_q > 0 and (csv_q > json[0] or (csv_q == json[0] and csv_pos < json[1]))


def csv_response(body: str, filename: str, total: int) -> Response:
    return Response(
        content=body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Total-Count": str(total)},
    )


@extra.get(
    "",
    response_model=Page[ContactOut],
    summary="List contacts",
    description="With `Accept: text/csv` the same page is returned as CSV (the columns of `export.csv`).",
    dependencies=[Depends(require("contacts.read"))],
    responses=CSV_RESPONSE,
)
async def list_contacts(
    request: Request,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    result = await svc.list(scope, filters, page)
    if wants_csv(request):
        return csv_response(csvio.export(result.items), "contacts.csv", result.total)
    return page_body(response, result, svc.present)


@extra.get(
    "/find",
    response_model=ContactMatches,
    summary="Find contacts by phone number",
    description="Contacts with a number equal to the digits of `number`, or ending with them (3CX `contact.find`); "
    "exact matches first, at most 100. Fewer digits than `min_length` find nothing.",
    dependencies=[Depends(require("contacts.read"))],
)
@cached("contacts", "phonebooks")
async def find_contacts(
    scope: TenantScopeDep,
    svc: Svc,
    number: Annotated[str, Query(min_length=1, max_length=32, description="Any notation; only digits count.")],
    min_length: Annotated[int, Query(ge=1, le=32, description="Fewest digits that may match.")] = 3,
    phonebook_id: Annotated[str | None, Query(max_length=40)] = None,
) -> ContactMatches:
    digits, found = await svc.find(scope, number, min_length, phonebook_id)
    return ContactMatches(number=digits, items=[ContactOut.model_validate(c) for c in found])


@extra.get(
    "/export.csv",
    response_class=Response,
    summary="Export contacts as CSV",
    description="Every contact matching the filters (at most 100,000), in the columns the import reads.",
    dependencies=[Depends(require("contacts.read"))],
    responses={200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
@cached("contacts", "phonebooks")
async def export_contacts(scope: TenantScopeDep, svc: Svc, filters: Filters) -> Response:
    rows = await svc.export_rows(scope, filters)
    return csv_response(csvio.export(rows), "contacts.csv", len(rows))


router = APIRouter()
router.include_router(extra)
router.include_router(crud)
