"""rtpengine as the media anchor: ``bencode`` (the ng protocol's encoding, sans-I/O), ``client`` (the ng control
client over UDP) and ``session`` (``RtpengineAnchor``: the ``centrex.media.anchor`` interface over rtpengine)."""

from centrex.media.rtpengine.bencode import BencodeError, decode, encode
from centrex.media.rtpengine.client import NgBadReply, NgClient, NgError, NgOverloaded, NgTimeout
from centrex.media.rtpengine.session import RtpengineAnchor, RtpengineSession

__all__ = [
    "BencodeError",
    "NgBadReply",
    "NgClient",
    "NgError",
    "NgOverloaded",
    "NgTimeout",
    "RtpengineAnchor",
    "RtpengineSession",
    "decode",
    "encode",
]
