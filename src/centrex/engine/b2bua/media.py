"""Media anchoring of a B2BUA call through the engine's RTP relay (``centrex.media.rtp.relay``).

Every SDP body that crosses the B2BUA is rewritten by ``anchor``: a body from the caller (INVITE, or ACK with a late
offer's answer) is pointed at the relay's leg B (the callee sends there), and the caller's announced address becomes
leg A's remote; a body from the callee (18x, 200) is pointed at leg A, its address becomes leg B's remote. Only the
first RTP stream is relayed; any further stream is disabled (port 0) so no phone sends media the relay cannot carry.
A stream announced on a null (``0.0.0.0``, old-style hold) or non-IP address gets no remote until its first packet.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from centrex.media.rtp import RelayError, Session, SessionStats
from centrex.media.rtp.relay import LegStats
from centrex.sip.sdp import SdpError, SessionDescription, rewrite_media_address

LegName = Literal["a", "b"]


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
