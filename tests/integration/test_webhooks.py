"""Webhooks end to end: a real ``centrex serve`` delivering to a real HTTP receiver on loopback.

The receiver verifies nothing itself; each test checks the Standard Webhooks signatures of what arrived. Private
targets are allowed (``CENTREX_WEBHOOK_ALLOW_PRIVATE``) so that loopback is reachable; retries are shortened.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from centrex.webhooks import backoff, signing
from tests.support.server import ADMIN_PASSWORD, Server, centrex_server, free_port
from tests.webhooks.receiver import Receiver, receiving

pytestmark = pytest.mark.integration

BASE, CAP = 0.5, 2.0
ENV = {
    "CENTREX_WEBHOOK_ALLOW_PRIVATE": "true",
    "CENTREX_WEBHOOK_BACKOFF_BASE_SECONDS": str(BASE),
    "CENTREX_WEBHOOK_BACKOFF_MAX_SECONDS": str(CAP),
    "CENTREX_WEBHOOK_POLL_SECONDS": "0.2",
    "CENTREX_WEBHOOK_LEASE_SECONDS": "5",
    "CENTREX_WEBHOOK_MAX_ATTEMPTS": "50",
}
ADMIN = ("admin", ADMIN_PASSWORD)


class Api:
    """The tenant's side: one tenant with an admin key, over HTTP."""

    def __init__(self, server: Server) -> None:
        self.client = httpx.AsyncClient(base_url=server.url + "/api/v1", timeout=30)
        self.tenant = ""
        self.key: dict[str, str] = {}

    async def setup(self) -> None:
        code = f"wh{secrets.token_hex(4)}"
        r = await self.client.post("/tenants", json={"code": code, "name": "Hooks", "kind": "tenant"}, auth=ADMIN)
        assert r.status_code == 201, r.text
        self.tenant = r.json()["id"]
        r = await self.client.post(f"/tenants/{self.tenant}/api-keys", json={"name": "hooks"}, auth=ADMIN)
        assert r.status_code == 201, r.text
        self.key = {"X-API-Key": r.json()["key"]}

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        r = await self.client.request(method, f"/tenants/{self.tenant}{path}", headers=self.key, **kw)
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    async def extension(self, number: str) -> dict[str, Any]:
        made: dict[str, Any] = await self.call("POST", "/extensions", json={"number": number, "name": f"Ext {number}"})
        return made

    async def close(self) -> None:
        await self.client.aclose()


def body_of(secret: str | list[str], request: Any) -> dict[str, Any]:
    for s in [secret] if isinstance(secret, str) else secret:
        signing.verify(s, request.headers, request.body)
    data: dict[str, Any] = orjson.loads(request.body)
    return data


async def arrivals(receiver: Receiver, event_type: str, resource_id: str, count: int, within: float = 60.0) -> list:
    """Wait for ``count`` requests carrying ``event_type`` for ``resource_id``."""
    deadline = time.monotonic() + within
    while True:
        found = [
            r
            for r in receiver.requests
            if (b := orjson.loads(r.body))["type"] == event_type and b["data"]["resource_id"] == resource_id
        ]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} {event_type} for {resource_id} in {within} s"
        await asyncio.sleep(0.1)


async def test_signed_delivery_retries_and_rotation(tmp_path: Path) -> None:
    with centrex_server(tmp_path / "data", env=ENV) as server:
        api = Api(server)
        try:
            await api.setup()
            async with receiving() as receiver:
                hook = await api.call("POST", "/webhooks", json={"url": receiver.url, "event_types": ["extension.*"]})
                secret = hook["secret"]

                # A state change reaches the receiver, signed.
                ext = await api.extension("301")
                (req,) = await arrivals(receiver, "extension.created", ext["id"], 1)
                body = body_of(secret, req)
                assert body["data"]["data"]["object"]["number"] == "301" and body["id"] == req.headers["webhook-id"]
                assert abs(int(req.headers["webhook-timestamp"]) - time.time()) < 60

                # The receiver fails three times: retried with backoff (same id, same body), then delivered.
                receiver.statuses.extend([500, 500, 500])
                ext2 = await api.extension("302")
                tries = await arrivals(receiver, "extension.created", ext2["id"], 4)
                assert len({t.headers["webhook-id"] for t in tries}) == 1 and len({t.body for t in tries}) == 1
                assert [t.status for t in tries] == [500, 500, 500, 200]
                for t in tries:
                    body_of(secret, t)
                gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
                for n, gap in enumerate(gaps, start=1):
                    assert gap <= backoff.cap(n, BASE, CAP) + 1.5, (n, gaps)  # jittered, under a doubling cap
                deliveries = await api.call(
                    "GET", f"/webhooks/{hook['id']}/deliveries", params={"event_type": "extension.created"}
                )
                latest = next(d for d in deliveries["items"] if d["event_id"] == tries[0].headers["webhook-id"])
                detail = await api.call("GET", f"/webhooks/{hook['id']}/deliveries/{latest['id']}")
                assert detail["status"] == "succeeded" and detail["attempts"] == 4
                assert [a["response_status"] for a in detail["attempt_log"]] == [500, 500, 500, 200]

                # Rotation: both signatures during the overlap, each verifies with its secret.
                rotated = await api.call("POST", f"/webhooks/{hook['id']}/rotate-secret")
                ext3 = await api.extension("303")
                (req3,) = await arrivals(receiver, "extension.created", ext3["id"], 1)
                assert len(req3.headers["webhook-signature"].split()) == 2
                body_of([rotated["secret"], secret], req3)
        finally:
            await api.close()


async def test_nothing_is_lost_when_the_server_is_killed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    receiver_url = f"http://127.0.0.1:{port}/hook"
    made: list[str] = []
    with centrex_server(data, env=ENV) as server:
        api = Api(server)
        try:
            await api.setup()
            hook = await api.call("POST", "/webhooks", json={"url": receiver_url, "event_types": ["extension.created"]})
            for i in range(6):
                made.append((await api.extension(str(400 + i)))["id"])
            # The receiver is down: wait until every delivery has failed at least once, then kill -9.
            deadline = time.monotonic() + 60
            while True:
                page = await api.call("GET", f"/webhooks/{hook['id']}/deliveries", params={"limit": 100})
                if page["total"] == len(made) and all(d["attempts"] >= 1 for d in page["items"]):
                    break
                assert time.monotonic() < deadline, page
                await asyncio.sleep(0.2)
            assert all(d["status"] == "pending" for d in page["items"])
            assert all(d["last_error"].startswith("connection failed") for d in page["items"])
            # Three more events, killed before (or while) they are fanned out.
            for i in range(3):
                made.append((await api.extension(str(410 + i)))["id"])
        finally:
            await api.close()
        server.process.kill()
        server.process.wait(timeout=10)

    async with receiving(port=port) as receiver:
        with centrex_server(data, env=ENV) as server:
            deadline = time.monotonic() + 90
            while True:
                ids = {orjson.loads(r.body)["data"]["resource_id"] for r in receiver.requests}
                if set(made) <= ids:
                    break
                assert time.monotonic() < deadline, f"missing {set(made) - ids}"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # anything duplicated would show up now
    by_id: dict[str, dict[str, Any]] = {}
    for req in receiver.requests:
        body = body_of(hook["secret"], req)
        assert body["type"] == "extension.created"
        by_id.setdefault(req.headers["webhook-id"], body)  # receivers deduplicate by webhook-id
    assert sorted(b["data"]["resource_id"] for b in by_id.values()) == sorted(made)
