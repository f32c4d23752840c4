"""The live event stream against a real ``centrex serve``: SSE and WebSocket clients, tenant isolation, resume.

Each test provisions through the API (as a real client would) and reads the stream over real sockets on loopback.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets

from tests.support.server import ADMIN_PASSWORD, Server, centrex_server

ADMIN = ("admin", ADMIN_PASSWORD)
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("events") / "data"
    with centrex_server(data, env={"CENTREX_EVENTS_KEEPALIVE_SECONDS": "1"}) as srv:
        yield srv


@dataclass
class Tenant:
    id: str
    key: str


def make_tenant(server: Server, parent: str | None = None, kind: str = "tenant") -> Tenant:
    body: dict[str, Any] = {"code": f"ev{secrets.token_hex(4)}", "name": "Events", "kind": kind}
    if parent:
        body["parent_id"] = parent
    r = httpx.post(f"{server.url}/api/v1/tenants", json=body, auth=ADMIN, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    tenant = r.json()
    r = httpx.post(
        f"{server.url}/api/v1/tenants/{tenant['id']}/api-keys", json={"name": "events"}, auth=ADMIN, timeout=TIMEOUT
    )
    assert r.status_code == 201, r.text
    return Tenant(tenant["id"], r.json()["key"])


async def create_extension(client: httpx.AsyncClient, tenant: Tenant, number: str) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/tenants/{tenant.id}/extensions",
        json={"number": number, "name": f"Ext {number}"},
        headers={"X-API-Key": tenant.key},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


class SseReader:
    """A minimal SSE client over httpx: parses ``id``/``event``/``data`` fields and comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self) -> dict[str, Any]:
        fields: dict[str, str] = {}
        while True:
            line = await asyncio.wait_for(anext(self.lines), TIMEOUT)
            if line == "":
                if "data" in fields:
                    return {"id": fields.get("id"), "event": fields.get("event"), "data": json.loads(fields["data"])}
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    async def events(self, n: int, types: tuple[str, ...] = ("extension.created",)) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < n:
            msg = await self.next()
            if msg["event"] in types:
                out.append(msg)
        return out


async def sse(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> AsyncGenerator[SseReader, None]:
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


def ws_url(server: Server, query: str) -> str:
    return server.url.replace("http://", "ws://") + "/api/v1/events/ws" + query


async def ws_events(conn: Any, n: int, types: tuple[str, ...] = ("extension.created",)) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < n:
        msg = json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))
        if msg["op"] == "event" and msg["event"]["type"] in types:
            out.append(msg["event"])
    return out


async def test_sse_and_websocket_clients_see_their_tenant_in_order_never_another(server: Server) -> None:
    a, b = make_tenant(server), make_tenant(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        stream = sse(client, f"/api/v1/tenants/{a.id}/events/stream?types=extension.*", {"X-API-Key": a.key})
        reader = await anext(stream)
        async with websockets.connect(ws_url(server, ""), additional_headers={"X-API-Key": a.key}) as conn:
            await conn.send(json.dumps({"action": "subscribe", "types": ["extension.created"]}))
            ack = json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))
            assert ack["op"] == "subscribed" and ack["types"] == ["extension.created"]
            made = []
            for i in range(3):
                await create_extension(client, b, f"3{i}0")  # B's events interleaved with A's
                made.append(await create_extension(client, a, f"2{i}0"))
            await create_extension(client, b, "399")
            sentinel = await create_extension(client, a, "299")
            made.append(sentinel)
            via_sse = await reader.events(4)
            via_ws = await ws_events(conn, 4)
        await stream.aclose()
    want = [m["id"] for m in made]
    assert [e["data"]["resource_id"] for e in via_sse] == want
    assert [e["id"] for e in via_sse] == [e["data"]["id"] for e in via_sse]
    assert all(e["data"]["tenant_id"] == a.id for e in via_sse)
    assert [e["resource_id"] for e in via_ws] == want
    assert all(e["tenant_id"] == a.id for e in via_ws)
    seqs = [e["seq"] for e in via_ws]
    assert seqs == sorted(seqs)
    # The envelope carries the change tracker's data.
    first = via_ws[0]
    assert first["data"]["object"]["number"] == "200" and first["version"] == 1


async def test_sse_resume_with_last_event_id_gets_exactly_the_missed_events(server: Server) -> None:
    a = make_tenant(server)
    headers = {"X-API-Key": a.key}
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        url = f"/api/v1/tenants/{a.id}/events/stream?types=extension.created"
        stream = sse(client, url, headers)
        reader = await anext(stream)
        first = await create_extension(client, a, "210")
        (seen,) = await reader.events(1)
        assert seen["data"]["resource_id"] == first["id"]
        await stream.aclose()  # disconnected
        missed = [await create_extension(client, a, f"2{i}1") for i in range(2, 5)]
        stream = sse(client, url, {**headers, "Last-Event-ID": seen["id"]})
        reader = await anext(stream)
        replayed = await reader.events(3)
        live = await create_extension(client, a, "299")
        (after,) = await reader.events(1)
        await stream.aclose()
        # ?after= works like the header; an unknown id is 410.
        stream = sse(client, url + f"&after={seen['id']}", headers)
        again = await (await anext(stream)).events(4)
        await stream.aclose()
        r = await client.get(url + "&after=evt_unknown", headers=headers)
        assert r.status_code == 410 and r.json()["code"] == "resume_expired"
    assert [e["data"]["resource_id"] for e in replayed] == [m["id"] for m in missed]
    assert after["data"]["resource_id"] == live["id"]
    assert [e["data"]["resource_id"] for e in again] == [*(m["id"] for m in missed), live["id"]]


