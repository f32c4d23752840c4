"""A call between two real SIP user agents (SIPp) reaches a tenant's webhook as its full, signed event sequence:
registration, call created, ringing, answered, ended (docs/webhooks.md, docs/live.md)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from centrex.webhooks import signing
from tests.integration.test_calls import Pbx, _finish
from tests.support.pbx import ADMIN
from tests.support.server import centrex_server, free_port
from tests.webhooks.receiver import Received, receiving

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]


@contextlib.contextmanager
def _pbx(root: Path) -> Iterator[Pbx]:
    sip_port = free_port()
    env = {
        "CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}",
        "CENTREX_WEBHOOK_ALLOW_PRIVATE": "true",
        "CENTREX_WEBHOOK_POLL_SECONDS": "0.2",
    }
    with centrex_server(root / "data", env=env) as server:
        r = httpx.post(
            f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "hooked", "name": "Hooked"}, timeout=10
        )
        assert r.status_code == 201, r.text
        yield Pbx(server.url, r.json(), sip_port, root)


def _events(received: list[Received], secret: str, call_id: str | None = None) -> list[dict[str, Any]]:
    out = []
    for request in received:
        signing.verify(secret, request.headers, request.body)  # every delivery is signed with the secret
        body: dict[str, Any] = orjson.loads(request.body)
        if call_id is None or body["data"]["resource_id"] == call_id:
            out.append(body)
    return out


async def test_a_call_between_two_phones_reaches_the_webhook_as_signed_events(tmp_path: Path) -> None:
    with _pbx(tmp_path) as pbx:
        async with receiving() as receiver:
            r = await asyncio.to_thread(
                pbx.api,
                "POST",
                "/webhooks",
                json={"url": receiver.url, "event_types": ["call.*", "registration.*"], "ordered": True},
            )
            assert r.status_code == 201, r.text
            secret = r.json()["secret"]
            alice, bob = await asyncio.to_thread(pbx.extension), await asyncio.to_thread(pbx.extension)
            port = await asyncio.to_thread(pbx.register, bob)
            with pbx.callee("callee_answer.xml", port) as callee:
                assert await asyncio.to_thread(pbx.call, "call_uac.xml", alice, bob["number"]) == 0
                assert await asyncio.to_thread(_finish, callee) == 0
            cdr = await asyncio.to_thread(pbx.cdr, bob)
            deadline = time.monotonic() + 30
            while "call.ended" not in [e["type"] for e in _events(receiver.requests, secret, cdr["id"])]:
                assert time.monotonic() < deadline, [orjson.loads(x.body)["type"] for x in receiver.requests]
                await asyncio.sleep(0.1)
            calls = _events(receiver.requests, secret, cdr["id"])  # an ordered endpoint: in event order
            assert [e["type"] for e in calls] == ["call.created", "call.ringing", "call.answered", "call.ended"]
            assert [e["data"]["seq"] for e in calls] == sorted(e["data"]["seq"] for e in calls)
            ended = calls[-1]["data"]["data"]
            assert ended["disposition"] == "answered" and ended["caller"] == alice["number"]
            assert ended["billable_seconds"] == cdr["billable_seconds"] and ended["hangup_by"] == "caller"
            registered = [e for e in _events(receiver.requests, secret) if e["type"] == "registration.created"]
            assert [e["data"]["data"]["extension_id"] for e in registered] == [bob["id"]]
            ids = [x.headers["webhook-id"] for x in receiver.requests]
            assert len(ids) == len(set(ids))  # each event delivered once
