"""``MediaAnchor`` / ``MediaSession`` over rtpengine (ng protocol, ``centrex.media.rtpengine.client``).

One rtpengine call per B2BUA call: rtpengine's call-id is the A leg's Call-ID, the caller's side is the A leg's
From tag and the callee's side a tag made up from both (``b_tag``): the B2BUA's two legs are two dialogs, so the
B leg's real tags mean nothing to the caller's dialog. An offer from leg X is ``offer`` with from-tag = X's tag (and
to-tag = the other's once an answer was seen: a re-offer, either way); an answer from X is ``answer`` with
from-tag = the offerer's tag and to-tag = X's. Flags: ``replace: [origin, session-connection]`` (rtpengine owns
o= and c=), ``ICE: remove``. ``address`` is ignored: the SDP carries rtpengine's own interface address.

Before rtpengine sees the SDP it is parsed here like the built-in relay does (``SdpError`` 400 when malformed, 488
without an RTP stream), so both anchors refuse the same bodies. rtpengine answering ``error`` → ``SdpError`` 488;
no answer, ``load limit`` or a closed client → ``SdpError`` 503.

Idle time: the anchor polls ``query`` for every session rtpengine knows (every ``poll_interval`` seconds, a bounded
number at once) and notes when the RTP+RTCP packet totals moved; a call rtpengine forgot (its own timeout) stops
moving. ``stats`` queries once more; ``close`` sends ``delete`` once any offer was sent (errors are logged, not
raised); an offer or answer that returns after ``close`` deletes the call again and fails with ``SdpError`` 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from centrex.media.rtp.relay import LegName, RelayError
from centrex.media.rtpengine.bencode import Value
from centrex.media.rtpengine.client import NgBadReply, NgClient, NgError, NgOverloaded, Reply, parse_hostport
from centrex.sip.sdp import SdpError, SessionDescription

log = logging.getLogger(__name__)

DEFAULT_FLAGS: dict[str, object] = {"replace": ["origin", "session-connection"], "ICE": "remove"}
_MAX_QUERIES = 32  # queries in flight at once while polling


def b_tag(call_id: str, from_tag: str) -> str:
    """The made-up tag of the callee's side: stable for the call, never equal to ``from_tag``."""
    digest = hashlib.sha256(f"{call_id}\0{from_tag}".encode(errors="surrogateescape")).hexdigest()[:20]
    return f"cx-b-{digest}"


def _get(value: Value | None, *keys: str) -> Value | None:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key.encode())
    return value


def _int(value: Value | None) -> int:
    return value if isinstance(value, int) else 0


def _totals(reply: Reply) -> int:
    return _int(_get(reply, "totals", "RTP", "packets")) + _int(_get(reply, "totals", "RTCP", "packets"))


class _Side:
    """Counters of one tag (one phone) from a ``query`` reply: ``*_in`` came from that phone."""

    def __init__(self, tag_reply: Value | None) -> None:
        self.local_port: int | None = None
        self.remote: str | None = None
        self.rtp_packets = self.rtp_bytes = self.rtcp_packets = self.rtcp_bytes = self.errors = 0
        medias = _get(tag_reply, "medias")
        for media in medias if isinstance(medias, list) else []:
            streams = _get(media, "streams")
            for stream in streams if isinstance(streams, list) else []:
                flags = _get(stream, "flags")
                rtcp = isinstance(flags, list) and b"RTCP" in flags
                packets = _int(_get(stream, "stats", "packets"))
                size = _int(_get(stream, "stats", "bytes"))
                self.errors += _int(_get(stream, "stats", "errors"))
                if rtcp:
                    self.rtcp_packets += packets
                    self.rtcp_bytes += size
                    continue
                self.rtp_packets += packets
                self.rtp_bytes += size
                if self.local_port is None:
                    port = _get(stream, "local port")
                    self.local_port = port if isinstance(port, int) else None
                    address, remote_port = _get(stream, "endpoint", "address"), _get(stream, "endpoint", "port")
                    if isinstance(address, bytes) and isinstance(remote_port, int) and remote_port:
                        host = address.decode(errors="replace")
                        self.remote = f"[{host}]:{remote_port}" if ":" in host else f"{host}:{remote_port}"


