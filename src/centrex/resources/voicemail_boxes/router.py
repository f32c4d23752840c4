"""``/api/v1/tenants/{tenant_id}/voicemail-boxes`` (+ setting or clearing a box's PIN)."""

from typing import Annotated

from fastapi import Depends, Response

from centrex.api.deps import IfMatch, StateDep, TenantScopeDep, UowDep, require
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.voicemail_boxes.schemas import (
    PinChange,
    VoicemailBoxCreate,
    VoicemailBoxFilters,
    VoicemailBoxOut,
    VoicemailBoxUpdate,
)
from centrex.resources.voicemail_boxes.service import VoicemailBoxService

TAG = {
    "name": "voicemail-boxes",
    "description": "Voicemail boxes: personal or shared, PIN, greetings, e-mail delivery, transcription, retention.",
}

router = tenant_router(
    ResourceSpec(
        plural="voicemail-boxes",
        service=VoicemailBoxService,
        create=VoicemailBoxCreate,
        update=VoicemailBoxUpdate,
        filters=VoicemailBoxFilters,
        singular="voicemail box",
    )
)


async def _svc(uow: UowDep, state: StateDep) -> VoicemailBoxService:
    return VoicemailBoxService(uow, state)


Svc = Annotated[VoicemailBoxService, Depends(_svc)]


@router.post(
    "/{object_id}/pin",
    response_model=VoicemailBoxOut,
    dependencies=[Depends(require("voicemail_boxes.pin"))],
    summary="Set or clear a voicemail box's PIN (end users: the box of their own extension)",
)
async def set_voicemail_box_pin(
    object_id: ObjectId,
    body: PinChange,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    if_match: IfMatch = None,
) -> VoicemailBoxOut:
    box = await svc.set_pin(scope, object_id, body, if_match)
    response.headers["ETag"] = box.etag
    return VoicemailBoxOut.model_validate(box)
