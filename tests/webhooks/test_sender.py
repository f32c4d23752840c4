"""One delivery attempt against a real receiver on loopback: signing, the delivery-time SSRF check, no redirects,
bounded excerpts, timeouts and refused connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from centrex.webhooks import signing
from centrex.webhooks.sender import EXCERPT_BYTES, new_client, send
from tests.support.server import free_port
from tests.webhooks.receiver import receiving

SECRET = signing.generate_secret()


async def test_delivered_and_signed() -> None:
    async with receiving() as receiver, new_client() as client:
        result = await send(client, receiver.url, "evt_1", '{"a":1}', [SECRET], allow_private=True, timeout_seconds=5)
        assert result.success and result.status == 200 and result.error is None
        (req,) = receiver.requests
        signing.verify(SECRET, req.headers, req.body)
        assert req.headers["host"] == f"127.0.0.1:{receiver.port}"
        assert result.request_headers["webhook-id"] == "evt_1" and result.response_body == '{"ok": true}'


async def test_private_target_refused_at_delivery_time() -> None:
    """Even if the subscription was accepted (DNS may change), a private address is refused when sending."""
    async with receiving() as receiver, new_client() as client:
        for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
            result = await send(client, url, "evt_1", "{}", [SECRET], allow_private=False, timeout_seconds=5)
            assert not result.success and result.status is None
            assert result.error is not None and "loopback address" in result.error
        assert receiver.requests == []


async def test_non_2xx_is_a_failure_with_the_answer_logged() -> None:
    async with receiving(statuses=[410]) as receiver, new_client() as client:
        result = await send(client, receiver.url, "evt_1", "{}", [SECRET], allow_private=True, timeout_seconds=5)
        assert not result.success and result.status == 410 and result.error == "HTTP 410"
        assert result.response_body == "receiver says no"


@contextlib.asynccontextmanager
async def raw_server(answer: bytes, delay: float = 0.0) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(delay)
            writer.write(answer)
            await writer.drain()
        writer.close()

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.close()
        await server.wait_closed()


async def test_redirects_are_not_followed() -> None:
    answer = b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n"
    async with raw_server(answer) as url, new_client() as client:
        result = await send(client, url, "evt_1", "{}", [SECRET], allow_private=True, timeout_seconds=5)
    assert not result.success and result.status == 307
    assert result.error is not None and "redirects are not followed" in result.error


async def test_response_excerpt_is_bounded() -> None:
    big = b"x" * 100_000
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(big) + big
    async with raw_server(answer) as url, new_client() as client:
        result = await send(client, url, "evt_1", "{}", [SECRET], allow_private=True, timeout_seconds=5)
    assert result.success and result.response_body is not None and len(result.response_body) == EXCERPT_BYTES


async def test_timeout_and_refused_connection() -> None:
    async with raw_server(b"", delay=5.0) as url, new_client() as client:
        result = await send(client, url, "evt_1", "{}", [SECRET], allow_private=True, timeout_seconds=0.3)
    assert not result.success and result.error == "timed out after 0.3 s"
    async with httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{free_port()}/hook"
        result = await send(client, url, "evt_1", "{}", [SECRET], allow_private=True, timeout_seconds=2)
    assert not result.success and result.error is not None and result.error.startswith("connection failed")
