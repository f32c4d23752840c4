"""Audio blobs that follow the request's transaction: written blobs vanish if it rolls back, released ones are
deleted only after it commits.

The blob store is outside the database, so a request that fails must not leave a file behind, and a delete that is
rolled back must not lose one. Services call:

- ``store(session, blobs, wav)`` after their rows are flushed (validation done): the file is written at once
  (content-addressed, so identical audio is one file); if the transaction then rolls back, a file this transaction
  created is removed again — unless another open transaction in this process wrote the same content, or a
  transaction that used it committed meanwhile.
- ``release(session, blobs, digests)`` after deleting or re-pointing rows: the digests that no row of any table with
  a ``blob_sha256`` column still uses (seen from inside the transaction) are deleted after the commit, unless an
  open transaction in this process has just written the same content.

Across processes sharing one blob directory a narrow race remains (identical audio uploaded in one process while
another deletes its last user); it can only remove a file whose content is being re-uploaded at that moment.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session

from centrex.db.base import Base
from centrex.db.tracking import TrackedSession
from centrex.storage.blobs import BlobStore

_KEY = "centrex.media.blobs"
_pending: Counter[str] = Counter()  # digests written by transactions of this process that are still open
_committed: dict[str, float] = {}  # digest → when a transaction that wrote it last committed (monotonic)
_COMMITTED_KEEP = 600.0


@dataclass
class _State:
    blobs: BlobStore
    written: list[tuple[str, bool, float]] = field(default_factory=list)  # (digest, created by us, when)
    release: set[str] = field(default_factory=set)


def _state(session: AsyncSession, blobs: BlobStore) -> _State:
    state = session.info.get(_KEY)
    if not isinstance(state, _State):
        state = _State(blobs)
        session.info[_KEY] = state
    return state


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store(session: AsyncSession, blobs: BlobStore, data: bytes) -> str:
    """Write ``data`` to the blob store as part of the session's transaction; returns its digest."""
    digest = digest_of(data)
    state = _state(session, blobs)
    created = not blobs.exists(digest)
    _pending[digest] += 1
    state.written.append((digest, created, time.monotonic()))
    blobs.put(data)
    return digest


def blob_columns() -> list[InstrumentedAttribute[str]]:
    """Every mapped ``blob_sha256`` column (media files, voicemail messages and any later user of blobs)."""
    return [
        mapper.class_.blob_sha256
        for mapper in Base.registry.mappers
        if "blob_sha256" in mapper.columns and hasattr(mapper.class_, "blob_sha256")
    ]


async def still_used(session: AsyncSession, digests: set[str]) -> set[str]:
    """Those of ``digests`` that some row (any tenant) still refers to, as seen by this transaction."""
    used: set[str] = set()
    for column in blob_columns():
        rows = await session.execute(select(column).where(column.in_(digests)).distinct())
        used.update(str(d) for d in rows.scalars())
    return used


async def release(session: AsyncSession, blobs: BlobStore, digests: set[str]) -> None:
    """Delete, after the commit, those of ``digests`` no row uses any more (call after the rows are flushed)."""
    digests = {d for d in digests if d}
    if not digests:
        return
    unused = digests - await still_used(session, digests)
    if unused:
        _state(session, blobs).release.update(unused)


def _unlink(blobs: BlobStore, digest: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        blobs.path(digest).unlink(missing_ok=True)


def _prune(now: float) -> None:
    if len(_committed) > 4096:
        for digest, at in list(_committed.items()):
            if now - at > _COMMITTED_KEEP:
                del _committed[digest]


def _done(digest: str) -> None:
    _pending[digest] -= 1
    if _pending[digest] <= 0:
        del _pending[digest]


@event.listens_for(TrackedSession, "after_commit")
def _after_commit(session: Session) -> None:
    state = session.info.pop(_KEY, None)
    if not isinstance(state, _State):
        return
    now = time.monotonic()
    for digest, _created, _at in state.written:
        _done(digest)
        _committed[digest] = now
    _prune(now)
    for digest in state.release:
        if _pending[digest] == 0:
            _unlink(state.blobs, digest)


@event.listens_for(TrackedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    state = session.info.pop(_KEY, None)
    if not isinstance(state, _State):
        return
    for digest, created, at in state.written:
        _done(digest)
        if created and _pending[digest] == 0 and _committed.get(digest, -1.0) < at:
            _unlink(state.blobs, digest)
