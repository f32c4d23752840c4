"""HTTP helpers of the upload and download endpoints: upload bodies (``multipart/form-data`` with a part named
``file`` plus text fields, or a raw body of an accepted type), audio answers with a digest ETag, and route tweaks.

Shared by the media, voicemail message and contact import endpoints. The body has already been capped by the HTTP
edge (``max_upload_bytes``); this module parses it strictly — a bounded number of parts, bounded part headers,
no duplicate or unknown fields — and reports every problem as a 4xx (422 for a malformed form, 415 for a content
type the endpoint does not take). Text fields are validated with a Pydantic model so that errors name the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from centrex.api.problems import PROBLEM_MEDIA_TYPE, Problem
from centrex.domain.errors import FieldError, InvalidInput
from centrex.media.audiofile import UnsupportedMediaType

MAX_PARTS = 16
MAX_PART_HEADER = 8192
FILE_FIELD = "file"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None  # as sent: sanitise before storing
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None  # as sent: sanitise before storing
    fields: dict[str, str]  # the form's text fields (empty for a raw body)


def _malformed(message: str) -> InvalidInput:
    return InvalidInput.field("body", f"malformed multipart/form-data: {message}", "malformed_multipart")


def _boundary(content_type: str) -> bytes:
    msg = Message()
    msg["content-type"] = content_type
    boundary = msg.get_boundary()
    if not boundary or len(boundary) > 70 or not boundary.isascii():
        raise _malformed("the Content-Type has no valid boundary")
    return boundary.encode("ascii")


def _headers(raw: bytes) -> Message:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return HeaderParser().parsestr(text)


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part]:
    """The parts of a ``multipart/form-data`` body by field name (RFC 7578)."""
    delimiter = b"--" + _boundary(content_type)
    if body.startswith(delimiter):
        pos = len(delimiter)
    else:
        first = body.find(b"\r\n" + delimiter)
        if first < 0:
            raise _malformed("no part starts with the boundary")
        pos = first + 2 + len(delimiter)
    parts: dict[str, Part] = {}
    while True:
        if body[pos : pos + 2] == b"--":
            return parts
        while body[pos : pos + 1] in (b" ", b"\t"):
            pos += 1
        if body[pos : pos + 2] != b"\r\n":
            raise _malformed("a boundary line is not followed by a line break")
        pos += 2
        head_end = body.find(b"\r\n\r\n", pos, pos + MAX_PART_HEADER)
        if head_end < 0:
            raise _malformed("a part has no headers, or headers longer than 8 KiB")
        headers = _headers(body[pos:head_end])
        start = head_end + 4
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise _malformed("the last part is not closed by the boundary")
        if headers.get_content_disposition() != "form-data":
            raise _malformed("a part has no 'Content-Disposition: form-data' header")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise _malformed("a part has no field name")
        if name in parts:
            raise InvalidInput.field(name, "given more than once", "duplicate_field")
        if len(parts) >= MAX_PARTS:
            raise _malformed(f"more than {MAX_PARTS} parts")
        filename = headers.get_filename()
        ctype = headers.get("content-type")
        parts[name] = Part(name, filename, str(ctype) if ctype else None, body[start:end])
        pos = end + 2 + len(delimiter)


def _matches(mime: str, accepted: tuple[str, ...]) -> bool:
    return any(mime == t or (t.endswith("/") and mime.startswith(t)) for t in accepted)


async def read_upload(request: Request, *, fields: frozenset[str], raw_types: tuple[str, ...], what: str) -> Upload:
    """The uploaded file and form fields of ``request``.

    ``fields`` are the text fields a form may carry besides ``file``; ``raw_types`` the content types accepted as a
    raw body (``"audio/"`` matches every ``audio/*``). Anything else is a 415.
    """
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";")[0].strip().lower()
    if mime == "multipart/form-data":
        parts = parse_multipart(await request.body(), content_type)
        unknown = sorted(set(parts) - fields - {FILE_FIELD})
        if unknown:
            raise InvalidInput(
                f"unknown form fields: {', '.join(unknown)}",
                [FieldError(name, "unknown field", "extra_forbidden") for name in unknown],
            )
        file = parts.get(FILE_FIELD)
        if file is None:
            raise InvalidInput.field(FILE_FIELD, f"missing: send {what} in a form part named 'file'", "missing")
        values: dict[str, str] = {}
        for name, part in parts.items():
            if name == FILE_FIELD:
                continue
            try:
                values[name] = part.data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput.field(name, "not UTF-8 text", "invalid_encoding") from None
        return Upload(file.data, file.filename, values)
    if _matches(mime, raw_types):
        return Upload(await request.body(), None, {})
    accepted = ", ".join(t + "*" if t.endswith("/") else t for t in raw_types)
    raise UnsupportedMediaType(
        f"Send {what} as multipart/form-data (a part named 'file') or as a raw body ({accepted}); "
        f"got {mime or 'no Content-Type'}"
    )


def validate(model: type[M], data: dict[str, Any]) -> M:
    """``model`` from form or query values, with Pydantic's errors as a 422 naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "body"
            msg = "unknown field" if err.get("type") == "extra_forbidden" else str(err.get("msg", "invalid"))
            errors.append(FieldError(loc, msg, str(err.get("type", "invalid"))))
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise InvalidInput(summary or "invalid input", errors) from None


def problem(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem document (statuses beyond the API's common ones)."""
    return {"model": Problem, "description": description, "content": {PROBLEM_MEDIA_TYPE: {}}}


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: problem("The upload is larger than the server's upload limit."),
    415: problem("A request content type this endpoint does not take (send a form or an audio body)."),
    503: problem("The server lacks the audio tool needed (sox, its MP3 support, or espeak-ng)."),
}


AUDIO_TYPES = ("audio/", "application/octet-stream")
AUDIO_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The audio: 8 kHz mono 16-bit PCM WAV. The ETag is the SHA-256 digest of the bytes.",
        "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "Not modified (If-None-Match matched the digest)."},
}


def upload_body(fields: dict[str, Any], raw: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` documenting an upload: a multipart form with ``file`` plus ``fields``, or a raw body."""
    form = {
        "type": "object",
        "required": [FILE_FIELD, *required],
        "properties": {FILE_FIELD: {"type": "string", "format": "binary"}, **fields},
        "additionalProperties": False,
    }
    content: dict[str, Any] = {"multipart/form-data": {"schema": form}}
    for mime in raw:
        content[mime] = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": content}}


def audio_response(request: Request, data: bytes, digest: str, name: str) -> Response:
    """The audio with its digest as ETag (``If-None-Match`` answers 304) and a safe download file name."""
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate"}
    candidates = [c.strip().removeprefix("W/") for c in request.headers.get("if-none-match", "").split(",")]
    if etag in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    base = name if name.lower().endswith(".wav") else f"{name}.wav"
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in base)
    headers["Content-Disposition"] = f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(base, safe='')}"
    return Response(content=data, media_type="audio/wav", headers=headers)


def without_route(router: APIRouter, method: str, path: str) -> None:
    """Remove a generated route (e.g. the JSON create of a resource that is created by upload)."""
    router.routes[:] = [
        r for r in router.routes if not (isinstance(r, APIRoute) and r.path == path and method in (r.methods or ()))
    ]