class RtpengineSession:
    """One B2BUA call anchored by rtpengine (see the module docstring)."""

    def __init__(self, owner: RtpengineAnchor, call_id: str, from_tag: str) -> None:
        self._owner = owner
        self.call_id = call_id
        self.tags: dict[LegName, str] = {"a": from_tag, "b": b_tag(call_id, from_tag)}
        self.known = False  # rtpengine has the call (an offer succeeded)
        self.offered = False  # an offer was sent: rtpengine may have the call even when its reply was lost
        self.answered = False  # an answer was seen: later offers name both tags
        self.closed = False
        self.last_query: Reply | None = None
        self._seen = -1
        self._since = time.monotonic()

    async def rewrite(self, body: bytes, from_leg: LegName, address: str, *, offer: bool) -> bytes:
        if self.closed:
            raise SdpError("the media session is closed", status=503)
        sd = SessionDescription.parse(body)  # SdpError 400 for a malformed body, before rtpengine sees it
        if not any(m.is_rtp and not m.rejected for m in sd.media):
            raise SdpError("no RTP stream to relay", status=488)
        this, other = self.tags[from_leg], self.tags["b" if from_leg == "a" else "a"]
        message: dict[str, object] = {**self._owner.flags, "call-id": self.call_id, "sdp": body}
        if offer:
            message.update({"command": "offer", "from-tag": this})
            if self.answered:
                message["to-tag"] = other
            self.offered = True
        else:
            message.update({"command": "answer", "from-tag": other, "to-tag": this})
        try:
            reply = await self._owner.client.request(message)
        except (NgOverloaded, NgBadReply) as exc:
            raise SdpError(f"media anchor unavailable: {exc}", status=503) from None
        except NgError as exc:
            raise SdpError(f"rtpengine refused the SDP: {exc.reason}", status=488) from None
        except RelayError as exc:  # no reply, client closed
            raise SdpError(f"media anchor unavailable: {exc}", status=503) from None
        sdp = reply.get(b"sdp")
        if not isinstance(sdp, bytes) or not sdp:
            raise SdpError(f"rtpengine {message['command']}: reply without SDP", status=503)
        if offer:
            self.known = True
        else:
            self.answered = True
        if self.closed:  # closed while rtpengine worked on it: the delete may have come first
            await self._delete()
            raise SdpError("the media session was closed meanwhile", status=503)
        return sdp

    def _observe(self, reply: Reply, now: float) -> None:
        self.last_query = reply
        seen = _totals(reply)
        if seen != self._seen:
            if self._seen >= 0 or seen > 0:
                self._since = now
            self._seen = seen

    async def query(self) -> Reply | None:
        """rtpengine's ``query`` of the call (None before an offer, after close, or when it fails)."""
        if not self.known or self.closed:
            return None
        try:
            reply = await self._owner.client.request({"command": "query", "call-id": self.call_id})
        except RelayError as exc:
            log.debug("rtpengine query of %s failed: %s", self.call_id, exc)
            return None
        self._observe(reply, time.monotonic())  # the reply's time: idle time is never overestimated
        return reply

    def idle_seconds(self, now: float) -> float:
        return max(0.0, now - self._since)

    async def stats(self) -> list[dict[str, Any]]:
        reply = await self.query() or self.last_query
        sides = {leg: _Side(_get(reply, "tags", tag)) for leg, tag in self.tags.items()}
        return [
            _leg_record("a", "caller", sides["a"], sides["b"]),
            _leg_record("b", "callee", sides["b"], sides["a"]),
        ]

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._owner._forget(self)
        if self.offered:
            await self._delete()

    async def _delete(self) -> None:
        try:
            await self._owner.client.request({"command": "delete", "call-id": self.call_id, "from-tag": self.tags["a"]})
        except NgError as exc:  # typically: rtpengine never made the call, or forgot it (its own timeout)
            log.debug("rtpengine delete of %s: %s", self.call_id, exc)
        except RelayError as exc:
            log.warning("rtpengine delete of %s failed: %s", self.call_id, exc)


