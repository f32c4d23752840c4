"""A real HTTP receiver for webhook tests: an asyncio HTTP/1.1 server on 127.0.0.1 that records every request and
answers with scripted status codes (then 200). It verifies nothing itself; tests verify the recorded requests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tests.support.server import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()
    status: int  # what the receiver answered


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    statuses: list[int] = field(default_factory=list)  # answered in order, then ``default``
    default: int = 200
    requests: list[Received] = field(default_factory=list)
    _server: asyncio.AbstractServer | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):  # keep-alive connections too: the receiver is really down
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self.statuses.pop(0) if self.statuses else self.default
                self.requests.append(Received(path, headers, body, time.monotonic(), status))
                self._arrived.set()
                answer = b'{"ok": true}' if status < 300 else b"receiver says no"
                head_out = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(answer)}"
                writer.write(head_out.encode() + b"\r\n\r\n" + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def wait_for(self, count: int, within: float = 30.0) -> list[Received]:
        """Wait until at least ``count`` requests arrived (``AssertionError`` after ``within``)."""
        deadline = time.monotonic() + within
        while len(self.requests) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"{len(self.requests)} of {count} webhook requests arrived in {within} s"
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))
        return self.requests


@contextlib.asynccontextmanager
async def receiving(statuses: list[int] | None = None, port: int | None = None) -> AsyncIterator[Receiver]:
    receiver = Receiver(statuses=list(statuses or []))
    if port is not None:
        receiver.port = port
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
