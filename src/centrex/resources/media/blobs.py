"""Audio blobs that follow the request's transaction, and their garbage collection: written blobs vanish if the
transaction rolls back; blobs that no row uses any more are deleted once it commits.

The blob store is outside the database, so a request that fails must not leave a file behind, and a delete that is
rolled back must not lose one. Blobs are shared by content (template copies, the same greeting uploaded twice), so a
blob is deleted only when no row of any table with a ``blob_sha256`` column still names it.

- ``install(db, store)`` (at start-up) gives every session of the database the blob store, so that garbage is
  collected whatever deletes the rows: a media file, a voicemail message, a mailbox (its messages go by cascade), an
  extension (its personal mailbox), or a whole tenant.
- ``store(session, blobs, wav)`` after the rows are flushed (validation done): the file is written at once; if the
  transaction then rolls back, a file this transaction created is removed again — unless another open transaction
  in this process wrote the same content, or a transaction that used it committed meanwhile.
- Every flush notes the digests its deletes and changes may free (``before_flush``: the rows' own digests, and the
  digests of the rows that the database will delete by cascade). Just before the commit the digests that no row
  still uses are chosen (seen from inside the transaction); they are deleted right after the commit, unless an open
  transaction of this process has just written the same content. ``release`` adds candidates explicitly.
- ``sweep(session, store, min_age)`` collects what escaped (a process killed between writing a blob and committing):
  every blob older than ``min_age`` seconds that no row names.

Across processes sharing one blob directory a narrow race remains (identical audio uploaded in one process while
another deletes its last user); it can only remove a file whose content is being re-uploaded at that moment.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session, UOWTransaction

from centrex.db.base import Base
from centrex.db.engine import Database
from centrex.db.models.extension import Extension
from centrex.db.models.tenant import Tenant
from centrex.db.models.voicemail import VoicemailBox, VoicemailMessage
from centrex.db.tracking import TrackedSession
from centrex.storage.blobs import BlobStore

_KEY = "centrex.media.blobs"
STORE_KEY = "centrex.blob_store"
_pending: Counter[str] = Counter()  # digests written by transactions of this process that are still open
_committed: dict[str, float] = {}  # digest → when a transaction that wrote it last committed (monotonic)
_COMMITTED_KEEP = 600.0


@dataclass
class _State:
    blobs: BlobStore | None
    written: list[tuple[str, bool, float]] = field(default_factory=list)  # (digest, created by us, when)
    candidates: set[str] = field(default_factory=set)  # digests whose last user may be gone
    release: set[str] = field(default_factory=set)  # chosen before the commit: deleted after it
    chosen_at: float = 0.0  # when they were chosen (monotonic)


def install(db: Database, store: BlobStore) -> None:
    """Give every session of ``db`` the blob store, so that its deletes collect their blobs."""
    db.sessionmaker.configure(info={**db.sessionmaker.kw.get("info", {}), STORE_KEY: store})


def _store_of(session: Session | AsyncSession) -> BlobStore | None:
    store = session.info.get(STORE_KEY)
    return store if isinstance(store, BlobStore) else None


def _state(session: Session | AsyncSession, blobs: BlobStore | None = None) -> _State:
    state = session.info.get(_KEY)
    if not isinstance(state, _State):
        state = _State(blobs or _store_of(session))
        session.info[_KEY] = state
    elif state.blobs is None:
        state.blobs = blobs
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
    return await session.run_sync(_still_used, digests)


def _still_used(session: Session, digests: Iterable[str]) -> set[str]:
    used: set[str] = set()
    wanted = list(digests)
    for column in blob_columns():
        for i in range(0, len(wanted), 500):
            rows = session.execute(select(column).where(column.in_(wanted[i : i + 500])).distinct())
            used.update(str(d) for d in rows.scalars())
    return used


async def release(session: AsyncSession, blobs: BlobStore, digests: set[str]) -> None:
    """Consider ``digests`` for deletion after the commit (those that no row uses by then are deleted)."""
    digests = {d for d in digests if d}
    if digests:
        _state(session, blobs).candidates.update(digests)


# ------------------------------------------------------------------------------------------- session events
def _cascaded(session: Session, obj: Any) -> set[str]:
    """Digests of the rows the database deletes by cascade with ``obj`` (they never pass through the ORM)."""
    stmt: Any = None
    if isinstance(obj, VoicemailBox):
        stmt = select(VoicemailMessage.blob_sha256).where(VoicemailMessage.box_id == obj.id)
    elif isinstance(obj, Extension):
        boxes = select(VoicemailBox.id).where(VoicemailBox.owner_extension_id == obj.id)
        stmt = select(VoicemailMessage.blob_sha256).where(VoicemailMessage.box_id.in_(boxes))
    elif isinstance(obj, Tenant):
        found: set[str] = set()
        for column in blob_columns():
            owner_tenant = getattr(column.class_, "tenant_id")  # noqa: B009 - every blob user is tenant-owned
            rows = session.execute(select(column).where(owner_tenant == obj.id).distinct())
            found.update(str(d) for d in rows.scalars())
        return found
    if stmt is None:
        return set()
    return {str(d) for d in session.execute(stmt.distinct()).scalars()}


@event.listens_for(TrackedSession, "before_flush")
def _note_candidates(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    found: set[str] = set()
    for obj in session.deleted:
        digest = getattr(obj, "blob_sha256", None)
        if isinstance(digest, str):
            found.add(digest)
        found |= _cascaded(session, obj)
    for obj in session.dirty:
        if hasattr(type(obj), "blob_sha256"):  # audio replaced: the old digest may be unused now
            replaced = inspect(obj).attrs.blob_sha256.history.deleted or ()
            found.update(d for d in replaced if isinstance(d, str))
    if found:
        _state(session).candidates.update(found)


@event.listens_for(TrackedSession, "before_commit")
def _choose(session: Session) -> None:
    state = session.info.get(_KEY)
    if not isinstance(state, _State) or not state.candidates:
        return
    session.flush()  # the commit's own flush comes after this hook; candidates must be complete
    candidates = {d for d in state.candidates if d}
    state.chosen_at = time.monotonic()
    state.release = candidates - _still_used(session, candidates)


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
    if state.blobs is None:
        return
    for digest in state.release:
        # Not while another transaction of this process is writing the same content, nor when one that wrote it
        # committed after the choice (its row was not visible then).
        if _pending[digest] == 0 and _committed.get(digest, -1.0) < state.chosen_at:
            _unlink(state.blobs, digest)


@event.listens_for(TrackedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    state = session.info.pop(_KEY, None)
    if not isinstance(state, _State):
        return
    for digest, created, at in state.written:
        _done(digest)
        if created and state.blobs is not None and _pending[digest] == 0 and _committed.get(digest, -1.0) < at:
            _unlink(state.blobs, digest)


# -------------------------------------------------------------------------------------------------- sweep
async def sweep(session: AsyncSession, blobs: BlobStore, min_age: float = 3600.0) -> int:
    """Delete every blob older than ``min_age`` seconds that no row names and no open transaction of this process
    has written; returns how many were deleted. (For blobs left by a crash; normal deletes need no sweep.)"""
    now = time.time()
    old = {digest for digest, mtime in blobs.digests() if now - mtime >= min_age and _pending[digest] == 0}
    if not old:
        return 0
    unused = old - await still_used(session, old)
    return blobs.discard_unreferenced(unused, set())
