"""Following the event log for one client (SSE or WebSocket): filter, replay after an event id, then live.

``follow()`` subscribes to the bus *before* it replays the outbox rows after the resume point, then yields the live
events it buffered meanwhile, skipping those it already replayed (by id). So nothing committed between the replay
query and the live subscription is lost, and nothing is delivered twice at the seam. It also drops live duplicates
(the relay publishes at least once). Events older than the retention window are pruned: resuming from one is an
error (``ResumeExpired``) and the client must start afresh.

``StreamFilter`` applies the same tenant scoping as the REST API: a principal only ever sees its own tenant (tenant
administrators, users) or its sub-tree (reseller administrators); a platform administrator sees every tenant.
"""

from __future__ import annotations

import fnmatch
from collections import OrderedDict
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.engine import Database
from centrex.db.models.outbox import OutboxEvent
from centrex.domain.errors import DomainError, InvalidInput
from centrex.domain.tenancy import Principal, Role
from centrex.events.bus import Bus, Event, Subscription
from centrex.events.relay import _COLUMNS

REPLAY_PAGE = 500
# Ids a stream remembers to drop duplicates: the replay/live seam needs at most the subscriber queue (1,000 by
# default) plus a relay batch; 2,000 ids cost ≈ 130 KB per subscriber at most (10,000 cost 644 KB, bench/README.md).
DEDUP_WINDOW = 2_000
MAX_PATTERNS = 50
_TYPE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.*?")


class ResumeExpired(DomainError):
    status = 410
    code = "resume_expired"
    title: ClassVar[str] = "Resume point no longer available"


@dataclass(frozen=True)
class TenantSelection:
    id: str
    path: str
    descendants: bool = False

    def matches(self, event: Event) -> bool:
        return event.tenant_id == self.id or (self.descendants and event.tenant_path.startswith(self.path))


@dataclass(frozen=True)
class StreamFilter:
    """What one client may see (``scope_path``) and asked for (tenants, type patterns, resource ids)."""

    scope_path: str | None  # None: everything (platform administrator)
    scope_exact: bool = False  # tenant-level principals see their own tenant only
    tenants: tuple[TenantSelection, ...] = ()
    types: tuple[str, ...] = ()
    resource_ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_principal(
        cls,
        principal: Principal,
        tenants: Iterable[TenantSelection] = (),
        types: Iterable[str] = (),
        resource_ids: Iterable[str] = (),
    ) -> StreamFilter:
        patterns = tuple(p.strip().lower() for p in types if p.strip())
        if len(patterns) > MAX_PATTERNS:
            raise InvalidInput.field("types", f"at most {MAX_PATTERNS} type patterns")
        for p in patterns:
            if len(p) > 80 or not set(p) <= _TYPE_CHARS:
                raise InvalidInput.field("types", f"{p!r} is not an event type pattern (e.g. `call.*`)")
        ids = frozenset(r.strip() for r in resource_ids if r.strip())
        if len(ids) > 500:
            raise InvalidInput.field("resource_ids", "at most 500 resource ids")
        if principal.role is Role.PLATFORM_ADMIN:
            return cls(None, False, tuple(tenants), patterns, ids)
        exact = principal.role in (Role.TENANT_ADMIN, Role.USER)
        return cls(principal.tenant_path, exact, tuple(tenants), patterns, ids)

    def visible(self, event: Event) -> bool:
        if self.scope_path is None:
            return True
        if self.scope_exact:
            return event.tenant_path == self.scope_path
        return event.tenant_path.startswith(self.scope_path)

    def matches(self, event: Event) -> bool:
        if not self.visible(event):
            return False
        if self.tenants and not any(t.matches(event) for t in self.tenants):
            return False
        if self.resource_ids and event.resource_id not in self.resource_ids:
            return False
        return not self.types or any(fnmatch.fnmatchcase(event.type, p) for p in self.types)

    def where(self) -> list[ColumnElement[bool]]:
        """The same filter in SQL (types only where they translate exactly; ``matches`` re-checks every row)."""
        out: list[ColumnElement[bool]] = []
        if self.scope_path is not None:
            out.append(
                OutboxEvent.tenant_path == self.scope_path
                if self.scope_exact
                else OutboxEvent.tenant_path.startswith(self.scope_path, autoescape=True)
            )
        if self.tenants:
            alts: list[ColumnElement[bool]] = []
            for t in self.tenants:
                alts.append(OutboxEvent.tenant_id == t.id)
                if t.descendants:
                    alts.append(OutboxEvent.tenant_path.startswith(t.path, autoescape=True))
            out.append(or_(*alts))
        if self.resource_ids:
            out.append(OutboxEvent.resource_id.in_(sorted(self.resource_ids)))
        if self.types:
            sql: list[ColumnElement[bool]] = []
            for p in self.types:
                if "*" not in p and "?" not in p:
                    sql.append(OutboxEvent.type == p)
                elif p.endswith("*") and "*" not in p[:-1] and "?" not in p:
                    sql.append(OutboxEvent.type.startswith(p[:-1], autoescape=True))
                else:
                    sql = []
                    break
            if sql:
                out.append(or_(*sql))
        return out

    def describe(self) -> dict[str, object]:
        return {
            "tenants": [t.id for t in self.tenants] or None,
            "types": list(self.types) or None,
            "resource_ids": sorted(self.resource_ids) or None,
        }


