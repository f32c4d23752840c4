"""Media anchoring of B2BUA calls, swappable: the interface (``MediaAnchor`` / ``MediaSession``), its built-in
implementation over the engine's RTP relay (``RelayAnchor``, ``centrex.media.rtp.relay``), and ``make_anchor`` /
``anchor_from_settings`` that pick the built-in relay or rtpengine (``centrex.media.rtpengine``, setting
``rtpengine_ng``).

    anchor = await anchor_from_settings(settings, sip_host)        # None: media relay off
    session = await anchor.create_session(call_id, from_tag)       # RelayError: none can be made (no ports …)
    body = await session.rewrite(sdp, "a", "192.0.2.10", offer=True)   # SdpError (488/400/503): not anchorable
    session.idle_seconds(time.monotonic())                         # media timeout
    legs = await session.stats(); await session.close()            # CDR legs, then release

Built-in relay (``anchor``): a body from the caller (INVITE, or ACK with a late offer's answer) is pointed at the
relay's leg B (the callee sends there), and the caller's announced address becomes leg A's remote; a body from the
callee (18x, 200) is pointed at leg A, its address becomes leg B's remote. Only the first RTP stream is relayed; any
further stream is disabled (port 0) so no phone sends media the relay cannot carry. A stream announced on a null
(``0.0.0.0``, old-style hold) or non-IP address gets no remote until its first packet. Offer or answer makes no
difference to the relay.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Protocol

from centrex.media.rtp import RelayError, RtpRelay, Session, SessionStats
from centrex.media.rtp.relay import LegName, LegStats
from centrex.media.rtpengine.session import RtpengineAnchor
from centrex.sip.sdp import SdpError, SessionDescription, rewrite_media_address

if TYPE_CHECKING:
    from centrex.config import Settings

__all__ = [
    "LegName",
    "MediaAnchor",
    "MediaSession",
    "RelayAnchor",
    "RelaySession",
    "anchor",
    "anchor_from_settings",
    "cdr_legs",
    "make_anchor",
]


class MediaSession(Protocol):
    """One call's media anchored: leg ``a`` towards the caller, ``b`` towards the callee."""

    async def rewrite(self, body: bytes, from_leg: LegName, address: str, *, offer: bool) -> bytes:
        """The SDP sent by the phone on ``from_leg``, rewritten so the other phone sends its media to the anchor
        (``address``: the anchor's IP as that phone should see it; rtpengine uses its own). ``offer``: an offer
        (INVITE, re-INVITE, UPDATE, a late offer in a 200) or an answer. ``SdpError`` (``status`` 488, 400, or 503
        when the anchor is out of service) when the body cannot be anchored."""
        ...

    def idle_seconds(self, now: float) -> float:
        """Seconds since RTP/RTCP was last seen in either direction (since creation if never); ``now`` monotonic."""
        ...

    async def stats(self) -> list[dict[str, Any]]:
        """The media counters as CDR legs ``media-a`` (caller) and ``media-b`` (callee)."""
        ...

    async def close(self) -> None:
        """Release the anchor's resources for the call. Idempotent."""
        ...


class MediaAnchor(Protocol):
    async def create_session(self, call_id: str, from_tag: str) -> MediaSession:
        """A session for the call (A leg's Call-ID and From tag); ``RelayError`` when none can be made."""
        ...

    async def close(self) -> None:
        """Close every session and the anchor."""
        ...


# ------------------------------------------------------------------------------------------------ built-in relay
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def anchor(session: Session, body: bytes, from_leg: LegName, address: str) -> bytes:
    """The SDP ``body`` sent by the phone on ``from_leg``, rewritten to the relay's other leg at ``address``; the
    announced address becomes ``from_leg``'s remote. Raises ``SdpError`` for a body that is not usable SDP."""
    sd = SessionDescription.parse(body)
    relayed = next((i for i, m in enumerate(sd.media) if m.is_rtp and not m.rejected), None)
    if relayed is None:
        raise SdpError("no RTP stream to relay", status=488)
    media = sd.media[relayed]
    conn = sd.connection_for(media)
    ip = conn.address if conn is not None else ""
    port = media.port if conn is not None and not conn.is_null and _is_ip(ip) else 0
    rtcp = media.rtcp
    rtcp_port = rtcp.port if rtcp is not None and port and 0 < rtcp.port <= 65535 else None
    try:
        session.set_remote(from_leg, ip if port else "0.0.0.0", port, rtcp_port)  # noqa: S104 (not bound)
    except RelayError as exc:
        raise SdpError(f"media address not usable: {exc}", status=488) from None
    towards = session.leg_b if from_leg == "a" else session.leg_a
    out = rewrite_media_address(
        sd, address, [towards.local_port if i == relayed else None for i in range(len(sd.media))]
    )
    for i, m in enumerate(out.media):
        if i != relayed:
            m.port = 0
    return bytes(out)


