"""The in-process bus: fan-out, filters, bounded queues and the slow-subscriber rule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from centrex.events.bus import BUS_STOPPED, Event, InProcessBus, SubscriptionClosed


def event(n: int, type_: str = "extension.created", tenant: str = "ten_a") -> Event:
    return Event(
        id=f"evt_{n}",
        seq=n,
        type=type_,
        tenant_id=tenant,
        tenant_path=f"/plat/{tenant}/",
        resource_type=type_.split(".")[0],
        resource_id=f"obj_{n}",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        data={"n": n},
    )


async def test_every_subscriber_gets_every_matching_event_in_order() -> None:
    bus = InProcessBus()
    everything = bus.subscribe()
    calls = bus.subscribe(lambda e: e.type.startswith("call."))
    for n in range(1, 7):
        await bus.publish(event(n, "call.ringing" if n % 2 else "extension.created"))
    got = [await everything.get(1) for _ in range(6)]
    assert [e.seq for e in got if e is not None] == [1, 2, 3, 4, 5, 6]
    assert [(await calls.get(1)).seq for _ in range(3)] == [1, 3, 5]  # type: ignore[union-attr]
    assert await calls.get(0.05) is None  # idle: a keep-alive tick, not an error


async def test_a_slow_subscriber_is_dropped_with_a_reason_and_nobody_else_waits() -> None:
    bus = InProcessBus(maxsize=1000)
    slow = bus.subscribe(maxsize=3)
    fast = bus.subscribe()
    received: list[int] = []

    async def consume() -> None:
        while len(received) < 50:
            e = await fast.get(5)
            assert e is not None
            received.append(e.seq)

    consumer = asyncio.create_task(consume())
    for n in range(1, 51):
        await bus.publish(event(n))  # never blocks, whatever ``slow`` does
        await asyncio.sleep(0)
    await asyncio.wait_for(consumer, 10)
    assert received == list(range(1, 51))
    assert slow.closed is not None and "slow consumer" in slow.closed
    with pytest.raises(SubscriptionClosed) as exc:
        await slow.get(1)
    assert "slow consumer" in exc.value.reason
    assert bus.subscribers == 1 and bus.dropped == 1


async def test_closing_and_stopping() -> None:
    bus = InProcessBus()
    sub = bus.subscribe()
    with bus.subscribe() as scoped:
        assert bus.subscribers == 2
    assert scoped.closed is not None and bus.subscribers == 1
    await bus.publish(event(1))
    await bus.stop()
    # Events already queued are still handed out, then the shutdown reason.
    first = await sub.get(1)
    assert first is not None and first.seq == 1
    with pytest.raises(SubscriptionClosed) as exc:
        await sub.get(1)
    assert exc.value.reason == BUS_STOPPED


async def test_a_waiting_subscriber_wakes_on_publish() -> None:
    bus = InProcessBus()
    sub = bus.subscribe()
    waiter = asyncio.create_task(sub.get(10))
    await asyncio.sleep(0.01)
    await bus.publish(event(7))
    got = await asyncio.wait_for(waiter, 5)
    assert got is not None and got.id == "evt_7"


def test_envelope_and_wire_round_trip() -> None:
    e = event(3, "call.ended")
    env = e.envelope()
    assert env["occurred_at"] == "2026-01-01T00:00:00Z"
    assert set(env) == {
        "id",
        "seq",
        "type",
        "version",
        "tenant_id",
        "resource_type",
        "resource_id",
        "occurred_at",
        "data",
        "request_id",
    }
    assert Event.from_json(e.to_json()) == e
