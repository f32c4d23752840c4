"""A read-through cache of GET responses, invalidated when the data behind them changes.

Endpoints opt in by naming the tables their answer depends on (``cached(...)``). An entry is keyed by the calling
credential and the full URL, so every entry was produced for that caller under the usual authentication, tenant
scope and permission checks; a hit still authenticates the credential first (revoked keys fail before the cache).

When many requests miss the same key at once (an entry just expired), one computes the answer and the others wait
for it instead of all running the query (single flight).

Invalidation: every commit in this process reports the tables it changed (``Database.commit_hooks``); entries that
depend on one of them are dropped at once, so a change is visible to the next request. Entries also expire after
``ttl`` seconds, which bounds staleness when another process made the change. A generation counter stops a request
that read old data from storing it after an invalidation that happened while it ran. Tables that every entry
depends on (tenants, users, API keys) are added to each entry's tags, because they decide who may see what.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

ALWAYS = frozenset({"tenants", "users", "api_keys"})
F = TypeVar("F", bound=Callable[..., Any])


def cached(*tables: str) -> Callable[[F], F]:
    """Mark an endpoint as cacheable; its answer depends on ``tables`` (besides tenants, users and keys)."""

    def mark(fn: F) -> F:
        fn.cache_tables = frozenset(tables) | ALWAYS  # type: ignore[attr-defined]
        return fn

    return mark


def cache_tables_of(endpoint: Callable[..., Any]) -> frozenset[str] | None:
    tables = getattr(endpoint, "cache_tables", None)
    return tables if isinstance(tables, frozenset) else None


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    tables: frozenset[str]
    expires: float


class ResponseCache:
    def __init__(self, ttl: float = 1.0, max_bytes: int = 64 * 1024 * 1024, max_entry: int = 1024 * 1024) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self.generation = 0
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self._inflight: dict[str, asyncio.Future[None]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key: str) -> CachedResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.expires <= time.monotonic():
            self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(
        self,
        key: str,
        generation: int,
        tables: frozenset[str],
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        if generation != self.generation or len(body) > self.max_entry:
            return
        if key in self._entries:
            self._drop(key)
        entry = CachedResponse(status, tuple(headers), body, tables, time.monotonic() + self.ttl)
        self._entries[key] = entry
        self._bytes += len(body)
        while self._bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    async def fill_or_wait(self, key: str) -> bool:
        """Single flight: True if the caller should compute the answer (and then call ``filled``); False after
        waiting for another request that was already computing it (look the key up again)."""
        waiter = self._inflight.get(key)
        if waiter is None:
            self._inflight[key] = asyncio.get_running_loop().create_future()
            return True
        await asyncio.shield(waiter)
        return False

    def filled(self, key: str) -> None:
        waiter = self._inflight.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def invalidate(self, touched: frozenset[str] | None = None) -> None:
        self.generation += 1
        if touched is None:
            self._entries.clear()
            self._bytes = 0
            return
        for key in [k for k, e in self._entries.items() if e.tables & touched]:
            self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)
