"""NATS JetStream mode against the real NATS server on 127.0.0.1:4222 (skipped only when it is unreachable).

Every test uses its own stream and subject prefix and deletes the stream afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import websockets

from centrex.events.bus import Event
from centrex.events.natsbus import NatsBus
from tests.conftest import PG_SERVER, ThrowawayDatabase, pg_available
from tests.integration.test_event_stream import ADMIN, TIMEOUT, create_extension, make_tenant, ws_events, ws_url
from tests.support.server import centrex_server

NATS_URL = "nats://127.0.0.1:4222"


def _nats_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=2):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _nats_up(), reason="NATS not reachable on 127.0.0.1:4222")


async def _delete_stream(name: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    token = secrets.token_hex(4)
    stream, prefix = f"CENTREX_TEST_{token.upper()}", f"centrextest.{token}"
    yield stream, prefix
    asyncio.run(_delete_stream(stream))


@pytest_asyncio.fixture
async def bus(names: tuple[str, str]) -> AsyncIterator[NatsBus]:
    stream, prefix = names
    b = NatsBus(NATS_URL, stream=stream, prefix=prefix, retention_seconds=600)
    await b.start()
    yield b
    await b.stop()


def _event(n: int, tenant: str | None = "ten_a") -> Event:
    return Event(
        f"evt_{secrets.token_hex(6)}",
        n,
        "call.ended",
        tenant,
        "/p/ten_a/",
        "call",
        f"cdr_{n}",
        datetime.now(UTC),
        {"duration": n},
    )


async def test_publish_reaches_local_subscribers_dedups_by_id_and_uses_tenant_subjects(
    bus: NatsBus, names: tuple[str, str]
) -> None:
    import nats

    stream, prefix = names
    nc = await nats.connect(NATS_URL, connect_timeout=5)
    raw = await nc.subscribe(f"{prefix}.>")
    await nc.flush()  # the server has the subscription before anything is published
    sub = bus.subscribe()
    try:
        events = [_event(i) for i in range(1, 4)]
        for e in events:
            await bus.publish(e)
        await bus.publish(events[1])  # republished by an at-least-once relay: dropped by the server
        platform = _event(9, tenant=None)
        await bus.publish(platform)
        got = []
        for _ in range(4):
            item = await sub.get(TIMEOUT)
            assert item is not None
            got.append(item)
        assert [e.id for e in got] == [*(e.id for e in events), platform.id]
        assert got[0] == events[0]  # the whole event survives the trip
        assert await sub.get(0.5) is None  # and the duplicate never arrives
        info = await nc.jetstream().stream_info(stream)
        assert info.state.messages == 4
        raw_msgs = [await raw.next_msg(timeout=TIMEOUT) for _ in range(5)]  # 4 accepted + the dropped duplicate
        by_id = {m.headers.get("Nats-Msg-Id"): m for m in raw_msgs if m.headers}
        msg = by_id[events[0].id]
        assert msg.subject == f"{prefix}.ten_a.call.ended"
        assert json.loads(msg.data)["id"] == events[0].id
        assert by_id[platform.id].subject == f"{prefix}.platform.call.ended"
        assert bus.subject(platform) == f"{prefix}.platform.call.ended"
    finally:
        sub.close()
        await nc.close()


@pytest.fixture
def shared_pg(tmp_path: Path) -> Iterator[str]:
    if not pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}")
    db = ThrowawayDatabase("postgresql", tmp_path)
    db.create()
    yield db.url
    db.drop()


async def test_two_servers_share_events_through_nats(tmp_path: Path, names: tuple[str, str], shared_pg: str) -> None:
    stream, prefix = names
    env = {"CENTREX_NATS_URL": NATS_URL, "CENTREX_NATS_STREAM": stream, "CENTREX_NATS_SUBJECT_PREFIX": prefix}
    with (
        centrex_server(tmp_path / "one", database_url=shared_pg, env=env) as one,
        centrex_server(tmp_path / "two", database_url=shared_pg, env=env) as two,
    ):
        a = make_tenant(one)
        b = make_tenant(one)
        headers = {"X-API-Key": a.key}
        async with (
            httpx.AsyncClient(base_url=one.url, timeout=TIMEOUT) as client,
            websockets.connect(ws_url(two, "?types=extension.created"), additional_headers=headers) as on_two,
            websockets.connect(ws_url(one, "?types=extension.created"), additional_headers=headers) as on_one,
            websockets.connect(
                ws_url(two, "?types=extension.created"), additional_headers={"Authorization": _basic()}
            ) as admin_on_two,
        ):
            for conn in (on_two, on_one, admin_on_two):
                assert json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))["op"] == "subscribed"
            made = []
            for i in range(3):
                await create_extension(client, b, f"4{i}0")
                made.append(await create_extension(client, a, f"5{i}0"))
            seen_two = await ws_events(on_two, 3)
            seen_one = await ws_events(on_one, 3)
            seen_admin = await ws_events(admin_on_two, 6)
    want = [m["id"] for m in made]
    assert [e["resource_id"] for e in seen_two] == want  # made through server one, delivered by server two
    assert [e["resource_id"] for e in seen_one] == want
    assert {e["tenant_id"] for e in seen_admin} == {a.id, b.id}
    assert len({e["id"] for e in seen_admin}) == 6


def _basic() -> str:
    return httpx.BasicAuth(*ADMIN)._auth_header
