"""Snapshots of each tenant's call flow, kept in memory until something they depend on changes.

- In this process, every commit reports what it changed (tables and tenants); affected snapshots are dropped at
  once, so the next call sees the change.
- Changes made by other processes are found by polling the outbox (one indexed query every ``poll_interval``
  seconds for all tenants), so they are visible in under a second.
- Concurrent misses for the same tenant load the snapshot once (single flight).
- ``tenant_of_did`` maps a dialled E.164 number to its tenant (negative answers are cached too).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from centrex.callflow import loader
from centrex.callflow.snapshot import TenantSnapshot
from centrex.db.engine import Database
from centrex.db.models import OutboxEvent, PhoneNumber
from centrex.db.tracking import Changes

TABLES = frozenset(
    {
        "extensions",
        "ring_groups",
        "queues",
        "queue_agents",
        "ivrs",
        "time_conditions",
        "voicemail_boxes",
        "conferences",
        "media_files",
        "trunks",
        "phone_numbers",
        "inbound_routes",
        "outbound_routes",
        "caller_id_blocks",
        "tenants",
    }
)
RESOURCES = frozenset(
    {
        "extension",
        "ring_group",
        "queue",
        "queue_agent",
        "ivr",
        "time_condition",
        "voicemail_box",
        "conference",
        "media",
        "trunk",
        "number",
        "inbound_route",
        "outbound_route",
        "caller_id_block",
        "tenant",
    }
)
# Changes to these reach beyond their own tenant (shared trunks, inherited suspension): drop every snapshot.
WIDE_TABLES = frozenset({"trunks", "tenants"})


class CallFlowCache:
    def __init__(self, db: Database, poll_interval: float = 0.5) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self._snaps: dict[str, TenantSnapshot] = {}
        self._inflight: dict[str, asyncio.Future[TenantSnapshot | None]] = {}
        self._dids: dict[str, str | None] = {}
        self.last_seq = 0
        self.loads = 0
        self.generation = 0  # bumped by every invalidation: a load that overlapped one is not kept

    # ------------------------------------------------------------------------------------------ reads
    def cached(self, tenant_id: str) -> TenantSnapshot | None:
        return self._snaps.get(tenant_id)

    async def snapshot(self, tenant_id: str) -> TenantSnapshot | None:
        snap = self._snaps.get(tenant_id)
        if snap is not None:
            return snap
        waiter = self._inflight.get(tenant_id)
        if waiter is not None:
            return await asyncio.shield(waiter)
        future: asyncio.Future[TenantSnapshot | None] = asyncio.get_running_loop().create_future()
        self._inflight[tenant_id] = future
        generation = self.generation
        try:
            async with self.db.session() as session:
                snap = await loader.load(session, tenant_id)
            self.loads += 1
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            self._inflight.pop(tenant_id, None)
        if snap is not None and generation == self.generation:
            self._snaps[tenant_id] = snap
        future.set_result(snap)
        return snap

    async def tenant_of_did(self, did: str) -> str | None:
        if did in self._dids:
            return self._dids[did]
        async with self.db.session() as session:
            owner = await session.scalar(select(PhoneNumber.tenant_id).where(PhoneNumber.number == did))
        if len(self._dids) > 500_000:
            self._dids.clear()
        self._dids[did] = owner
        return owner

    # ------------------------------------------------------------------------------------------ invalidation
    def invalidate(self, changes: Changes) -> None:
        tables = changes.tables & TABLES
        if not tables:
            return
        self.generation += 1
        if "phone_numbers" in tables:
            self._dids.clear()
        if tables & WIDE_TABLES:
            self._snaps.clear()
            return
        for tenant_id in changes.tenants:
            self._snaps.pop(tenant_id, None)

    def clear(self) -> None:
        self.generation += 1
        self._snaps.clear()
        self._dids.clear()

    async def start(self) -> None:
        """Begin polling after the newest event that already exists."""
        async with self.db.session() as session:
            self.last_seq = int(await session.scalar(select(func.max(OutboxEvent.seq))) or 0)

    async def poll(self) -> int:
        """Apply changes committed (by any process) since the last poll; returns how many events were read."""
        async with self.db.session() as session:
            rows: list[Any] = list(
                await session.execute(
                    select(OutboxEvent.seq, OutboxEvent.tenant_id, OutboxEvent.resource_type)
                    .where(OutboxEvent.seq > self.last_seq)
                    .order_by(OutboxEvent.seq)
                    .limit(5000)
                )
            )
        for seq, tenant_id, resource in rows:
            self.last_seq = max(self.last_seq, int(seq))
            if resource not in RESOURCES:
                continue
            self.generation += 1
            if resource in ("trunk", "tenant"):
                self._snaps.clear()
            elif tenant_id:
                self._snaps.pop(tenant_id, None)
            if resource == "number":
                self._dids.clear()
        return len(rows)