class _Recent:
    """Ids seen lately (bounded): live duplicates and the replay/live seam."""

    def __init__(self, size: int = DEDUP_WINDOW) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> bool:
        """False when ``event_id`` was already there."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


async def resume_seq(session: AsyncSession, event_id: str) -> int:
    """The position of ``event_id`` (an ``after``/``Last-Event-ID`` value); ``ResumeExpired`` when it is gone."""
    if not event_id or len(event_id) > 40:
        raise InvalidInput.field("after", "expected an event id (`evt_…`)")
    seq = await session.scalar(select(OutboxEvent.seq).where(OutboxEvent.id == event_id))
    if seq is None:
        raise ResumeExpired(
            f"Event {event_id!r} is unknown or older than the retention window; reconnect without a resume point "
            "and re-read the current state through the API"
        )
    return int(seq)


def follow(
    db: Database,
    bus: Bus,
    filt: StreamFilter,
    after_seq: int | None,
    *,
    maxsize: int | None = None,
    keepalive: float = 15.0,
) -> Feed:
    """Events for this client: replay after ``after_seq`` (if given), then live. ``None`` is a keep-alive tick.

    Subscribes at once (before the caller answers the client), so that every event committed after the client got
    its answer is delivered. Iterating raises ``SubscriptionClosed`` when the bus drops the client (too slow) or
    stops. Call ``aclose()`` when done.
    """
    sub = bus.subscribe(filt.matches, maxsize)
    return Feed(sub, _follow(db, sub, filt, after_seq, keepalive))


class Feed:
    """An async iterator of ``Event | None`` that owns its bus subscription (closed by ``aclose`` even unstarted)."""

    def __init__(self, sub: Subscription, gen: AsyncGenerator[Event | None, None]) -> None:
        self.subscription = sub
        self._gen = gen

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> Event | None:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        try:
            await self._gen.aclose()
        finally:
            self.subscription.close()


async def _follow(
    db: Database, sub: Subscription, filt: StreamFilter, after_seq: int | None, keepalive: float
) -> AsyncGenerator[Event | None, None]:
    recent = _Recent(max(DEDUP_WINDOW, 2 * sub.maxsize))  # the seam: everything queued while replaying
    try:
        if after_seq is not None:
            cursor = after_seq
            conditions = filt.where()
            while True:
                async with db.session() as session:
                    query = select(*_COLUMNS).where(OutboxEvent.seq > cursor, *conditions).order_by(OutboxEvent.seq)
                    rows = (await session.execute(query.limit(REPLAY_PAGE))).all()
                for row in rows:
                    cursor = row.seq
                    event = Event.of(row)
                    if filt.matches(event) and recent.add(event.id):
                        yield event
                if len(rows) < REPLAY_PAGE:
                    break
        while True:
            live = await sub.get(keepalive)
            if live is None:
                yield None
            elif recent.add(live.id):
                yield live
    finally:
        sub.close()
