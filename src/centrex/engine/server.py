"""``SipServer``: the SIP listener (UDP + TCP) with the engine's request dispatch: REGISTER to the registrar,
OPTIONS answered 200 (keep-alive pings, monitoring), ACK absorbed, other methods 501 for now; responses dropped.

REGISTER is a non-INVITE request: its server transaction is reduced to a recent-response cache keyed by the top Via
branch and sent-by (RFC 3261 §17.2.3), so a retransmission gets the same final response, and one still being
processed is absorbed. Entries live 32 s (Timer J for UDP)."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from centrex.db.engine import Database
from centrex.engine.registrar import Registrar, RegistrarConfig
from centrex.sip.message import ParseError, Request, Response, parse_vias
from centrex.sip.transport import SipListener, Source
from centrex.sip.transport.base import reply

log = logging.getLogger("centrex.engine")
ALLOW = "REGISTER, OPTIONS, ACK"
CACHE_SECONDS = 32.0
CACHE_MAX = 50_000


class ResponseCache:
    """Final responses by transaction key; ``None`` marks a request still being processed."""

    def __init__(self, lifetime: float = CACHE_SECONDS, max_entries: int = CACHE_MAX) -> None:
        self.lifetime = lifetime
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, ...], tuple[float, Response | None]] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._entries:
            key, (at, _) = next(iter(self._entries.items()))
            if now - at <= self.lifetime and len(self._entries) <= self.max_entries:
                break
            del self._entries[key]

    def lookup(self, key: tuple[str, ...]) -> tuple[bool, Response | None]:
        """(seen, response): seen with None while the first copy is in progress."""
        self._expire(time.monotonic())
        entry = self._entries.get(key)
        return (False, None) if entry is None else (True, entry[1])

    def store(self, key: tuple[str, ...], response: Response | None) -> None:
        self._entries[key] = (time.monotonic(), response)
        self._entries.move_to_end(key)

    def forget(self, key: tuple[str, ...]) -> None:
        self._entries.pop(key, None)


def transaction_key(request: Request, source: Source) -> tuple[str, ...] | None:
    """§17.2.3: branch + sent-by + method (None for pre-RFC 3261 branches: no retransmission matching)."""
    try:
        top = parse_vias(request.headers.get_all("Via"))[0]
    except (ParseError, IndexError):
        return None
    branch = top.branch or ""
    if not branch.startswith("z9hG4bK"):
        return None
    return (branch, f"{top.host}:{top.port}", request.method, source.transport, source.ip, str(source.port))


class SipServer:
    def __init__(self, db: Database, host: str, port: int, config: RegistrarConfig | None = None) -> None:
        self.registrar = Registrar(db, config)
        self.listener = SipListener(host, port, self.handle)
        self.cache = ResponseCache()

    @property
    def address(self) -> str:
        return f"{self.listener.host}:{self.listener.port}"

    async def start(self) -> None:
        await self.listener.start()
        log.info("SIP listening on udp/tcp %s", self.address)

    async def stop(self) -> None:
        await self.listener.stop()

    async def purge(self) -> None:
        removed = await self.registrar.purge_expired()
        if removed:
            log.info("purged %d expired registrations", removed)

    async def handle(self, message: Request | Response, source: Source) -> Response | None:
        if isinstance(message, Response) or message.method == "ACK":
            return None
        key = transaction_key(message, source)
        if key is not None:
            seen, cached = self.cache.lookup(key)
            if seen:
                return cached  # a retransmission: the same answer, or nothing while the first is processed
            self.cache.store(key, None)
        try:
            response = await self._dispatch(message, source)
        except Exception:
            if key is not None:
                self.cache.forget(key)
            raise
        if key is not None:
            self.cache.store(key, response)
        return response

    async def _dispatch(self, request: Request, source: Source) -> Response:
        if request.method == "REGISTER":
            return await self.registrar.handle(request, source)
        if request.method == "OPTIONS":
            response = reply(request, 200, "OK")
            response.headers.add("Allow", ALLOW)
            return response
        response = reply(request, 501, "Not Implemented")
        response.headers.add("Allow", ALLOW)
        return response


async def start_sip(db: Database, hostport: tuple[str, int] | None) -> tuple[SipServer | None, str | None]:
    """Start the SIP server when configured: (server, banner text). A port that cannot be bound is reported in the
    banner and the log; the API keeps running without SIP."""
    if hostport is None:
        return None, None
    server = SipServer(db, *hostport)
    try:
        await server.start()
    except OSError as exc:
        log.error("SIP not started: cannot listen on %s:%d: %s", hostport[0], hostport[1], exc)
        return None, f"NOT started: cannot listen on {hostport[0]}:{hostport[1]} ({exc.strerror or exc})"
    return server, f"udp+tcp {server.address}   (register as <sip_username>@<tenant sip_domain>)"
