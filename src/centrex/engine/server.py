"""``SipServer``: the SIP listener (UDP + TCP) with the engine's request dispatch: REGISTER to the registrar,
OPTIONS answered 200 (keep-alive pings, monitoring), INVITE/ACK/BYE/CANCEL/UPDATE/INFO/REFER and responses to the
B2BUA (when a call-flow cache is given; else ACK absorbed, responses dropped), SUBSCRIBE (dialog package, BLF) to
``presence``, other methods 501.

REGISTER is a non-INVITE request: its server transaction is reduced to a recent-response cache keyed by the top Via
branch and sent-by (RFC 3261 §17.2.3), so a retransmission gets the same final response, and one still being
processed is absorbed. Entries live 32 s (Timer J for UDP).

Every request first passes the edge guard (``centrex.sipguard``, one ``Guard`` per server): ``Drop`` → no answer,
``Ban`` → no answer and the ban is written to ``sip_bans`` at once (a short transaction, in the background).
``refresh_bans`` (run every ``BAN_REFRESH_SECONDS`` by the app) writes any ban not yet stored and reloads the active
bans from the database, so bans made or lifted through the API apply within seconds (docs/sip-security.md).

Media: ``start_sip`` gives the server one ``RtpRelay`` (``MediaConfig``: settings ``media_relay``, ``rtp_port_range``,
``rtp_bind``; default bind address the SIP host) that the B2BUA anchors every call's RTP through; it is closed on
stop. With ``media_relay`` off the SDP passes through unchanged (docs/calls.md "Media")."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from centrex.callflow.cache import CallFlowCache
from centrex.config import Settings
from centrex.db.engine import Database
from centrex.db.uow import UnitOfWork
from centrex.engine.b2bua import B2bua, Wire
from centrex.engine.b2bua.core import METHODS as CALL_METHODS
from centrex.engine.keepalive import KeepAlive
from centrex.engine.presence import Presence
from centrex.engine.registrar import Registrar, RegistrarConfig
from centrex.engine.trunk_registration import TrunkRegistrations
from centrex.media.anchor import MediaAnchor, make_anchor
from centrex.media.rtp import RelayError
from centrex.sip.message import ParseError, Request, Response, parse_vias
from centrex.sip.transport import SipListener, Source, TransportConfig, TransportSet, open_transports
from centrex.sip.transport.base import reply
from centrex.sipguard import Allow, Ban, Guard, GuardConfig
from centrex.sipguard.bans import BanEntry
from centrex.sipguard.store import load_active_bans, persist_ban

log = logging.getLogger("centrex.engine")
ALLOW = "REGISTER, OPTIONS, ACK"
ALLOW_CALLS = "REGISTER, OPTIONS, INVITE, ACK, BYE, CANCEL, UPDATE, INFO, REFER, SUBSCRIBE"
CACHE_SECONDS = 32.0
CACHE_MAX = 50_000
BAN_REFRESH_SECONDS = 3.0


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


@dataclass(frozen=True)
class MediaConfig:
    """The media relay of the B2BUA: on/off, UDP port range, bind IP (None: the SIP listener's host)."""

    enabled: bool = True
    port_min: int = 20000
    port_max: int = 29999
    ip: str | None = None
    rtpengine_ng: str | None = None  # HOST:PORT of rtpengine's ng socket: anchor there instead of the built-in relay
    timeout: float = 60.0  # media timeout of answered calls (0: none)

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaConfig:
        low, high = settings.rtp_ports
        return cls(
            settings.media_relay,
            low,
            high,
            settings.rtp_bind,
            settings.rtpengine_ng,
            settings.media_timeout_seconds,
        )


class SipServer:
    def __init__(
        self,
        db: Database,
        host: str,
        port: int,
        config: RegistrarConfig | None = None,
        *,
        guard: GuardConfig | None = None,
        callflow: CallFlowCache | None = None,
        anchor: MediaAnchor | None = None,
        media_ip: str = "",
        media_timeout: float = 0.0,
    ) -> None:
        self.db = db
        self.anchor = anchor
        self.registrar = Registrar(db, config)
        self.guard = Guard(guard or GuardConfig(), is_registered=self.registrar.has_source)
        self.registrar.guard = self.guard
        self.registrar.on_ban = self._banned
        self.listener = SipListener(host, port, self.handle)
        self.transports = TransportSet(self.listener)  # + TLS/WS listeners added by start_sip
        self.b2bua = (
            B2bua(
                db,
                self.registrar,
                Wire(self.transports),
                callflow,
                anchor=anchor,
                media_ip=media_ip,
                media_timeout=media_timeout,
            )
            if callflow is not None
            else None
        )
        self.allow = ALLOW_CALLS if self.b2bua is not None else ALLOW
        self.keepalive: KeepAlive | None = None  # OPTIONS pings to bindings, and trunk registration: with the B2BUA
        self.trunks: TrunkRegistrations | None = None
        self.presence: Presence | None = None  # BLF subscriptions (dialog event package): with the B2BUA
        self.cache = ResponseCache()
        self._ban_lock = asyncio.Lock()
        self._unsaved: list[BanEntry] = []  # bans taken from the guard, not yet stored
        self._ban_tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"{self.listener.host}:{self.listener.port}"

    async def start(self) -> None:
        """Load the live bindings and the active bans, then listen."""
        await self.registrar.load_bindings()
        await self.refresh_bans()
        await self.listener.start()
        if self.b2bua is not None:
            await self.b2bua.start()
            self.keepalive = KeepAlive(self.registrar, self.b2bua, self.b2bua.wire, Settings().sip_keepalive_seconds)
            self.keepalive.start()
            self.trunks = TrunkRegistrations(self.db, self.b2bua, self.b2bua.wire)
            self.trunks.start()
            self.presence = Presence(self.registrar, self.b2bua, self.b2bua.callflow)
            await self.presence.start()
        log.info("SIP listening on udp/tcp %s", self.address)

    async def stop(self) -> None:
        self.registrar.close()
        if self.presence is not None:
            await self.presence.stop()
        if self.trunks is not None:
            await self.trunks.stop()  # un-REGISTERs: before the B2BUA's transactions stop
        if self.keepalive is not None:
            await self.keepalive.stop()
        if self.b2bua is not None:
            await self.b2bua.stop()
        if self.anchor is not None:
            await self.anchor.close()
        await self.transports.stop_extra()
        await self.listener.stop()
        for task in list(self._ban_tasks):
            task.cancel()
        await asyncio.gather(*self._ban_tasks, return_exceptions=True)
        try:
            await self.save_bans()
        except Exception:
            log.exception("could not store %d SIP bans at stop", len(self._unsaved))

    # ------------------------------------------------------------------------------------------------ bans
    def _banned(self) -> None:
        """The guard made a ban: store it now, in the background (the request is not answered)."""
        task = asyncio.get_running_loop().create_task(self._save_logged())
        self._ban_tasks.add(task)
        task.add_done_callback(self._ban_tasks.discard)

    async def _save_logged(self) -> None:
        try:
            await self.save_bans()
        except Exception:
            log.exception("could not store SIP bans (kept in memory, retried at the next refresh)")

    async def save_bans(self) -> int:
        """Store the bans the guard made since the last call (one short transaction); returns how many."""
        async with self._ban_lock:
            return await self._save_unlocked()

    async def _save_unlocked(self) -> int:
        self._unsaved.extend(self.guard.take_new_bans())
        if not self._unsaved:
            return 0
        pending = list(self._unsaved)
        async with UnitOfWork(self.db) as uow:
            for entry in pending:
                await persist_ban(uow.session, entry)
            await uow.commit()
        del self._unsaved[: len(pending)]
        for entry in pending:
            log.warning("SIP ban of %s until %s: %s", entry.source, entry.expires_at, entry.reason)
        return len(pending)

    async def refresh_bans(self) -> None:
        """Store new bans, then make the guard's ban list that of the database (bans made or lifted through the
        API apply); bans that could not be stored stay in force."""
        async with self._ban_lock:
            try:
                await self._save_unlocked()
            except Exception:
                log.exception("could not store SIP bans (kept in memory)")
            async with self.db.session() as session:
                entries = await load_active_bans(session, time.time())
            # No await from here on: a ban made meanwhile is in the guard's queue and kept in force.
            self._unsaved.extend(self.guard.take_new_bans())
            self.guard.import_bans([*entries, *self._unsaved])
            self.guard.purge()

    async def purge(self) -> None:
        removed = await self.registrar.purge_expired()
        if removed:
            log.info("purged %d expired registrations", removed)

    async def handle(self, message: Request | Response, source: Source) -> Response | None:
        if isinstance(message, Response):
            if self.b2bua is not None:
                self.b2bua.on_response(message, source)
            return None
        decision = self.guard.check_request(source.ip, source.port, message.headers.get("User-Agent"))
        if not isinstance(decision, Allow):
            if isinstance(decision, Ban):
                self._banned()
            return None  # refused at the edge: no answer
        if self.b2bua is not None and message.method in CALL_METHODS:
            await self.b2bua.on_request(message, source)  # answered through its own transactions
            return None
        if message.method == "ACK":
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

    async def _dispatch(self, request: Request, source: Source) -> Response | None:
        if request.method == "REGISTER":
            return await self.registrar.handle(request, source)
        if request.method == "SUBSCRIBE" and self.presence is not None:
            return await self.presence.handle(request, source)
        if request.method == "OPTIONS":
            response = reply(request, 200, "OK")
            response.headers.add("Allow", self.allow)
            return response
        response = reply(request, 501, "Not Implemented")
        response.headers.add("Allow", self.allow)
        return response


def transport_config(settings: Settings) -> TransportConfig:
    """The TLS/WS/WSS listeners of the settings (docs/sip.md "Transports")."""
    return TransportConfig(
        tls=settings.sip_tls_hostport,
        ws=settings.sip_ws_hostport,
        wss=settings.sip_wss_hostport,
        cert=settings.sip_tls_cert,
        key=settings.sip_tls_key,
        cert_dir=settings.sip_tls_dir,
    )


async def start_sip(
    db: Database,
    hostport: tuple[str, int] | None,
    *,
    guard: GuardConfig | None = None,
    callflow: CallFlowCache | None = None,
    media: MediaConfig | None = None,
    transports: TransportConfig | None = None,
) -> tuple[SipServer | None, str | None]:
    """Start the SIP server when configured: (server, banner text). A port that cannot be bound is reported in the
    banner and the log; the API keeps running without SIP. ``media`` None: read from the settings (environment,
    ``CENTREX_CONFIG``); a relay that cannot be made (bad address) is logged and calls go without it. The TLS, WS
    and WSS listeners (``transports``; None: from the settings) start after UDP/TCP; one that cannot start is logged
    and named in the banner, the others keep running (``centrex.sip.transport.open_transports``)."""
    if hostport is None:
        return None, None
    if media is None:
        media = MediaConfig.from_settings(Settings())
    anchor: MediaAnchor | None = None
    media_line = "media passed through (no relay)"
    ip = media.ip or hostport[0]
    if media.enabled and callflow is not None:
        try:
            anchor = await make_anchor(
                ip, media.port_min, media.port_max, rtpengine_ng=media.rtpengine_ng, media_timeout=media.timeout
            )
            media_line = (
                f"media via rtpengine {media.rtpengine_ng}"
                if media.rtpengine_ng
                else f"media relay {ip} udp {media.port_min}-{media.port_max}"
            )
        except RelayError as exc:
            log.error("media relay not started: %s (calls pass SDP through)", exc)
            media_line = f"media relay NOT started ({exc})"
    server = SipServer(
        db, *hostport, guard=guard, callflow=callflow, anchor=anchor, media_ip=ip, media_timeout=media.timeout
    )
    try:
        await server.start()
    except OSError as exc:
        if anchor is not None:
            await anchor.close()
        log.error("SIP not started: cannot listen on %s:%d: %s", hostport[0], hostport[1], exc)
        return None, f"NOT started: cannot listen on {hostport[0]}:{hostport[1]} ({exc.strerror or exc})"
    if transports is None:
        transports = transport_config(Settings())
    extra = await open_transports(server.transports, server.handle, transports)
    listening = ", ".join([f"udp+tcp {server.address}", *extra])
    return server, f"{listening}   (register as <sip_username>@<tenant sip_domain>; {media_line})"
