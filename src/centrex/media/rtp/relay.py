"""RTP/RTCP relay (media anchoring): two legs per call, each a port pair on the relay's IP, packets forwarded between.

    relay = RtpRelay("192.0.2.10", 20000, 20999, inactivity_timeout=30, on_timeout=hang_up)
    session = await relay.create_session(call_id)       # PortsExhausted when no pair is free
    session.leg_a.local_port, session.leg_b.local_port  # even RTP ports (RTCP = port + 1) to put in the SDPs
    session.set_remote("a", ip, port)                   # the address the SDP announced (until the first packet)
    session.stats()                                     # SessionStats snapshot: per-leg counters, lost estimate
    await session.close()                               # sockets closed, ports free again when this returns

A leg is the relay's side towards one phone. What arrives on leg A's RTP port is sent out of leg B's RTP port to B's
remote (likewise RTCP), and the other way round. Symmetric latching: the first packet received on a leg fixes that
leg's remote address and port (so phones behind NAT work whatever they announced); packets from any other source are
then dropped and counted (``rejected``). Before the first packet the relay sends to the address set with
``set_remote``; with ``lock_to_announced=True`` the first packet must also come from the announced IP (any port).
``set_remote`` again (re-INVITE) forgets the latch.

Forwarding is one ``datagram_received`` → ``sendto`` with a handful of integer updates: no buffers, queues, tasks or
parsing objects per packet. Datagrams that are not RTP version 2 (or RTCP version 2) are dropped and counted
(``malformed``). The lost estimate follows RFC 3550 A.3 (expected from the extended highest sequence, minus
received; a jump of 3000 or more restarts the count). Inactivity: a periodic check (no per-packet clock) marks a
session ``dead`` when no packet arrived on any of its four sockets for ``inactivity_timeout`` seconds and calls
``on_timeout(session)`` once; closing it is up to the caller. The same check samples the counters of forwarded
packets, so ``session.idle_seconds(now)`` (seconds since RTP/RTCP from a phone was last accepted, for the engine's
media timeout) is exact to within the check's interval, min(1 s, ``inactivity_timeout`` / 4), at no per-packet cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

log = logging.getLogger(__name__)

LegName = Literal["a", "b"]
Address = tuple[str, int]
_MAX_DROPOUT = 3000
_MAX_MISORDER = 100


class RelayError(Exception):
    """A relay operation that cannot be done (bad argument, closed relay or session)."""


class PortsExhausted(RelayError):
    """No free RTP/RTCP port pair is left in the configured range."""


@dataclass(frozen=True, slots=True)
class LegStats:
    """Counters of one leg. ``*_in`` arrived from this leg's phone; ``*_out`` were sent to it."""

    local_port: int
    remote: Address | None
    latched: bool
    rtp_packets_in: int
    rtp_bytes_in: int
    rtp_packets_out: int
    rtp_bytes_out: int
    rtcp_packets_in: int
    rtcp_bytes_in: int
    rtcp_packets_out: int
    rtcp_bytes_out: int
    last_sequence: int | None
    lost: int
    malformed: int
    rejected: int
    unroutable: int


@dataclass(frozen=True, slots=True)
class SessionStats:
    call_id: str
    leg_a: LegStats
    leg_b: LegStats
    dead: bool


