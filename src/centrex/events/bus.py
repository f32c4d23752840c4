"""The event bus: what the outbox relay publishes to and what the event stream (SSE/WebSocket) listens on.

- ``Event``: one published event (an outbox row), with its wire envelope (``envelope()``).
- ``InProcessBus`` (the default): fan-out to subscribers in this process. Each subscriber has a bounded queue; a
  subscriber that falls behind by more than its queue is closed with a reason (``SubscriptionClosed``) instead of
  slowing down the publisher or anybody else.
- ``NatsBus`` (``CENTREX_NATS_URL`` set, in ``centrex.events.natsbus``): publishes to NATS JetStream and feeds local
  subscribers from the stream, so every process sees the events of every relay.

Delivery is at least once: consumers deduplicate by ``Event.id``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

log = logging.getLogger("centrex.events")

ENVELOPE_VERSION = 1
SLOW_CONSUMER = "slow consumer: more than {n} events waiting; reconnect and resume with the last event id"
BUS_STOPPED = "event bus stopped (server shutting down)"


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    seq: int
    type: str
    tenant_id: str | None
    tenant_path: str
    resource_type: str
    resource_id: str
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    version: int = ENVELOPE_VERSION

    @classmethod
    def of(cls, row: Any) -> Event:
        """From an ``OutboxEvent`` row (or anything with the same attributes)."""
        return cls(
            id=row.id,
            seq=row.seq,
            type=row.type,
            tenant_id=row.tenant_id,
            tenant_path=row.tenant_path,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            occurred_at=row.occurred_at,
            data=dict(row.data or {}),
            request_id=row.request_id,
        )

    def envelope(self) -> dict[str, Any]:
        """The public shape (``EventEnvelope`` in the catalogue)."""
        occurred = self.occurred_at if self.occurred_at.tzinfo else self.occurred_at.replace(tzinfo=UTC)
        return {
            "id": self.id,
            "seq": self.seq,
            "type": self.type,
            "version": self.version,
            "tenant_id": self.tenant_id,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
            "data": self.data,
            "request_id": self.request_id,
        }

    def to_json(self) -> bytes:
        """Wire form between processes (NATS): the envelope plus the tenant path used for scoping."""
        return orjson.dumps({**self.envelope(), "tenant_path": self.tenant_path})

    @classmethod
    def from_json(cls, raw: bytes) -> Event:
        doc = orjson.loads(raw)
        occurred = datetime.fromisoformat(str(doc["occurred_at"]).replace("Z", "+00:00"))
        return cls(
            id=doc["id"],
            seq=int(doc["seq"]),
            type=doc["type"],
            tenant_id=doc.get("tenant_id"),
            tenant_path=doc.get("tenant_path") or "/",
            resource_type=doc["resource_type"],
            resource_id=doc["resource_id"],
            occurred_at=occurred,
            data=doc.get("data") or {},
            request_id=doc.get("request_id"),
            version=int(doc.get("version", ENVELOPE_VERSION)),
        )


class SubscriptionClosed(Exception):
    """The subscription ended; ``reason`` says why (slow consumer, shutdown)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Match = Callable[[Event], bool]


class Subscription:
    """One subscriber's bounded queue. ``get()`` waits for the next event; it raises once the subscription closed."""

    def __init__(self, bus: InProcessBus, match: Match | None, maxsize: int) -> None:
        self._bus = bus
        self.match = match
        self.maxsize = maxsize
        self._items: deque[Event] = deque()
        self._wake = asyncio.Event()
        self.closed: str | None = None
        self.delivered = 0

    def offer(self, event: Event) -> bool:
        """Called by the bus (never blocks). False when this subscriber overflowed and was dropped."""
        if self.closed is not None:
            return True
        if self.match is not None and not self.match(event):
            return True
        if len(self._items) >= self.maxsize:
            self.close(SLOW_CONSUMER.format(n=self.maxsize))
            return False
        self._items.append(event)
        self._wake.set()
        return True

    async def get(self, idle: float | None = None) -> Event | None:
        """The next event, or None after ``idle`` seconds without one (a keep-alive tick)."""
        while not self._items:
            if self.closed is not None:
                raise SubscriptionClosed(self.closed)
            self._wake.clear()
            if idle is None:
                await self._wake.wait()
            else:
                try:
                    await asyncio.wait_for(self._wake.wait(), idle)
                except TimeoutError:
                    if self._items or self.closed is not None:
                        continue
                    return None
        if self.closed is not None and self.closed != BUS_STOPPED:
            raise SubscriptionClosed(self.closed)
        self.delivered += 1
        return self._items.popleft()

    def pending(self) -> int:
        return len(self._items)

    def close(self, reason: str = "closed by the subscriber") -> None:
        if self.closed is None:
            self.closed = reason
            if reason != BUS_STOPPED:
                self._items.clear()
            self._bus.discard(self)
        self._wake.set()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, event: Event) -> None: ...

    def subscribe(self, match: Match | None = None, maxsize: int | None = None) -> Subscription: ...


class InProcessBus:
    """Fan-out inside this process; ``publish`` never waits for a subscriber."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        self._subs: set[Subscription] = set()
        self.published = 0
        self.dropped = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for sub in list(self._subs):
            sub.close(BUS_STOPPED)

    async def publish(self, event: Event) -> None:
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        self.published += 1
        for sub in list(self._subs):
            if not sub.offer(event):
                self.dropped += 1
                log.warning("event subscriber dropped: %s", sub.closed)

    def subscribe(self, match: Match | None = None, maxsize: int | None = None) -> Subscription:
        sub = Subscription(self, match, maxsize or self.maxsize)
        self._subs.add(sub)
        return sub

    def discard(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)
