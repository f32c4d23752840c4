"""SIP over WebSocket (RFC 7118) for browser phones (JsSIP, SIP.js): ``WsListener`` serves ``ws`` (or ``wss`` with an
``ssl.SSLContext``) with the ``websockets`` package.

- The handshake must offer the ``sip`` subprotocol (§4.1); a client that does not is refused by the handshake.
- One SIP message per WebSocket message, text or binary (§5.1); no Content-Length framing is needed. Outgoing
  messages go as text frames when they are UTF-8 (what browsers expect), binary otherwise.
- A WebSocket phone has no address of its own: its Via and Contact hosts are random ``*.invalid`` names (§5.2). So
  everything to it goes back over its connection, known by the connection's peer address (``Source`` ip/port, which
  the registrar stores with the binding): ``send_to`` writes to that connection, never to the Contact's host.
- Each connection has an ordered outgoing queue (``send_to`` is synchronous, the socket write is not)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from centrex.sip.transport.base import Handler, Source
from centrex.sip.transport.listener import MAX_TCP_CONNECTIONS, Listener

log = logging.getLogger("centrex.sip.transport")
# The websockets library's own lines (server listening/closing, failed handshakes): warnings and up unless set.
WS_LOG = logging.getLogger("centrex.sip.transport.websockets")
if WS_LOG.level == logging.NOTSET:
    WS_LOG.setLevel(logging.WARNING)
SUBPROTOCOL = Subprotocol("sip")
MAX_MESSAGE = 1 << 17
OUT_QUEUE = 200  # messages waiting for one slow connection; more are refused (send_to → False)
PING_SECONDS = 30.0


class _Peer:
    """One WebSocket connection and its outgoing queue."""

    def __init__(self, conn: ServerConnection) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(OUT_QUEUE)
        self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                data = await self.queue.get()
                try:
                    await self.conn.send(data.decode("utf-8"))
                except UnicodeDecodeError:
                    await self.conn.send(data)


class WsListener(Listener):
    """SIP over WebSocket on HOST:PORT; ``context`` given: WSS (transport ``wss``), else WS (``ws``)."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        context: ssl.SSLContext | None = None,
        *,
        max_pending: int = 500,
    ) -> None:
        super().__init__(host, port, handler, max_pending=max_pending)
        self.context = context
        self.transport = "wss" if context is not None else "ws"
        self.transports = (self.transport,)
        self._server: Server | None = None
        self._peers: dict[tuple[str, int], _Peer] = {}

    @property
    def connections(self) -> int:
        return len(self._peers)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"

    async def start(self) -> None:
        self._server = await serve(
            self._serve_ws,
            self.host,
            self.port,
            ssl=self.context,
            subprotocols=[SUBPROTOCOL],
            compression=None,
            max_size=MAX_MESSAGE,
            ping_interval=PING_SECONDS,
            ping_timeout=PING_SECONDS,
            server_header="Centrex",
            logger=WS_LOG,
        )
        sockets = list(self._server.sockets)
        if self.port == 0 and sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        for peer in list(self._peers.values()):
            peer.task.cancel()
        await asyncio.gather(*(p.task for p in self._peers.values()), return_exceptions=True)
        self._peers.clear()
        await self._cancel_tasks()
        self._server = None

    def _write(self, data: bytes, dest: Source) -> bool:
        peer = self._peers.get((dest.ip, dest.port))
        if peer is None or peer.task.done():
            return False
        try:
            peer.queue.put_nowait(data)
        except asyncio.QueueFull:
            return False
        return True

    async def _serve_ws(self, conn: ServerConnection) -> None:
        address = conn.remote_address
        if conn.subprotocol != SUBPROTOCOL or not address or len(self._peers) >= MAX_TCP_CONNECTIONS:
            await conn.close(1002 if conn.subprotocol != SUBPROTOCOL else 1013)
            return
        key = (str(address[0]), int(address[1]))
        source = Source(self.transport, *key)
        peer = _Peer(conn)
        self._peers[key] = peer
        try:
            async for message in conn:
                data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
                if data.strip(b"\r\n") == b"":
                    continue  # a keep-alive some clients send as a message
                self.incoming(data, source)
        except ConnectionClosed:
            pass
        finally:
            if self._peers.get(key) is peer:
                del self._peers[key]
            peer.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await peer.task
