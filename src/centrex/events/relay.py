"""The outbox relay: publishes committed ``outbox_events`` rows to the bus, in ``seq`` order, at least once.

- Wakes at once when a commit in this process wrote events (``Database.commit_hooks``) and otherwise polls every
  ``poll_interval`` seconds (events written by other processes).
- Reads unpublished rows (``published_at IS NULL``) oldest first, publishes each, then marks the published ones. A
  crash between publishing and marking republishes those events after the restart: consumers deduplicate by id
  (NATS does it server-side through ``Nats-Msg-Id``).
- One relay at a time per database: on PostgreSQL each batch runs in a transaction that first takes a
  transaction-scoped advisory lock (``pg_try_advisory_xact_lock``); a process that does not get it leaves the batch
  to the one that did. SQLite is one process by design; writes go through the database's write lock.
- ``prune()`` deletes published events older than the retention window (the resume window of the event stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.engine import Database
from centrex.db.models.outbox import OutboxEvent
from centrex.db.models.webhooks import WebhookCursor
from centrex.db.tracking import Changes
from centrex.db.types import utcnow
from centrex.events.bus import Bus, Event

log = logging.getLogger("centrex.events")

# Any constant shared by every Centrex process on one PostgreSQL database ("centrex" + "relay").
RELAY_LOCK_KEY = 0x63_65_6E_74_72_6C_79
# Columns in this order so that the statement reads like the other background outbox polls
# ("SELECT outbox_events.seq, outbox_events.tenant_id, outbox_events.resource_type, ...").
_COLUMNS = (
    OutboxEvent.seq,
    OutboxEvent.tenant_id,
    OutboxEvent.resource_type,
    OutboxEvent.id,
    OutboxEvent.type,
    OutboxEvent.tenant_path,
    OutboxEvent.resource_id,
    OutboxEvent.data,
    OutboxEvent.occurred_at,
    OutboxEvent.request_id,
)


class Relay:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        poll_interval: float = 0.15,
        batch: int = 500,
        retention_seconds: float = 7 * 86400.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.poll_interval = poll_interval
        self.batch = batch
        self.retention_seconds = retention_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.failures = 0

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.db.commit_hooks.append(self._committed)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.db.commit_hooks.remove(self._committed)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.drain()  # whatever the last requests committed

    def _committed(self, changes: Changes) -> None:
        if "outbox_events" in changes.tables:
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                self.failures += 1
                log.exception("outbox relay: publishing failed; retrying")
                await asyncio.sleep(min(5.0, 0.5 * self.failures))
            else:
                self.failures = 0

    async def drain(self) -> int:
        """Publish until nothing is left (or another process holds the relay lock)."""
        total = 0
        while True:
            n = await self.pump()
            total += n
            if n < self.batch:
                return total

    # ------------------------------------------------------------------------------------------ one batch
    async def pump(self) -> int:
        """Publish one batch of unpublished events; the number published."""
        if self.db.is_sqlite:
            async with self.db.session() as session:
                rows = await self._fetch(session)
            if not rows:
                return 0
            done, error = await self._publish(rows)
            if done:
                await self._mark_sqlite(done)
        else:
            async with self.db.session() as session:  # idle polls stay one cheap statement, without the lock
                probe = select(*_COLUMNS[:3]).where(OutboxEvent.published_at.is_(None)).limit(1)
                if (await session.execute(probe)).first() is None:
                    return 0
            async with self.db.session() as session, session.begin():
                got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RELAY_LOCK_KEY})
                if not got:
                    return 0
                rows = await self._fetch(session)
                done, error = await self._publish(rows)
                if done:
                    await self._mark(session, done)
        self.published += len(done)
        if error is not None:
            raise error
        return len(done)

    async def _fetch(self, session: AsyncSession) -> Sequence[Any]:
        query = select(*_COLUMNS).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.seq)
        return (await session.execute(query.limit(self.batch))).all()

    async def _publish(self, rows: Sequence[Any]) -> tuple[list[int], Exception | None]:
        """Publish in order; stop at the first failure (later events must not overtake it)."""
        done: list[int] = []
        for row in rows:
            try:
                await self.bus.publish(Event.of(row))
            except Exception as exc:
                return done, exc
            done.append(row.seq)
        return done, None

    async def _mark(self, session: AsyncSession, seqs: list[int]) -> None:
        now = utcnow()
        for i in range(0, len(seqs), 500):
            chunk = seqs[i : i + 500]
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.seq.in_(chunk))
                .values(published_at=now)
                .execution_options(synchronize_session=False)
            )

    async def _mark_sqlite(self, seqs: list[int]) -> None:
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with self.db.session() as session:
                await self._mark(session, seqs)
                await session.commit()
        finally:
            if lock is not None:
                lock.release()

    # ------------------------------------------------------------------------------------------ retention
    async def prune(self, chunk: int = 5000) -> int:
        """Delete published events older than the retention window; the number deleted."""
        cutoff = utcnow() - timedelta(seconds=self.retention_seconds)
        # never before the webhooks' fan-out has read an event (its cursor moves to the end when no webhook is on)
        fanned_out = select(WebhookCursor.last_seq).where(WebhookCursor.id == "fanout").scalar_subquery()
        total = 0
        while True:
            lock = self.db.write_lock
            if lock is not None:
                await lock.acquire()
            try:
                async with self.db.session() as session:
                    old = (
                        select(OutboxEvent.seq)
                        .where(
                            OutboxEvent.published_at.is_not(None),
                            OutboxEvent.published_at < cutoff,
                            OutboxEvent.seq <= fanned_out,
                        )
                        .order_by(OutboxEvent.seq)
                        .limit(chunk)
                    )
                    seqs = list((await session.execute(old)).scalars())
                    if seqs:
                        await session.execute(
                            delete(OutboxEvent)
                            .where(OutboxEvent.seq.in_(seqs))
                            .execution_options(synchronize_session=False)
                        )
                        await session.commit()
            finally:
                if lock is not None:
                    lock.release()
            total += len(seqs)
            if len(seqs) < chunk:
                if total:
                    log.info("pruned %d published events older than %.1f days", total, self.retention_seconds / 86400)
                return total
