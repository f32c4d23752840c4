"""``/api/v1/tenants/{tenant_id}/voicemail-boxes/{box_id}/messages``: list, read, download, mark heard or move,
delete, and upload (import) of voicemail messages. (The mailboxes themselves are the voicemail-boxes slice's.)"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel
from starlette.requests import Request

from centrex.api.deps import IfMatch, StateDep, TenantScopeDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.response_cache import cached
from centrex.api.route import CentrexRoute
from centrex.resources.media.httpio import (
    AUDIO_RESPONSE,
    AUDIO_TYPES,
    UPLOAD_RESPONSES,
    audio_response,
    read_upload,
    upload_body,
    validate,
)
from centrex.resources.voicemail_messages.schemas import MessageFilters, MessageMeta, MessageOut, MessageUpdate
from centrex.resources.voicemail_messages.service import VoicemailMessageService

TAG = {
    "name": "voicemail-messages",
    "description": "Messages in a voicemail box: list, play, mark heard/unheard, move between folders, delete, upload.",
}
TABLES = ("voicemail_messages", "voicemail_boxes")

router = APIRouter(
    prefix="/tenants/{tenant_id}/voicemail-boxes/{box_id}/messages",
    tags=["voicemail-messages"],
    route_class=CentrexRoute,
)
BoxId = Annotated[str, Path(min_length=1, max_length=40, description="Voicemail box id.")]
MessageId = Annotated[str, Path(min_length=1, max_length=40, description="Message id.")]
META_FIELDS = frozenset({"caller_number", "caller_name", "received_at", "call_id"})
FORM_FIELDS: dict[str, Any] = {
    "caller_number": {"type": "string", "maxLength": 64},
    "caller_name": {"type": "string", "maxLength": 100},
    "received_at": {"type": "string", "format": "date-time"},
    "call_id": {"type": "string", "maxLength": 100},
}


async def _svc(uow: UowDep, state: StateDep) -> VoicemailMessageService:
    return VoicemailMessageService(uow, state)


Svc = Annotated[VoicemailMessageService, Depends(_svc)]


def _location(tenant_id: str, box_id: str, message_id: str) -> str:
    return f"/api/v1/tenants/{tenant_id}/voicemail-boxes/{box_id}/messages/{message_id}"


@router.get(
    "",
    response_model=Page[MessageOut],
    summary="List a mailbox's messages",
    dependencies=[Depends(require("voicemail_messages.read"))],
)
@cached(*TABLES)
async def list_messages(
    box_id: BoxId,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    filters: Annotated[MessageFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    result = await svc.list_in_box(scope, box_id, filters, page)
    return page_body(response, result, svc.present)


@router.post(
    "",
    status_code=201,
    response_model=MessageOut,
    summary="Upload a voicemail message",
    description="`multipart/form-data` with the audio in `file` (plus `caller_number`, `caller_name`, "
    "`received_at`, `call_id`), or a raw `audio/*` body with those as query parameters. Checked and converted "
    "like media; at most the box's `max_message_seconds`; a box holding `max_messages` refuses with 409.",
    dependencies=[Depends(require("voicemail_messages.create"))],
    responses=UPLOAD_RESPONSES,
    openapi_extra=upload_body(FORM_FIELDS, ("audio/wav", "audio/mpeg")),
)
async def upload_message(
    box_id: BoxId,
    request: Request,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    caller_number: Annotated[str | None, Query(max_length=64)] = None,
    caller_name: Annotated[str | None, Query(max_length=100)] = None,
    received_at: Annotated[str | None, Query(max_length=40, description="ISO-8601 with a zone.")] = None,
    call_id: Annotated[str | None, Query(max_length=100)] = None,
) -> BaseModel:
    upload = await read_upload(request, fields=META_FIELDS, raw_types=AUDIO_TYPES, what="the audio")
    query = {
        k: v
        for k, v in {
            "caller_number": caller_number,
            "caller_name": caller_name,
            "received_at": received_at,
            "call_id": call_id,
        }.items()
        if v is not None
    }
    meta = validate(MessageMeta, {**query, **upload.fields})
    msg = await svc.upload(scope, box_id, meta, upload.data, upload.filename)
    response.headers["Location"] = _location(scope.tenant_id, box_id, msg.id)
    response.headers["ETag"] = msg.etag
    return svc.present(msg)


@router.get(
    "/{message_id}",
    response_model=MessageOut,
    summary="Get a voicemail message",
    dependencies=[Depends(require("voicemail_messages.read"))],
)
@cached(*TABLES)
async def get_message(
    box_id: BoxId, message_id: MessageId, response: Response, scope: TenantScopeDep, svc: Svc
) -> BaseModel:
    msg = await svc.get_in_box(scope, box_id, message_id)
    response.headers["ETag"] = msg.etag
    return svc.present(msg)


@router.get(
    "/{message_id}/audio",
    response_class=Response,
    summary="Download a voicemail message's audio",
    dependencies=[Depends(require("voicemail_messages.read"))],
    responses=AUDIO_RESPONSE,
)
async def download_message(
    box_id: BoxId, message_id: MessageId, request: Request, scope: TenantScopeDep, svc: Svc
) -> Response:
    msg, data = await svc.audio(scope, box_id, message_id)
    return audio_response(request, data, msg.blob_sha256, f"voicemail-{msg.id}")


@router.patch(
    "/{message_id}",
    response_model=MessageOut,
    summary="Mark a message heard/unheard or move it to a folder",
    dependencies=[Depends(require("voicemail_messages.update"))],
)
async def update_message(
    box_id: BoxId,
    message_id: MessageId,
    body: MessageUpdate,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    if_match: IfMatch = None,
) -> BaseModel:
    msg = await svc.update_in_box(scope, box_id, message_id, body, if_match)
    response.headers["ETag"] = msg.etag
    return svc.present(msg)


@router.delete(
    "/{message_id}",
    status_code=204,
    summary="Delete a voicemail message",
    dependencies=[Depends(require("voicemail_messages.delete"))],
)
async def delete_message(
    box_id: BoxId, message_id: MessageId, scope: TenantScopeDep, svc: Svc, if_match: IfMatch = None
) -> Response:
    await svc.delete_in_box(scope, box_id, message_id, if_match)
    return Response(status_code=204)
