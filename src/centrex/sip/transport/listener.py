"""``Listener`` (what every SIP listener shares) and ``SipListener``: UDP (a DatagramProtocol) and TCP (asyncio
streams cut by ``StreamFramer``) on one HOST:PORT.

Each message is handled in its own task, at most ``max_pending`` at a time (more are dropped and counted: UDP
senders retransmit). Responses to a request that came over a connection go back on that connection (§18.2.2); to a
UDP one, per ``response_target``. ``send_to(message, dest)`` sends the engine's own requests (and responses built
for a destination): over UDP to ``dest``'s address, over a connection to the open connection from ``dest`` (the one
the phone registered on: connection reuse, RFC 5923 style) — False when there is none, nothing is dialled out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import cast

from centrex.sip.message import FramingError, ParseError, Request, Response, StreamFramer
from centrex.sip.transport.base import (
    Handler,
    Source,
    Stats,
    add_received,
    error_response,
    read_message,
    response_target,
)

log = logging.getLogger("centrex.sip.transport")
MAX_TCP_CONNECTIONS = 1000
TCP_IDLE_SECONDS = 600.0


class Listener(ABC):
    """Parsing and dispatch of incoming messages, answers, and the open stream connections by peer (TCP, TLS).
    Subclasses say which transports they serve (``transports``) and how bytes leave (``_write``)."""

    transports: tuple[str, ...] = ()

    def __init__(self, host: str, port: int, handler: Handler, *, max_pending: int = 500) -> None:
        self.host = host
        self.port = port
        self.handler = handler
        self.max_pending = max_pending
        self.stats = Stats()
        self._streams: dict[tuple[str, int], asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @abstractmethod
    async def start(self) -> None:
        """Bind and accept messages."""

    @abstractmethod
    async def stop(self) -> None:
        """Close everything this listener opened."""

    @property
    def connections(self) -> int:
        """Open connections (TCP, TLS, WebSocket)."""
        return len(self._streams)

    async def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------------------------------------ incoming
    def incoming(self, data: bytes, source: Source) -> None:
        """One datagram, stream frame or WebSocket message: parse, answer malformed requests, hand good messages to
        the handler."""
        self.stats.received += 1
        try:
            msg = read_message(data)
            if isinstance(msg, Request):
                add_received(msg, source)
        except ParseError as exc:
            answer = error_response(data, exc, source)
            if answer is None:
                self.stats.dropped += 1
                log.debug("dropped malformed message from %s:%d: %s", source.ip, source.port, exc)
            else:
                self.stats.rejected += 1
                self.send(answer, source)
            return
        if len(self._tasks) >= self.max_pending:
            self.stats.dropped += 1
            return
        task = asyncio.get_running_loop().create_task(self._handle(msg, source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, msg: Request | Response, source: Source) -> None:
        try:
            response = await self.handler(msg, source)
        except Exception:
            log.exception("SIP handler failed for %s from %s:%d", type(msg).__name__, source.ip, source.port)
            return
        if response is not None:
            self.send(response, source)

    # ------------------------------------------------------------------------------------------------ outgoing
    def send(self, response: Response, source: Source) -> bool:
        """Send a response to the request that came from ``source``; False when it cannot be sent."""
        if source.transport == "udp":
            ip, port = response_target(response, source)
            return self.send_to(response, Source("udp", ip, port))
        return self.send_to(response, source)

    def send_to(self, message: Request | Response | bytes, dest: Source) -> bool:
        """Send ``message`` to ``dest`` (its address over UDP; its open connection otherwise); False when it
        cannot be sent (no such connection, listener stopped)."""
        data = message if isinstance(message, bytes) else bytes(message)
        if not self._write(data, dest):
            return False
        self.stats.sent += 1
        return True

    def _write(self, data: bytes, dest: Source) -> bool:
        writer = self._streams.get((dest.ip, dest.port))
        if writer is None or writer.is_closing():
            return False
        writer.write(data)
        return True

    # ------------------------------------------------------------------------------------------------ streams
    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str) -> None:
        """One TCP or TLS connection: messages cut by Content-Length, double-CRLF pings answered (RFC 5626)."""
        peer = writer.get_extra_info("peername")
        if not peer or len(self._streams) >= MAX_TCP_CONNECTIONS:
            writer.close()
            return
        key = (str(peer[0]), int(peer[1]))
        source = Source(transport, *key)
        self._streams[key] = writer

        framer = StreamFramer()
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65536), TCP_IDLE_SECONDS)
                if not data:
                    break
                before = framer.keepalives
                try:
                    frames = framer.feed(data)
                except FramingError as exc:
                    self.stats.dropped += 1
                    log.debug("closing %s %s:%d: %s", transport, key[0], key[1], exc)
                    break
                if framer.keepalives > before:
                    writer.write(b"\r\n")  # RFC 5626 §4.4.1 pong
                for frame in frames:
                    self.incoming(frame, source)
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            if self._streams.get(key) is writer:
                del self._streams[key]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _close_streams(self) -> None:
        for writer in list(self._streams.values()):
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, listener: SipListener) -> None:
        self.listener = listener
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        source = Source("udp", str(addr[0]), int(addr[1]))
        if data.strip(b"\r\n") == b"":
            return  # keep-alive (RFC 5626 §3.5.1 uses CRLF over UDP too)
        self.listener.incoming(data, source)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


class SipListener(Listener):
    """UDP and TCP on one HOST:PORT (port 0: an ephemeral port, the same for both)."""

    transports = ("udp", "tcp")

    def __init__(self, host: str, port: int, handler: Handler, *, max_pending: int = 500) -> None:
        super().__init__(host, port, handler, max_pending=max_pending)
        self._udp: _Udp | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(self.host, self.port))
        self._udp = protocol
        if self.port == 0:  # an ephemeral port: TCP takes the one UDP got
            sock = protocol.transport.get_extra_info("sockname") if protocol.transport else None
            self.port = int(sock[1]) if sock else 0
        try:
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port, limit=1 << 16)
        except OSError:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._tcp is not None:
            self._tcp.close()
        await self._close_streams()
        if self._udp is not None and self._udp.transport is not None:
            self._udp.transport.close()
        await self._cancel_tasks()
        if self._tcp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 5)
        self._udp = None
        self._tcp = None

    def _write(self, data: bytes, dest: Source) -> bool:
        if dest.transport == "tcp":
            return super()._write(data, dest)
        if self._udp is None or self._udp.transport is None:
            return False
        self._udp.transport.sendto(data, (dest.ip, dest.port))
        return True

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve_stream(reader, writer, "tcp")
