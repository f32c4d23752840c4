"""The GET response cache: per-table invalidation, TTL, the generation guard, the byte budget."""

from __future__ import annotations

import time

from centrex.api.response_cache import ALWAYS, ResponseCache, cache_tables_of, cached


def test_invalidation_by_table_and_generation_guard() -> None:
    cache = ResponseCache(ttl=60)
    ext = frozenset({"extensions"}) | ALWAYS
    dev = frozenset({"devices"}) | ALWAYS
    cache.put("a", cache.generation, ext, 200, [("etag", '"1"')], b"ext")
    cache.put("b", cache.generation, dev, 200, [], b"dev")
    hit = cache.get("a")
    assert hit is not None and hit.body == b"ext" and dict(hit.headers)["etag"] == '"1"'
    cache.invalidate(frozenset({"extensions"}))
    assert cache.get("a") is None and cache.get("b") is not None
    cache.invalidate(frozenset({"users"}))  # who-may-see-what tables drop everything
    assert cache.get("b") is None
    started = cache.generation
    cache.invalidate(frozenset({"audit_entries"}))  # a change during a request…
    cache.put("c", started, ext, 200, [], b"stale")  # …so what it read may be stale: not stored
    assert cache.get("c") is None


def test_ttl_and_byte_budget() -> None:
    cache = ResponseCache(ttl=0.05, max_bytes=10, max_entry=8)
    tables = frozenset({"x"})
    cache.put("big", cache.generation, tables, 200, [], b"123456789")
    assert cache.get("big") is None  # larger than one entry may be
    cache.put("a", cache.generation, tables, 200, [], b"123456")
    cache.put("b", cache.generation, tables, 200, [], b"123456")
    assert cache.get("a") is None and cache.get("b") is not None  # oldest evicted to fit the budget
    time.sleep(0.06)
    assert cache.get("b") is None
    assert not ResponseCache(ttl=0).enabled


def test_endpoints_opt_in() -> None:
    @cached("extensions")
    async def listing() -> None:
        return None

    async def other() -> None:
        return None

    assert cache_tables_of(listing) == frozenset({"extensions"}) | ALWAYS
    assert cache_tables_of(other) is None


async def test_single_flight() -> None:
    import asyncio

    cache = ResponseCache(ttl=60)
    computed = 0

    async def request() -> bytes:
        nonlocal computed
        while True:
            hit = cache.get("k")
            if hit is not None:
                return hit.body
            if await cache.fill_or_wait("k"):
                break
        try:
            computed += 1
            generation = cache.generation
            await asyncio.sleep(0.01)
            cache.put("k", generation, frozenset({"x"}), 200, [], b"answer")
            return b"answer"
        finally:
            cache.filled("k")

    assert await asyncio.gather(*(request() for _ in range(10))) == [b"answer"] * 10
    assert computed == 1