class _Socket(asyncio.DatagramProtocol):
    """One UDP socket of a leg; hands datagrams to the leg and signals when the socket is closed."""

    def __init__(self, handler: Callable[[bytes, Address], None]) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.datagram_received = handler  # type: ignore[method-assign,assignment]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.: keep relaying
        log.debug("rtp relay socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Leg:
    """The relay's side towards one phone: an RTP socket on an even port and an RTCP socket on the next one."""

    def __init__(self, name: LegName, local_port: int, lock_to_announced: bool) -> None:
        self.name: LegName = name
        self.local_port = local_port
        self.other: Leg = self
        self._lock = lock_to_announced
        self._rtp = _Socket(self._on_rtp)
        self._rtcp = _Socket(self._on_rtcp)
        self._rtp_out: asyncio.DatagramTransport | None = None
        self._rtcp_out: asyncio.DatagramTransport | None = None
        self.remote: Address | None = None
        self.remote_rtcp: Address | None = None
        self.announced_ip: str | None = None
        self.latched = False
        self.rtcp_latched = False
        self.rtp_packets_in = self.rtp_bytes_in = self.rtp_packets_out = self.rtp_bytes_out = 0
        self.rtcp_packets_in = self.rtcp_bytes_in = self.rtcp_packets_out = self.rtcp_bytes_out = 0
        self.malformed = self.rejected = self.unroutable = 0
        self._last_seq = -1
        self._base_seq = self._max_seq = self._cycles = self._received = 0

    def set_remote(self, ip: str, port: int, rtcp_port: int | None = None) -> None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise RelayError(f"remote address {ip!r} is not an IP address") from None
        if not 0 <= port <= 65535 or (rtcp_port is not None and not 1 <= rtcp_port <= 65535):
            raise RelayError(f"remote port {port} / RTCP port {rtcp_port} out of range")
        self.announced_ip = ip
        self.latched = self.rtcp_latched = False
        if port == 0:  # SDP port 0: stream disabled, nothing to send to until a packet arrives
            self.remote = self.remote_rtcp = None
            return
        self.remote = (ip, port)
        self.remote_rtcp = (ip, rtcp_port if rtcp_port is not None else min(port + 1, 65535))

    def _on_rtp(self, data: bytes, addr: Address) -> None:
        size = len(data)
        if size < 12 or data[0] & 0xC0 != 0x80:
            self.malformed += 1
            return
        if not self.latched:
            if self._lock and self.announced_ip is not None and addr[0] != self.announced_ip:
                self.rejected += 1
                return
            if not self.rtcp_latched and addr != self.remote:  # moved (NAT): RTCP is expected next to RTP
                self.remote_rtcp = (addr[0], addr[1] + 1)
            self.remote = addr
            self.latched = True
        elif addr != self.remote:
            self.rejected += 1
            return
        self.rtp_packets_in += 1
        self.rtp_bytes_in += size
        seq = (data[2] << 8) | data[3]
        self._last_seq = seq
        if self._received == 0:
            self._base_seq = self._max_seq = seq
            self._received = 1
        else:
            delta = (seq - self._max_seq) & 0xFFFF
            if delta < _MAX_DROPOUT:
                if seq < self._max_seq:
                    self._cycles += 65536
                self._max_seq = seq
                self._received += 1
            elif delta <= 65536 - _MAX_MISORDER:  # a jump: the stream restarted (new SSRC, new sequence space)
                self._base_seq = self._max_seq = seq
                self._cycles = 0
                self._received = 1
            else:  # late or duplicated packet
                self._received += 1
        other = self.other
        dest = other.remote
        transport = other._rtp_out
        if dest is None or transport is None:
            self.unroutable += 1
            return
        transport.sendto(data, dest)
        other.rtp_packets_out += 1
        other.rtp_bytes_out += size

    def _on_rtcp(self, data: bytes, addr: Address) -> None:
        size = len(data)
        if size < 8 or data[0] & 0xC0 != 0x80:
            self.malformed += 1
            return
        if not self.rtcp_latched:
            if self._lock and self.announced_ip is not None and addr[0] != self.announced_ip:
                self.rejected += 1
                return
            self.remote_rtcp = addr
            self.rtcp_latched = True
        elif addr != self.remote_rtcp:
            self.rejected += 1
            return
        self.rtcp_packets_in += 1
        self.rtcp_bytes_in += size
        other = self.other
        dest = other.remote_rtcp
        transport = other._rtcp_out
        if dest is None or transport is None:
            self.unroutable += 1
            return
        transport.sendto(data, dest)
        other.rtcp_packets_out += 1
        other.rtcp_bytes_out += size

    @property
    def lost(self) -> int:
        if self._received == 0:
            return 0
        expected = self._cycles + self._max_seq - self._base_seq + 1
        return max(0, expected - self._received)

    def packets_in(self) -> int:
        return self.rtp_packets_in + self.rtcp_packets_in + self.malformed + self.rejected

    def stats(self) -> LegStats:
        return LegStats(
            local_port=self.local_port,
            remote=self.remote,
            latched=self.latched,
            rtp_packets_in=self.rtp_packets_in,
            rtp_bytes_in=self.rtp_bytes_in,
            rtp_packets_out=self.rtp_packets_out,
            rtp_bytes_out=self.rtp_bytes_out,
            rtcp_packets_in=self.rtcp_packets_in,
            rtcp_bytes_in=self.rtcp_bytes_in,
            rtcp_packets_out=self.rtcp_packets_out,
            rtcp_bytes_out=self.rtcp_bytes_out,
            last_sequence=None if self._last_seq < 0 else self._last_seq,
            lost=self.lost,
            malformed=self.malformed,
            rejected=self.rejected,
            unroutable=self.unroutable,
        )

    async def _open(self, rtp_sock: socket.socket, rtcp_sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self._rtp, sock=rtp_sock)
        self._rtp_out = transport
        transport, _ = await loop.create_datagram_endpoint(lambda: self._rtcp, sock=rtcp_sock)
        self._rtcp_out = transport

    async def _close(self) -> None:
        for proto in (self._rtp, self._rtcp):
            if proto.transport is not None:
                proto.transport.close()
                await proto.closed
        self._rtp_out = self._rtcp_out = None


class Session:
    """One relayed call: leg A towards the caller, leg B towards the callee."""

    def __init__(self, relay: RtpRelay, call_id: str, leg_a: Leg, leg_b: Leg) -> None:
        self.call_id = call_id
        self.leg_a = leg_a
        self.leg_b = leg_b
        leg_a.other, leg_b.other = leg_b, leg_a
        self.dead = False
        self.closed = False
        self._relay = relay
        self._seen = 0  # every datagram received (accepted, rejected, malformed): the inactivity check
        self._since = 0.0
        self._media_seen = 0  # RTP/RTCP accepted from either phone: idle_seconds
        self._media_since = 0.0

    def _sample(self, now: float) -> None:
        """Note the time when the packet counters moved since the last sample (the check runs at least every 1 s)."""
        a, b = self.leg_a, self.leg_b
        seen = a.packets_in() + b.packets_in()
        if seen != self._seen:
            self._seen = seen
            self._since = now
        media = a.rtp_packets_in + a.rtcp_packets_in + b.rtp_packets_in + b.rtcp_packets_in
        if media != self._media_seen:
            self._media_seen = media
            self._media_since = now

    def idle_seconds(self, now: float) -> float:
        """Seconds (monotonic ``now``: ``time.monotonic()`` or ``loop.time()``) since RTP or RTCP from either phone
        was last accepted (rejected and malformed datagrams do not count), or since the session was made when none
        was; exact to within the relay's inactivity check interval."""
        self._sample(now)
        return max(0.0, now - self._media_since)

    def leg(self, name: Leg | LegName) -> Leg:
        if isinstance(name, Leg):
            if name is not self.leg_a and name is not self.leg_b:
                raise RelayError("that leg belongs to another session")
            return name
        if name == "a":
            return self.leg_a
        if name == "b":
            return self.leg_b
        raise RelayError(f"unknown leg {name!r}: use 'a' or 'b'")

    def set_remote(self, leg: Leg | LegName, ip: str, port: int, rtcp_port: int | None = None) -> None:
        """The address an SDP announced for ``leg`` (port 0: none); the first packet received re-latches it."""
        if self.closed:
            raise RelayError(f"session {self.call_id!r} is closed")
        self.leg(leg).set_remote(ip, port, rtcp_port)

    def stats(self) -> SessionStats:
        return SessionStats(self.call_id, self.leg_a.stats(), self.leg_b.stats(), self.dead)

    async def close(self) -> None:
        """Close the four sockets; the ports are free again when this returns. Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            await self.leg_a._close()
            await self.leg_b._close()
        finally:
            self._relay._release(self)


class RtpRelay:
    """Allocates port pairs from ``port_min``..``port_max`` on ``ip`` and relays sessions on the running loop."""

    def __init__(
        self,
        ip: str,
        port_min: int,
        port_max: int,
        *,
        inactivity_timeout: float = 60.0,
        on_timeout: Callable[[Session], object] | None = None,
        lock_to_announced: bool = False,
        receive_buffer: int | None = None,
    ) -> None:
        try:
            self._family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
        except ValueError:
            raise RelayError(f"relay address {ip!r} is not an IP address") from None
        first = port_min + (port_min & 1)
        if not 1024 <= port_min <= port_max <= 65535 or first + 1 > port_max:
            raise RelayError(f"port range {port_min}-{port_max} must lie in 1024-65535 and hold one even/odd pair")
        if inactivity_timeout <= 0:
            raise RelayError("inactivity_timeout must be positive")
        self.ip = ip
        self.port_min, self.port_max = port_min, port_max
        self.inactivity_timeout = inactivity_timeout
        self.on_timeout = on_timeout
        self.lock_to_announced = lock_to_announced
        self.receive_buffer = receive_buffer
        self._pairs = list(range(first, port_max, 2))
        self._in_use: set[int] = set()
        self._cursor = 0
        self.sessions: dict[str, Session] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pairs_total(self) -> int:
        return len(self._pairs)

    @property
    def pairs_in_use(self) -> int:
        return len(self._in_use)

    async def create_session(self, call_id: str) -> Session:
        """Two legs with a port pair each; PortsExhausted when the range has no two free pairs."""
        if self._closed:
            raise RelayError("the relay is closed")
        if call_id in self.sessions:
            raise RelayError(f"a session for call {call_id!r} exists already")
        legs: list[Leg] = []
        try:
            for name in ("a", "b"):
                port, rtp_sock, rtcp_sock = self._bind_pair()
                leg = Leg(name, port, self.lock_to_announced)
                legs.append(leg)
                try:
                    await leg._open(rtp_sock, rtcp_sock)
                except BaseException:
                    rtp_sock.close()
                    rtcp_sock.close()
                    raise
        except BaseException:
            for leg in legs:
                await leg._close()
                self._in_use.discard(leg.local_port)
            raise
        session = Session(self, call_id, legs[0], legs[1])
        session._since = session._media_since = asyncio.get_running_loop().time()
        self.sessions[call_id] = session
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch(), name="rtp-relay-inactivity")
        return session

    def _bind_pair(self) -> tuple[int, socket.socket, socket.socket]:
        count = len(self._pairs)
        for step in range(count):
            port = self._pairs[(self._cursor + step) % count]
            if port in self._in_use:
                continue
            socks: list[socket.socket] = []
            try:
                for p in (port, port + 1):
                    sock = socket.socket(self._family, socket.SOCK_DGRAM)
                    socks.append(sock)
                    sock.setblocking(False)
                    if self.receive_buffer:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
                    sock.bind((self.ip, p))
            except OSError:  # taken by another program: try the next pair
                for sock in socks:
                    sock.close()
                continue
            self._cursor = (self._cursor + step + 1) % count
            self._in_use.add(port)
            return port, socks[0], socks[1]
        raise PortsExhausted(
            f"no free RTP port pair in {self.port_min}-{self.port_max} on {self.ip} "
            f"({len(self._in_use)} of {count} pairs in use by this relay)"
        )

    def _release(self, session: Session) -> None:
        self._in_use.discard(session.leg_a.local_port)
        self._in_use.discard(session.leg_b.local_port)
        if self.sessions.get(session.call_id) is session:
            del self.sessions[session.call_id]

    def check_inactivity(self, now: float) -> list[Session]:
        """Mark sessions silent for ``inactivity_timeout`` as dead; returns the newly dead ones."""
        newly_dead: list[Session] = []
        for session in list(self.sessions.values()):
            if session.dead:
                continue
            since = session._since
            session._sample(now)
            if session._since == since and now - since >= self.inactivity_timeout:
                session.dead = True
                newly_dead.append(session)
        return newly_dead

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        interval = min(1.0, self.inactivity_timeout / 4)
        while True:
            await asyncio.sleep(interval)
            for session in self.check_inactivity(loop.time()):
                log.info("rtp relay: session %s inactive for %.1f s", session.call_id, self.inactivity_timeout)
                if self.on_timeout is not None:
                    try:
                        self.on_timeout(session)
                    except Exception:
                        log.exception("rtp relay: on_timeout failed for %s", session.call_id)

    async def close(self) -> None:
        """Close every session and stop the inactivity check."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for session in list(self.sessions.values()):
            await session.close()
