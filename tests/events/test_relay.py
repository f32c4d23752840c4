"""The outbox relay against a real database (SQLite and PostgreSQL): order, wake-up, at-least-once, one relay,
pruning; and ``follow()`` (replay then live, no gap and no duplicate at the seam)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select, update

from centrex.db import migrate
from centrex.db.engine import Database
from centrex.db.models.outbox import OutboxEvent
from centrex.db.models.webhooks import WebhookCursor
from centrex.db.types import utcnow
from centrex.domain.tenancy import Principal, Role
from centrex.events.bus import Event, InProcessBus
from centrex.events.outbox import emit
from centrex.events.relay import Relay
from centrex.events.stream import StreamFilter, TenantSelection, follow
from tests.conftest import ThrowawayDatabase


@pytest_asyncio.fixture
async def db(fresh_database: ThrowawayDatabase) -> AsyncIterator[Database]:
    await asyncio.to_thread(migrate.upgrade, fresh_database.url)
    database = Database(fresh_database.url)
    yield database
    await database.dispose()


async def write(db: Database, n: int, tenant: str = "ten_a", type_: str = "extension.created") -> list[str]:
    """Commit ``n`` events in one transaction (through the write lock, as the API does); their ids."""
    lock = db.write_lock
    if lock is not None:
        await lock.acquire()
    try:
        async with db.session() as session:
            rows = [
                emit(
                    session.sync_session,
                    type_,
                    resource_type="extension",
                    resource_id=f"ext_{i}",
                    data={"i": i},
                    tenant_id=tenant,
                    tenant_path=f"/plat/{tenant}/",
                )
                for i in range(n)
            ]
            await session.commit()
            return [r.id for r in rows]
    finally:
        if lock is not None:
            lock.release()


async def unpublished(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None))) or 0)


async def take(sub: object, n: int) -> list[Event]:
    out: list[Event] = []
    for _ in range(n):
        e = await sub.get(20)  # type: ignore[attr-defined]
        assert e is not None, f"only {len(out)} of {n} events arrived"
        out.append(e)
    return out


class BlockingBus(InProcessBus):
    """Delivers ``allow`` events, then blocks the publisher (a process about to die mid-publish)."""

    def __init__(self, allow: int) -> None:
        super().__init__()
        self.allow = allow
        self.blocked = asyncio.Event()

    async def publish(self, event: Event) -> None:
        if self.allow <= 0:
            self.blocked.set()
            await asyncio.Event().wait()
        self.allow -= 1
        await super().publish(event)


class FailingBus(InProcessBus):
    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.calls = 0

    async def publish(self, event: Event) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("broker went away")
        await super().publish(event)


async def test_publishes_in_seq_order_woken_by_the_commit(db: Database) -> None:
    bus = InProcessBus()
    sub = bus.subscribe()
    relay = Relay(db, bus, poll_interval=60.0)  # polling alone would take a minute: the commit hook wakes it
    relay.start()
    try:
        await asyncio.sleep(0.2)
        first = await write(db, 5)
        second = await write(db, 3, tenant="ten_b")
        got = await asyncio.wait_for(take(sub, 8), 10)
    finally:
        await relay.stop()
    assert [e.id for e in got] == first + second
    assert [e.seq for e in got] == sorted(e.seq for e in got)
    assert await unpublished(db) == 0


async def test_killed_mid_publish_the_events_are_published_again_and_dedup_by_id_gives_each_once(
    db: Database,
) -> None:
    ids = await write(db, 5)
    dying = BlockingBus(allow=2)
    watcher = dying.subscribe()
    relay = Relay(db, dying)
    pump = asyncio.create_task(relay.pump())
    await asyncio.wait_for(dying.blocked.wait(), 10)
    pump.cancel()  # the process dies here: two events out, none marked
    await asyncio.gather(pump, return_exceptions=True)
    before_crash = await take(watcher, 2)
    assert [e.id for e in before_crash] == ids[:2]
    assert await unpublished(db) == 5

    bus = InProcessBus()
    sub = bus.subscribe()
    assert await Relay(db, bus).drain() == 5
    again = await take(sub, 5)
    assert [e.id for e in again] == ids  # everything again, in order
    # What a consumer that saw both relays' deliveries keeps after deduplicating by id: each event once, in order.
    seen: dict[str, Event] = {}
    for e in [*before_crash, *again]:
        seen.setdefault(e.id, e)
    assert list(seen) == ids and await unpublished(db) == 0


async def test_a_failed_publish_stops_the_batch_and_the_rest_follows_in_order(db: Database) -> None:
    ids = await write(db, 6)
    bus = FailingBus(fail_at=3)
    sub = bus.subscribe()
    relay = Relay(db, bus)
    with pytest.raises(ConnectionError):
        await relay.pump()
    assert await unpublished(db) == 4  # the first two are marked
    assert await relay.drain() == 4
    assert [e.id for e in await take(sub, 6)] == ids
    assert await unpublished(db) == 0


async def test_prune_deletes_only_published_events_older_than_the_window(db: Database) -> None:
    old = await write(db, 3)
    await Relay(db, InProcessBus()).drain()
    recent = await write(db, 2)
    pending = await write(db, 1)
    await Relay(db, InProcessBus()).drain()
    pending += await write(db, 1)
    async with db.session() as session:
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(old)).values(published_at=utcnow() - timedelta(days=8))
        )
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id == pending[0]).values(published_at=utcnow() - timedelta(days=1))
        )
        await session.commit()
    relay = Relay(db, InProcessBus(), retention_seconds=7 * 86400)
    assert await relay.prune() == 0  # the webhooks' fan-out has not read them yet: kept
    async with db.session() as session:
        end = await session.scalar(select(func.max(OutboxEvent.seq)))
        await session.execute(update(WebhookCursor).where(WebhookCursor.id == "fanout").values(last_seq=end))
        await session.commit()
    assert await relay.prune() == 3
    async with db.session() as session:
        left = set((await session.scalars(select(OutboxEvent.id))).all())
    assert left == set(recent + pending)


async def test_only_one_relay_publishes_at_a_time_on_postgresql(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite is one process by design; the advisory lock is PostgreSQL's")
    ids = await write(db, 4)
    holder = BlockingBus(allow=1)
    first = asyncio.create_task(Relay(db, holder).pump())
    await asyncio.wait_for(holder.blocked.wait(), 10)
    other = InProcessBus()
    sub = other.subscribe()
    assert await Relay(db, other).pump() == 0  # the lock is held: nothing is published twice
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert await Relay(db, other).drain() == 4
    assert [e.id for e in await take(sub, 4)] == ids


async def test_follow_replays_after_the_resume_point_then_goes_live_without_gap_or_duplicate(db: Database) -> None:
    bus = InProcessBus()
    relay = Relay(db, bus)
    ids = await write(db, 4)
    await write(db, 2, tenant="ten_b")  # another tenant: never seen
    await relay.drain()
    late = await write(db, 1)  # committed, not yet published when the client connects: replayed, then live
    async with db.session() as session:
        after = await session.scalar(select(OutboxEvent.seq).where(OutboxEvent.id == ids[0]))
        seam = Event.of(await session.scalar(select(OutboxEvent).where(OutboxEvent.id == late[0])))
    principal = Principal("api_key", "key_1", "k", Role.TENANT_ADMIN, "ten_a", "/plat/ten_a/")
    filt = StreamFilter.for_principal(principal, [TenantSelection("ten_a", "/plat/ten_a/")], ["extension.*"])
    stream = follow(db, bus, filt, after, keepalive=0.05)
    replayed = [await anext(stream) for _ in range(4)]
    await relay.drain()  # the late event goes live now: already delivered, so skipped
    await bus.publish(seam)  # and once more: a duplicate from an at-least-once relay
    await write(db, 1, tenant="ten_b")
    fresh = await write(db, 1)
    await relay.drain()
    live: list[Event] = []
    while len(live) < 1:
        e = await anext(stream)
        if e is not None:
            live.append(e)
    tick = await anext(stream)
    await stream.aclose()
    assert [e.id for e in replayed if e is not None] == ids[1:] + late
    assert [e.id for e in live] == fresh
    assert tick is None  # nothing else was queued


def test_filters_follow_the_rest_api_scoping() -> None:
    tenant_admin = Principal("api_key", "k", "k", Role.TENANT_ADMIN, "ten_a", "/p/r/ten_a/")
    reseller = Principal("api_key", "k", "k", Role.RESELLER_ADMIN, "r", "/p/r/")
    platform = Principal("user", "u", "admin", Role.PLATFORM_ADMIN, "p", "/p/")

    def ev(path: str, type_: str = "call.ended", tenant: str = "x") -> Event:
        return Event("evt_1", 1, type_, tenant, path, "call", "cdr_1", utcnow())

    own, child, elsewhere = ev("/p/r/ten_a/", tenant="ten_a"), ev("/p/r/ten_b/"), ev("/p/q/ten_c/")
    f = StreamFilter.for_principal(tenant_admin)
    assert f.matches(own) and not f.matches(child) and not f.matches(elsewhere)
    # Even asking for descendants, a tenant key stays inside its own tenant.
    f = StreamFilter.for_principal(tenant_admin, [TenantSelection("ten_a", "/p/r/ten_a/", descendants=True)])
    assert f.matches(own) and not f.matches(ev("/p/r/ten_a/sub/"))
    f = StreamFilter.for_principal(reseller)
    assert f.matches(own) and f.matches(child) and not f.matches(elsewhere)
    f = StreamFilter.for_principal(platform, types=["call.*"])
    assert f.matches(elsewhere) and f.matches(ev("/", tenant="")) and not f.matches(ev("/p/", "extension.created"))
    f = StreamFilter.for_principal(platform, resource_ids=["cdr_2"])
    assert not f.matches(own)
    with pytest.raises(Exception, match="not an event type pattern"):
        StreamFilter.for_principal(platform, types=["call.<script>"])


async def test_follow_ends_with_a_reason_when_the_client_falls_too_far_behind(db: Database) -> None:
    from centrex.events.bus import SubscriptionClosed

    bus = InProcessBus()
    principal = Principal("user", "u", "admin", Role.PLATFORM_ADMIN, "p", "/p/")
    stream = follow(db, bus, StreamFilter.for_principal(principal), None, maxsize=10, keepalive=0.05)
    assert await anext(stream) is None  # subscribed (an idle tick)
    for n in range(11):  # one more than the client's queue, while it reads nothing
        await bus.publish(Event(f"evt_{n}", n, "call.ringing", "t", "/p/t/", "call", "cdr_1", utcnow()))
    with pytest.raises(SubscriptionClosed, match="slow consumer"):
        await anext(stream)
    assert bus.subscribers == 0


async def test_follow_subscribes_before_the_first_read_and_closing_unstarted_releases_it(db: Database) -> None:
    bus = InProcessBus()
    principal = Principal("user", "u", "admin", Role.PLATFORM_ADMIN, "p", "/p/")
    feed = follow(db, bus, StreamFilter.for_principal(principal), None, keepalive=0.05)
    assert bus.subscribers == 1  # already listening: the client may be told it is subscribed
    early = Event("evt_early", 1, "call.ringing", "t", "/p/t/", "call", "cdr_1", utcnow())
    await bus.publish(early)
    assert await anext(feed) == early
    await feed.aclose()
    assert bus.subscribers == 0
    unstarted = follow(db, bus, StreamFilter.for_principal(principal), None)
    assert bus.subscribers == 1
    await unstarted.aclose()
    assert bus.subscribers == 0
