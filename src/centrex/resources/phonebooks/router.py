"""``/api/v1/tenants/{tenant_id}/phonebooks`` (+ CSV import of contacts into a phonebook)."""

from typing import Annotated

from fastapi import Depends, Query
from starlette.requests import Request

from centrex.api.deps import StateDep, TenantScopeDep, UowDep, require
from centrex.resources.contacts.schemas import ImportResult
from centrex.resources.contacts.service import ContactService
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.media.httpio import UPLOAD_RESPONSES, read_upload, upload_body
from centrex.resources.phonebooks.schemas import PhonebookCreate, PhonebookFilters, PhonebookUpdate
from centrex.resources.phonebooks.service import PhonebookService

TAG = {
    "name": "phonebooks",
    "description": "Contact sources: company-wide or personal phonebooks; CSV import with preview.",
}
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream")

router = tenant_router(
    ResourceSpec(
        plural="phonebooks",
        service=PhonebookService,
        create=PhonebookCreate,
        update=PhonebookUpdate,
        filters=PhonebookFilters,
    )
)


async def _contacts(uow: UowDep, state: StateDep) -> ContactService:
    return ContactService(uow, state)


Contacts = Annotated[ContactService, Depends(_contacts)]


@router.post(
    "/{object_id}/import",
    response_model=ImportResult,
    summary="Import contacts from CSV",
    description="A CSV body (`text/csv`) or `multipart/form-data` with the file in `file`. The header row maps "
    "columns to fields (first_name, last_name, company, title, mobile, mobile2, home, home2, business, business2, "
    "business_fax, home_fax, pager, other, email, email_home, email_other, speed_dial, tags, notes, and common "
    "aliases). Every line is validated first: if any is invalid nothing is saved and the errors name the lines, "
    "unless `skip_invalid=true`. `preview=true` saves nothing and returns what would be created. At most 10,000 "
    "lines per import.",
    dependencies=[Depends(require("contacts.create"))],
    responses={415: UPLOAD_RESPONSES[415]},
    openapi_extra=upload_body({}, ("text/csv",)),
)
async def import_contacts(
    object_id: ObjectId,
    request: Request,
    scope: TenantScopeDep,
    svc: Contacts,
    preview: Annotated[bool, Query(description="Validate only; save nothing.")] = False,
    skip_invalid: Annotated[bool, Query(description="Import the valid lines and report the others.")] = False,
) -> ImportResult:
    upload = await read_upload(request, fields=frozenset(), raw_types=CSV_TYPES, what="the CSV file")
    return await svc.import_csv(scope, object_id, upload.data, preview=preview, skip_invalid=skip_invalid)
