"""RTP: the header parser (``header``, sans-I/O) and the media relay that anchors a call's media (``relay``)."""

from centrex.media.rtp.header import RtpHeader, RtpParseError, build_rtp, parse_rtp
from centrex.media.rtp.relay import Leg, LegStats, PortsExhausted, RelayError, RtpRelay, Session, SessionStats

__all__ = [
    "Leg",
    "LegStats",
    "PortsExhausted",
    "RelayError",
    "RtpHeader",
    "RtpParseError",
    "RtpRelay",
    "Session",
    "SessionStats",
    "build_rtp",
    "parse_rtp",
]
