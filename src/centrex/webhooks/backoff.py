"""Retry delays: exponential backoff with full jitter (a uniform delay between 0 and a cap that doubles).

Attempt ``n`` (1-based: the delay after the n-th failed attempt) waits ``uniform(0, min(max, base * 2**(n-1)))``.
Full jitter spreads the retries of many deliveries that failed together, so that a receiver that comes back is not
hit by all of them at once.
"""

from __future__ import annotations

import random

_rng = random.SystemRandom()


def cap(attempt: int, base: float, maximum: float) -> float:
    """The largest delay after the ``attempt``-th failure."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    return float(min(maximum, base * 2.0 ** min(attempt - 1, 60)))


def delay(attempt: int, base: float, maximum: float, rng: random.Random | None = None) -> float:
    """A jittered delay after the ``attempt``-th failure: uniform in ``[0, cap]``."""
    return float((rng or _rng).uniform(0.0, cap(attempt, base, maximum)))
