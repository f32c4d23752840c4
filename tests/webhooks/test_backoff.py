"""Retry delays: full jitter under a cap that doubles from the base up to the maximum."""

from __future__ import annotations

import random

import pytest

from centrex.webhooks import backoff


def test_caps_double_up_to_the_maximum() -> None:
    caps = [backoff.cap(n, 5.0, 3600.0) for n in range(1, 12)]
    assert caps[:5] == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert caps[-1] == 3600.0
    assert caps == sorted(caps)
    assert backoff.cap(1000, 5.0, 3600.0) == 3600.0
    with pytest.raises(ValueError):
        backoff.cap(0, 5.0, 3600.0)


def test_full_jitter_stays_under_the_cap_and_spreads() -> None:
    rng = random.Random(7)
    for attempt in range(1, 11):
        cap = backoff.cap(attempt, 5.0, 3600.0)
        samples = [backoff.delay(attempt, 5.0, 3600.0, rng) for _ in range(400)]
        assert all(0.0 <= s <= cap for s in samples)
        # Spread over the whole range: some in the lower and some in the upper quarter.
        assert any(s < cap / 4 for s in samples) and any(s > cap * 3 / 4 for s in samples)
        mean = sum(samples) / len(samples)
        assert cap * 0.4 < mean < cap * 0.6


def test_default_rng_is_random() -> None:
    values = {backoff.delay(3, 5.0, 3600.0) for _ in range(20)}
    assert len(values) > 10
