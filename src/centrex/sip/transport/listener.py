"""``SipListener``: UDP (a DatagramProtocol) and TCP (asyncio streams cut by ``StreamFramer``) on one HOST:PORT.

Each message is handled in its own task, at most ``max_pending`` at a time (more are dropped and counted: UDP
senders retransmit). Responses to a TCP request go back on its connection (§18.2.2); to a UDP one, per
``response_target``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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


class SipListener:
    def __init__(self, host: str, port: int, handler: Handler, *, max_pending: int = 500) -> None:
        self.host = host
        self.port = port
        self.handler = handler
        self.max_pending = max_pending
        self.stats = Stats()
        self._udp: _Udp | None = None
        self._tcp: asyncio.Server | None = None
        self._streams: dict[tuple[str, int], asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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
        for writer in list(self._streams.values()):
            writer.close()
        if self._udp is not None and self._udp.transport is not None:
            self._udp.transport.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._tcp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 5)
        self._udp = None
        self._tcp = None

    # ------------------------------------------------------------------------------------------------ incoming
    def incoming(self, data: bytes, source: Source) -> None:
        """One datagram or TCP frame: parse, answer malformed requests, hand good messages to the handler."""
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
        data = bytes(response)
        if source.transport == "tcp":
            writer = self._streams.get((source.ip, source.port))
            if writer is None or writer.is_closing():
                return False
            writer.write(data)
        else:
            if self._udp is None or self._udp.transport is None:
                return False
            self._udp.transport.sendto(data, response_target(response, source))
        self.stats.sent += 1
        return True

    # ------------------------------------------------------------------------------------------------ tcp
    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not peer or len(self._streams) >= MAX_TCP_CONNECTIONS:
            writer.close()
            return
        key = (str(peer[0]), int(peer[1]))
        source = Source("tcp", *key)
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
                    log.debug("closing TCP %s:%d: %s", key[0], key[1], exc)
                    break
                if framer.keepalives > before:
                    writer.write(b"\r\n")  # RFC 5626 §4.4.1 pong
                for frame in frames:
                    self.incoming(frame, source)
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            self._streams.pop(key, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