async def test_sse_sends_keep_alive_comments_when_idle(server: Server) -> None:
    a = make_tenant(server)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client,
        client.stream(
            "GET", f"/api/v1/tenants/{a.id}/events/stream?types=nothing.*", headers={"X-API-Key": a.key}
        ) as response,
    ):
        lines = response.aiter_lines()
        got: list[str] = []
        while got.count(": keep-alive") < 2:  # the server runs with a 1 s keep-alive
            got.append(await asyncio.wait_for(anext(lines), TIMEOUT))


async def test_websocket_resume_and_query_string_subscription(server: Server) -> None:
    a = make_tenant(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        first = await create_extension(client, a, "220")
        r = await client.get(
            f"/api/v1/tenants/{a.id}/events", params={"type": "extension.created"}, headers={"X-API-Key": a.key}
        )
        (created,) = r.json()["items"]
        missed = [await create_extension(client, a, f"22{i}") for i in range(1, 4)]
        query = f"?api_key={a.key}&types=extension.created&after={created['id']}"
        async with websockets.connect(ws_url(server, query)) as conn:
            ack = json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))
            assert ack["op"] == "subscribed" and ack["after"] == created["id"]
            replayed = await ws_events(conn, 3)
            live = await create_extension(client, a, "229")
            (after,) = await ws_events(conn, 1)
            await conn.send(json.dumps({"action": "ping"}))
            while json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))["op"] != "pong":
                pass
    assert created["resource_id"] == first["id"]
    assert [e["resource_id"] for e in replayed] == [m["id"] for m in missed]
    assert after["resource_id"] == live["id"]


async def test_platform_admin_across_tenants_and_tenant_key_refused_elsewhere(server: Server) -> None:
    reseller = make_tenant(server, kind="reseller")
    a = make_tenant(server, parent=reseller.id)
    b = make_tenant(server, parent=reseller.id)
    other = make_tenant(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        admin = websockets.connect(ws_url(server, "?types=extension.created"), additional_headers=_basic(ADMIN))
        res = websockets.connect(ws_url(server, "?types=extension.created"), additional_headers=_key(reseller))
        # The reseller's SSE stream of its own tenant, with descendants, sees its children's events too.
        url = f"/api/v1/tenants/{reseller.id}/events/stream?types=extension.created&descendants=true"
        stream = sse(client, url, _key(reseller))
        reader = await anext(stream)
        async with admin as admin_conn, res as res_conn:
            for conn in (admin_conn, res_conn):
                assert json.loads(await asyncio.wait_for(conn.recv(), TIMEOUT))["op"] == "subscribed"
            ea = await create_extension(client, a, "230")
            eo = await create_extension(client, other, "231")
            eb = await create_extension(client, b, "232")
            all_three = await ws_events(admin_conn, 3)
            mine = await ws_events(res_conn, 2)
            via_sse = await reader.events(2)
        await stream.aclose()
        # A tenant key naming another tenant: the socket closes with 4404, and SSE answers 404.
        async with websockets.connect(ws_url(server, f"?tenant={b.id}"), additional_headers=_key(a)) as conn:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(conn.recv(), TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
        r = await client.get(f"/api/v1/tenants/{b.id}/events/stream", headers=_key(a))
        assert r.status_code == 404
        # An end user has no events.read: 4403.
        ext = await create_extension(client, a, "239")
        body = {
            "username": f"u{secrets.token_hex(4)}",
            "role": "user",
            "password": "Passw0rd-ev-1",
            "extension_id": ext["id"],
        }
        r = await client.post(f"/api/v1/tenants/{a.id}/users", json=body, headers=_key(a))
        assert r.status_code == 201, r.text
        user = {"Authorization": httpx.BasicAuth(body["username"], body["password"])._auth_header}
        async with websockets.connect(ws_url(server, "?types=x.*"), additional_headers=user) as conn:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(conn.recv(), TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        async with websockets.connect(ws_url(server, "?types=x.*"), additional_headers={"X-API-Key": "nope"}) as conn:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(conn.recv(), TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert {e["resource_id"] for e in all_three} == {ea["id"], eo["id"], eb["id"]}
    assert [e["resource_id"] for e in mine] == [ea["id"], eb["id"]]
    assert [e["data"]["resource_id"] for e in via_sse] == [ea["id"], eb["id"]]


def _basic(auth: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": httpx.BasicAuth(*auth)._auth_header}


def _key(tenant: Tenant) -> dict[str, str]:
    return {"X-API-Key": tenant.key}


def test_catalogue_is_served(server: Server) -> None:
    a = make_tenant(server)
    r = httpx.get(f"{server.url}/api/v1/events/catalogue", headers=_key(a), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    types = {t["type"] for t in r.json()["types"]}
    assert {"call.ended", "extension.created", "registration.expired"} <= types
    assert httpx.get(f"{server.url}/api/v1/events/catalogue", timeout=TIMEOUT).status_code == 401