def _leg_record(name: LegName, role: str, side: _Side, other: _Side) -> dict[str, Any]:
    """Same keys as the built-in relay's legs; ``*_out`` is what rtpengine received from the other phone (its
    ``query`` counts only received packets), ``lost`` is not known (None), ``malformed`` is rtpengine's errors."""
    return {
        "id": f"media-{name}",
        "kind": "media",
        "role": role,
        "anchor": "rtpengine",
        "relay_port": side.local_port,
        "remote": side.remote,
        "latched": side.rtp_packets > 0,
        "rtp_packets_in": side.rtp_packets,
        "rtp_packets_out": other.rtp_packets,
        "rtp_bytes_in": side.rtp_bytes,
        "rtp_bytes_out": other.rtp_bytes,
        "rtcp_packets_in": side.rtcp_packets,
        "rtcp_packets_out": other.rtcp_packets,
        "lost": None,
        "rejected": 0,
        "malformed": side.errors,
    }


class RtpengineAnchor:
    """``MediaAnchor`` over one rtpengine ng control socket (owns the client: ``close`` closes it)."""

    def __init__(
        self, client: NgClient, *, poll_interval: float = 2.0, flags: Mapping[str, object] | None = None
    ) -> None:
        if poll_interval <= 0:
            raise RelayError("poll_interval must be positive")
        self.client = client
        self.poll_interval = poll_interval
        self.flags: dict[str, object] = dict(DEFAULT_FLAGS if flags is None else flags)
        self.sessions: dict[tuple[str, str], RtpengineSession] = {}
        self._poller: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def connect(
        cls, hostport: str, *, poll_interval: float = 2.0, retransmit: float = 0.5, request_timeout: float = 4.0
    ) -> RtpengineAnchor:
        """An anchor talking to rtpengine's ng listener at ``HOST:PORT`` (nothing is sent yet)."""
        host, port = parse_hostport(hostport)
        client = await NgClient.connect(host, port, retransmit=retransmit, request_timeout=request_timeout)
        return cls(client, poll_interval=poll_interval)

    async def ping(self) -> bool:
        """True when rtpengine answers ``ping``."""
        try:
            reply = await self.client.request({"command": "ping"})
        except RelayError:
            return False
        return reply.get(b"result") == b"pong"

    async def create_session(self, call_id: str, from_tag: str) -> RtpengineSession:
        """A session (no I/O: rtpengine makes the call at the first offer); ``RelayError`` when closed or taken."""
        if self._closed:
            raise RelayError("the rtpengine anchor is closed")
        key = (call_id, from_tag)
        if key in self.sessions:
            raise RelayError(f"a media session for call {call_id!r} / {from_tag!r} exists already")
        session = RtpengineSession(self, call_id, from_tag)
        self.sessions[key] = session
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="rtpengine-query")
        return session

    def _forget(self, session: RtpengineSession) -> None:
        key = (session.call_id, session.tags["a"])
        if self.sessions.get(key) is session:
            del self.sessions[key]

    async def _poll(self) -> None:
        limit = asyncio.Semaphore(_MAX_QUERIES)

        async def one(session: RtpengineSession) -> None:
            async with limit:
                await session.query()

        while True:
            await asyncio.sleep(self.poll_interval)
            live = [s for s in self.sessions.values() if s.known and not s.closed]
            if live:
                await asyncio.gather(*(one(s) for s in live), return_exceptions=True)

    async def close(self) -> None:
        """Delete every session at rtpengine, stop polling, close the client."""
        self._closed = True
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for session in list(self.sessions.values()):
            await session.close()
        await self.client.close()
