"""Pure ASGI middleware (no BaseHTTPMiddleware on the hot path): request ids, body size cap, per-IP rate limit."""

from __future__ import annotations

import math
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from centrex.api.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from centrex.security.ratelimit import TokenBuckets

_RID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _repeated_query_key(query: bytes) -> str | None:
    """The first query parameter name that occurs more than once (None when each occurs once)."""
    if not query:
        return None
    seen: set[str] = set()
    for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name
        seen.add(name)
    return None


async def _send_problem(
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    rid: str,
    headers: list[tuple[bytes, bytes]],
    errors: list[dict[str, str]] | None = None,
) -> None:
    problem: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "request_id": rid,
    }
    if errors is not None:
        problem["errors"] = errors
    body = orjson.dumps(problem)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


UPLOAD_TYPES = (b"multipart/form-data", b"audio/", b"text/csv", b"application/octet-stream")


class EdgeMiddleware:
    """Assigns ``X-Request-ID``, refuses bodies over the size cap (413) and throttles per client IP (429).

    JSON and other bodies are capped at ``max_body``; uploads (multipart, audio, CSV, octet-stream) at
    ``max_upload``. Upload endpoints narrow their own limit further with FastAPI's per-route ``max_body_size``.
    """

    def __init__(
        self, app: ASGIApp, *, max_body: int, ip_buckets: TokenBuckets | None, max_upload: int | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max(max_upload or max_body, max_body)
        self.ip_buckets = ip_buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _RID_RE.match(candidate):
                    rid = candidate
                break
        if not rid:
            rid = "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode())

        if self.ip_buckets is not None:
            client = scope.get("client")
            ip = client[0] if client else "unknown"
            ok, wait = self.ip_buckets.allow(ip)
            if not ok:
                await _send_problem(
                    send,
                    429,
                    "rate_limited",
                    "Too many requests",
                    "Too many requests from this address",
                    rid,
                    [(b"retry-after", str(max(1, math.ceil(wait))).encode())],
                )
                return

        repeated = _repeated_query_key(scope.get("query_string", b""))
        if repeated is not None:
            # No query parameter of the API takes a list: a repeated one is a mistake, not "the last one wins".
            await _send_problem(
                send,
                422,
                "validation_error",
                "Invalid input",
                f"The query parameter {repeated!r} is given more than once",
                rid,
                [],
                errors=[{"field": repeated, "message": "given more than once", "code": "repeated"}],
            )
            return

        limit = self.max_body
        declared = -1
        for name, value in scope["headers"]:
            if name == b"content-type" and value.lower().startswith(UPLOAD_TYPES):
                limit = self.max_upload
            elif name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
        if declared > limit:
            await _send_problem(
                send,
                413,
                "payload_too_large",
                "Payload too large",
                f"The request body exceeds {limit} bytes",
                rid,
                [],
            )
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException passes through FastAPI's body parsing untouched and becomes a 413 problem.
                    raise StarletteHTTPException(413, f"The request body exceeds {limit} bytes")
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append(rid_header)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, limited_receive, send_with_id)
