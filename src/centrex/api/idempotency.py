"""``Idempotency-Key`` on side-effecting POSTs.

The first response (status, body, a few headers) is stored with a digest of the request in the same transaction as
the change itself. A replay with the same key and the same request within the retention (24 h) returns the stored
response with ``Idempotent-Replayed: true`` and does nothing; the same key with a different request is a 422.
Keys are scoped to the calling credential.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from centrex.db.models.idempotency import IdempotencyRecord
from centrex.db.types import utcnow
from centrex.domain.errors import InvalidInput

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
HEADER = "idempotency-key"
_KEPT_HEADERS = ("content-type", "location", "etag")


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


def read_key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_RE.match(key):
        raise InvalidInput.field("Idempotency-Key", "must match ^[A-Za-z0-9_-]{1,128}$", code="invalid_idempotency_key")
    return key


async def request_digest(request: Request) -> str:
    h = hashlib.sha256()
    h.update(request.method.encode())
    h.update(b"\0" + request.url.path.encode() + b"\0" + request.url.query.encode() + b"\0")
    h.update(await request.body())
    return h.hexdigest()


async def replay(session: AsyncSession, scope: str, key: str, req_digest: str) -> Response | None:
    record = (
        await session.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        )
    ).scalar_one_or_none()
    if record is None:
        return None
    if record.expires_at <= utcnow():
        await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
        return None
    if record.request_hash != req_digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request",
            [],
        )
    headers = {k: str(v) for k, v in record.headers.items()}
    headers["idempotent-replayed"] = "true"
    return Response(record.body, status_code=record.status_code, headers=headers)


def remember(
    session: AsyncSession, scope: str, key: str, req_digest: str, response: Response, ttl_seconds: int
) -> None:
    now = utcnow()
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            request_hash=req_digest,
            status_code=response.status_code,
            headers={k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS},
            body=bytes(response.body),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )


async def purge_expired(session: AsyncSession) -> int:
    result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
