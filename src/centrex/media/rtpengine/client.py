"""The rtpengine ng control client: bencoded dictionaries over UDP, each prefixed by a cookie.

    client = await NgClient.connect("127.0.0.1", 2223)
    reply = await client.request({"command": "ping"})     # {b"result": b"pong"}
    await client.close()

A request is ``<cookie> <bencoded dict>``; rtpengine answers ``<cookie> <bencoded dict>`` with the same cookie
(a random token per request), and answers a retransmission from its cookie cache without running the command
again. A request is sent again after ``retransmit`` seconds, doubling, until ``timeout`` seconds have passed in all
(``NgTimeout``). Replies are matched by cookie; one that matches no pending request (late, or not for us) is
dropped. A reply whose ``result`` is ``error`` raises ``NgError`` carrying rtpengine's ``error-reason``; ``load
limit`` (rtpengine refusing new work) raises ``NgOverloaded``, an unreadable reply ``NgBadReply``. All are
``RelayError``s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping

from centrex.media.rtp.relay import RelayError
from centrex.media.rtpengine.bencode import BencodeError, Value, decode, encode

log = logging.getLogger(__name__)

Reply = dict[bytes, Value]


class NgError(RelayError):
    """rtpengine answered ``result: error`` (``reason``: its ``error-reason``), or answered nonsense."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"rtpengine {command}: {reason}")
        self.command = command
        self.reason = reason


class NgOverloaded(NgError):
    """rtpengine refused the command because of its load limits (``result: load limit``)."""


class NgBadReply(NgError):
    """rtpengine's reply could not be read (not bencode, not a dictionary, no ``result``)."""


class NgTimeout(RelayError):
    """No reply from rtpengine within the timeout (down, unreachable, or the control port is wrong)."""


def parse_hostport(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` → (host, port); ``RelayError`` when malformed."""
    host, sep, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise RelayError(f"rtpengine ng address {value!r}: expected HOST:PORT")
    return host, int(port)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, client: NgClient) -> None:
        self.client = client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.client._received(data)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable: the retransmission timer goes on
        log.debug("rtpengine ng socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost()


class NgClient:
    """One UDP socket towards one rtpengine ng listener; any number of requests in flight."""

    def __init__(self, *, retransmit: float = 0.5, timeout: float = 4.0) -> None:
        if retransmit <= 0 or timeout < retransmit:
            raise RelayError("rtpengine client: need 0 < retransmit <= timeout")
        self.retransmit = retransmit
        self.timeout = timeout
        self.address: tuple[str, int] | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[bytes, asyncio.Future[bytes]] = {}
        self._closed = False

    @classmethod
    async def connect(cls, host: str, port: int, *, retransmit: float = 0.5, request_timeout: float = 4.0) -> NgClient:
        """A client whose socket is connected to ``host:port`` (resolved once, now); ``RelayError`` when not."""
        client = cls(retransmit=retransmit, timeout=request_timeout)
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(client), remote_addr=(host, port))
        except OSError as exc:
            raise RelayError(f"rtpengine ng {host}:{port}: {exc.strerror or exc}") from None
        client._transport = transport
        client.address = (host, port)
        return client

    def _received(self, data: bytes) -> None:
        cookie, sep, _ = data.partition(b" ")
        future = self._pending.get(cookie) if sep else None
        if future is None:
            log.debug("rtpengine ng: reply with an unknown cookie dropped (%d bytes)", len(data))
            return
        if not future.done():
            future.set_result(data[len(cookie) + 1 :])

    def _lost(self) -> None:
        self._transport = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RelayError("rtpengine ng socket closed"))

    async def request(self, message: Mapping[str, object]) -> Reply:
        """Send ``message`` (it must hold ``command``) and return rtpengine's reply dictionary."""
        command = str(message.get("command", "?"))
        if self._closed or self._transport is None:
            raise RelayError("rtpengine client is closed")
        cookie = secrets.token_hex(12).encode()
        packet = cookie + b" " + encode(message)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[cookie] = future
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        interval = self.retransmit
        try:
            while True:
                transport = self._transport
                if transport is None:
                    raise RelayError("rtpengine client is closed")
                transport.sendto(packet)
                wait = min(interval, deadline - loop.time())
                if wait <= 0:
                    raise NgTimeout(f"rtpengine {command}: no reply from {self._where()} within {self.timeout:g} s")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        raw = await asyncio.shield(future)
                    break
                interval *= 2
        finally:
            del self._pending[cookie]
        return _check(command, raw)

    def _where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}" if self.address else "rtpengine"

    async def close(self) -> None:
        """Close the socket; pending requests fail with ``RelayError``. Idempotent."""
        self._closed = True
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RelayError("rtpengine client is closed"))


def _check(command: str, raw: bytes) -> Reply:
    try:
        reply = decode(raw)
    except BencodeError as exc:
        raise NgBadReply(command, f"unreadable reply ({exc})") from None
    if not isinstance(reply, dict):
        raise NgBadReply(command, "reply is not a dictionary")
    result = reply.get(b"result")
    if result == b"error":
        reason = reply.get(b"error-reason")
        raise NgError(command, reason.decode(errors="replace") if isinstance(reason, bytes) else "error")
    if result == b"load limit":
        raise NgOverloaded(command, "load limit reached")
    if not isinstance(result, bytes):
        raise NgBadReply(command, "reply without a result")
    return reply
