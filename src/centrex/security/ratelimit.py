"""In-process token buckets and the failed-login guard.

Buckets are per process: with several API nodes each enforces its share (documented in docs/decisions.md).
The clock is injectable so that tests do not sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """``allow(key)`` spends one token; refill ``rate`` per second up to ``burst``."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, cost: float = 1.0) -> tuple[bool, float]:
        """Return (allowed, seconds until one token is available)."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._evict(now)
            bucket = _Bucket(float(self.burst), now)
            self._buckets[key] = bucket
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return True, 0.0
        return False, (cost - bucket.tokens) / self.rate if self.rate > 0 else 3600.0

    def _evict(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()


@dataclass
class _Failures:
    count: int
    locked_until: float
    last: float


class LoginGuard:
    """Failed-login throttling per username and per client IP, with a lock that always expires.

    After ``max_failures`` consecutive failures a key is locked for ``lock_seconds``, doubling with each further
    failure up to ``max_lock_seconds``; failures are forgotten ``max_lock_seconds`` after the last one, and a success
    clears the username's counter. The real user therefore waits at most ``max_lock_seconds``, never forever.
    """

    def __init__(
        self,
        max_failures: int = 5,
        lock_seconds: float = 30.0,
        max_lock_seconds: float = 900.0,
        ip_factor: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self.max_lock_seconds = max_lock_seconds
        self.ip_factor = ip_factor
        self.clock = clock
        self._state: dict[str, _Failures] = {}

    def _limit(self, key: str) -> int:
        return self.max_failures * (self.ip_factor if key.startswith("ip:") else 1)

    def retry_after(self, username: str, ip: str) -> float:
        """Seconds until a login attempt is allowed again (0 when allowed)."""
        now = self.clock()
        wait = 0.0
        for key in (f"user:{username.lower()}", f"ip:{ip}"):
            state = self._state.get(key)
            if state is None:
                continue
            if now - state.last > self.max_lock_seconds:
                del self._state[key]
                continue
            wait = max(wait, state.locked_until - now)
        return max(wait, 0.0)

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        if len(self._state) > 200_000:
            self._state.clear()
        for key in (f"user:{username.lower()}", f"ip:{ip}"):
            state = self._state.get(key)
            if state is None or now - state.last > self.max_lock_seconds:
                state = _Failures(0, 0.0, now)
                self._state[key] = state
            state.count += 1
            state.last = now
            over = state.count - self._limit(key)
            if over >= 0:
                state.locked_until = now + min(self.lock_seconds * (2**over), self.max_lock_seconds)

    def succeeded(self, username: str, ip: str) -> None:
        self._state.pop(f"user:{username.lower()}", None)
