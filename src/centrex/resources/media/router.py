"""``/api/v1/tenants/{tenant_id}/media`` (upload, text to speech, metadata, audio download and replacement) and
``/api/v1/tenants/{tenant_id}/prompt-sets/{language}`` (the tenant's effective prompts)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel
from starlette.requests import Request

from centrex.api.deps import IfMatch, StateDep, TenantScopeDep, UowDep, require
from centrex.api.response_cache import cached
from centrex.api.route import CentrexRoute
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.media.httpio import (
    AUDIO_RESPONSE,
    AUDIO_TYPES,
    UPLOAD_RESPONSES,
    audio_response,
    read_upload,
    upload_body,
    validate,
    without_route,
)
from centrex.resources.media.schemas import (
    MediaFilters,
    MediaKind,
    MediaMeta,
    MediaOut,
    MediaTts,
    MediaUpdate,
    PromptSet,
)
from centrex.resources.media.service import MediaService

TAG = {
    "name": "media",
    "description": "Prompts, voicemail greetings and music on hold: upload (WAV/MP3, converted to 8 kHz), text to "
    "speech, download; per-language prompt sets.",
}
BASE = "/tenants/{tenant_id}/media"

media = tenant_router(
    ResourceSpec(
        plural="media",
        service=MediaService,
        create=MediaMeta,
        update=MediaUpdate,
        filters=MediaFilters,
        singular="media file",
    )
)
without_route(media, "POST", BASE)  # media files are created by upload or text to speech, not from JSON


async def _svc(uow: UowDep, state: StateDep) -> MediaService:
    return MediaService(uow, state)


Svc = Annotated[MediaService, Depends(_svc)]
META_FIELDS = frozenset({"name", "kind", "language", "prompt_key"})
FORM_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "kind": {"type": "string", "enum": ["prompt", "greeting", "moh", "system"]},
    "language": {"type": "string", "maxLength": 16},
    "prompt_key": {"type": "string", "maxLength": 64},
}
RAW_TYPES = ("audio/wav", "audio/x-wav", "audio/mpeg", "application/octet-stream")
NameQ = Annotated[str | None, Query(min_length=1, max_length=100, description="Raw uploads: the media name.")]
KindQ = Annotated[MediaKind | None, Query(description="Raw uploads: the kind (default prompt).")]
LanguageQ = Annotated[str | None, Query(max_length=16, description="Raw uploads: the language (en-US).")]
PromptKeyQ = Annotated[str | None, Query(max_length=64, description="Raw uploads: the prompt key.")]


def _query(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


@media.post(
    "",
    status_code=201,
    response_model=MediaOut,
    summary="Upload a media file",
    description="`multipart/form-data` with the audio in `file` (plus `name`, `kind`, `language`, `prompt_key`), "
    "or a raw `audio/*` body with the same fields as query parameters. WAV or MP3, recognised by content; "
    "stored as 8 kHz mono 16-bit PCM WAV; at most 10 minutes.",
    dependencies=[Depends(require("media.create"))],
    responses=UPLOAD_RESPONSES,
    openapi_extra=upload_body(FORM_FIELDS, RAW_TYPES),
)
async def upload_media(
    request: Request,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    name: NameQ = None,
    kind: KindQ = None,
    language: LanguageQ = None,
    prompt_key: PromptKeyQ = None,
) -> BaseModel:
    upload = await read_upload(request, fields=META_FIELDS, raw_types=AUDIO_TYPES, what="the audio")
    query = _query(name=name, kind=kind, language=language, prompt_key=prompt_key)
    meta = validate(MediaMeta, {**query, **upload.fields})
    obj = await svc.upload(scope, meta, upload.data, upload.filename)
    response.headers["Location"] = f"/api/v1/tenants/{scope.tenant_id}/media/{obj.id}"
    response.headers["ETag"] = obj.etag
    return svc.present(obj)


@media.post(
    "/tts",
    status_code=201,
    response_model=MediaOut,
    summary="Create a media file by text to speech",
    dependencies=[Depends(require("media.create"))],
    responses=UPLOAD_RESPONSES,
)
async def text_to_speech(body: MediaTts, response: Response, scope: TenantScopeDep, svc: Svc) -> BaseModel:
    obj = await svc.tts(scope, body)
    response.headers["Location"] = f"/api/v1/tenants/{scope.tenant_id}/media/{obj.id}"
    response.headers["ETag"] = obj.etag
    return svc.present(obj)


@media.get(
    "/{object_id}/audio",
    response_class=Response,
    summary="Download a media file's audio",
    dependencies=[Depends(require("media.read"))],
    responses=AUDIO_RESPONSE,
)
async def download_media(object_id: ObjectId, request: Request, scope: TenantScopeDep, svc: Svc) -> Response:
    row, data = await svc.audio(scope, object_id)
    return audio_response(request, data, row.blob_sha256, row.name)


@media.put(
    "/{object_id}/audio",
    response_model=MediaOut,
    summary="Replace a media file's audio",
    description="Same body as the upload (form fields other than `file` are not taken here). The id stays, so "
    "everything that refers to the file plays the new audio.",
    dependencies=[Depends(require("media.update"))],
    responses=UPLOAD_RESPONSES,
    openapi_extra=upload_body({}, RAW_TYPES),
)
async def replace_media_audio(
    object_id: ObjectId,
    request: Request,
    response: Response,
    scope: TenantScopeDep,
    svc: Svc,
    if_match: IfMatch = None,
) -> BaseModel:
    upload = await read_upload(request, fields=frozenset(), raw_types=AUDIO_TYPES, what="the audio")
    obj = await svc.replace_audio(scope, object_id, upload.data, upload.filename, if_match)
    response.headers["ETag"] = obj.etag
    return svc.present(obj)


prompt_sets = APIRouter(prefix="/tenants/{tenant_id}/prompt-sets", tags=["media"], route_class=CentrexRoute)
LanguagePath = Annotated[
    str,
    Path(max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="Language tag (`en-US`)."),
]
PromptKeyPath = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


@prompt_sets.get(
    "/{language}",
    response_model=PromptSet,
    summary="The tenant's effective prompts for a language",
    description="Every prompt key with the file that plays: the tenant's own media with that key and language, "
    "else the `system` prompt of the nearest tenant above (reseller, then platform).",
    dependencies=[Depends(require("media.read"))],
)
@cached("media_files")
async def get_prompt_set(language: LanguagePath, scope: TenantScopeDep, svc: Svc) -> PromptSet:
    found = await svc.prompt_set(scope, language)
    return PromptSet(language=language, prompts={key: entry for key, (entry, _row) in found.items()})


@prompt_sets.get(
    "/{language}/{prompt_key}/audio",
    response_class=Response,
    summary="Download the effective audio of a prompt",
    dependencies=[Depends(require("media.read"))],
    responses=AUDIO_RESPONSE,
)
async def download_prompt(
    language: LanguagePath, prompt_key: PromptKeyPath, request: Request, scope: TenantScopeDep, svc: Svc
) -> Response:
    row, data = await svc.prompt_audio(scope, language, prompt_key)
    return audio_response(request, data, row.blob_sha256, row.name)


router = APIRouter()
router.include_router(media)
router.include_router(prompt_sets)
