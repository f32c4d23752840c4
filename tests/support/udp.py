"""UDP helpers for media tests on 127.0.0.1: a free even-aligned port range, and a "phone" endpoint that records the
datagrams it receives (what the RTP relay and rtpengine tests send through the anchor)."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import cast

HOST = "127.0.0.1"


def free_range(pairs: int) -> tuple[int, int]:
    """An even-aligned range of ``2 * pairs`` UDP ports on 127.0.0.1 that are free right now."""
    for _ in range(200):
        base = random.randrange(20000, 60000) & ~1
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + 2 * pairs):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind((HOST, port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return base, base + 2 * pairs - 1
    raise RuntimeError("no free port range")


class Phone(asyncio.DatagramProtocol):
    """A UDP endpoint that records what it receives (data, source); ``wait`` bounds ``wait_for``."""

    def __init__(self, wait: float) -> None:
        self.received: list[tuple[bytes, tuple[str, int]]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.wait = wait
        self.arrived = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.port = self.transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((data, addr))
        self.arrived.set()

    def send(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, (HOST, port))

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(self.wait):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_phone(wait: float, port: int = 0) -> Phone:
    """A phone bound to 127.0.0.1:``port`` (0: any)."""
    _, proto = await asyncio.get_running_loop().create_datagram_endpoint(lambda: Phone(wait), local_addr=(HOST, port))
    return proto