def _leg_record(name: LegName, role: str, leg: LegStats) -> dict[str, Any]:
    return {
        "id": f"media-{name}",
        "kind": "media",
        "role": role,
        "relay_port": leg.local_port,
        "remote": f"{leg.remote[0]}:{leg.remote[1]}" if leg.remote is not None else None,
        "latched": leg.latched,
        "rtp_packets_in": leg.rtp_packets_in,
        "rtp_packets_out": leg.rtp_packets_out,
        "rtp_bytes_in": leg.rtp_bytes_in,
        "rtp_bytes_out": leg.rtp_bytes_out,
        "rtcp_packets_in": leg.rtcp_packets_in,
        "rtcp_packets_out": leg.rtcp_packets_out,
        "lost": leg.lost,
        "rejected": leg.rejected,
        "malformed": leg.malformed,
    }


def cdr_legs(stats: SessionStats) -> list[dict[str, Any]]:
    """The relay's counters as two CDR legs (``media-a`` towards the caller, ``media-b`` towards the callee);
    ``*_in`` came from that phone, ``*_out`` went to it."""
    return [_leg_record("a", "caller", stats.leg_a), _leg_record("b", "callee", stats.leg_b)]


class RelaySession:
    """``MediaSession`` over one ``centrex.media.rtp.Session``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def rewrite(self, body: bytes, from_leg: LegName, address: str, *, offer: bool) -> bytes:
        return anchor(self.session, body, from_leg, address)

    def idle_seconds(self, now: float) -> float:
        return self.session.idle_seconds(now)

    async def stats(self) -> list[dict[str, Any]]:
        return cdr_legs(self.session.stats())

    async def close(self) -> None:
        await self.session.close()


class RelayAnchor:
    """``MediaAnchor`` over the engine's ``RtpRelay`` (which it owns: ``close`` closes it)."""

    def __init__(self, relay: RtpRelay) -> None:
        self.relay = relay

    @property
    def ip(self) -> str:
        return self.relay.ip

    async def create_session(self, call_id: str, from_tag: str) -> RelaySession:
        return RelaySession(await self.relay.create_session(f"{call_id}/{from_tag}"))

    async def close(self) -> None:
        await self.relay.close()


# ------------------------------------------------------------------------------------------------ choice
async def make_anchor(
    ip: str, port_min: int, port_max: int, *, rtpengine_ng: str | None = None, media_timeout: float = 0.0
) -> MediaAnchor:
    """rtpengine at ``rtpengine_ng`` (HOST:PORT) when given, else the built-in relay on ``ip`` with ports
    ``port_min``-``port_max``. ``media_timeout`` (seconds, 0: none) sets how often idle time is sampled (a quarter
    of it, at most 1 s for the relay and 2 s for rtpengine). ``RelayError`` when the anchor cannot be made."""
    if rtpengine_ng:
        poll = min(2.0, media_timeout / 4) if media_timeout > 0 else 2.0
        return await RtpengineAnchor.connect(rtpengine_ng, poll_interval=poll)
    if media_timeout > 0:
        return RelayAnchor(RtpRelay(ip, port_min, port_max, inactivity_timeout=media_timeout))
    return RelayAnchor(RtpRelay(ip, port_min, port_max))


async def anchor_from_settings(settings: Settings, sip_host: str) -> MediaAnchor | None:
    """The anchor the settings ask for (``media_relay``, ``rtp_port_range``, ``rtp_bind`` or ``sip_host``,
    ``rtpengine_ng``, ``media_timeout_seconds``); None when ``media_relay`` is off."""
    if not settings.media_relay:
        return None
    low, high = settings.rtp_ports
    return await make_anchor(
        settings.rtp_bind or sip_host,
        low,
        high,
        rtpengine_ng=settings.rtpengine_ng,
        media_timeout=settings.media_timeout_seconds,
    )
