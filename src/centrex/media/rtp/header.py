"""RTP fixed header (RFC 3550 §5.1), sans-I/O: parse and build.

    parse_rtp(data)   RtpHeader, or RtpParseError for anything that is not a well-formed RTP packet
    build_rtp(...)    the bytes of a packet (tests, load generators)

The parser checks everything the fixed header lets it check: version 2, the CSRC list and the header extension fit
in the datagram, and the padding count (last octet, when P is set) is non-zero and leaves room for the header. It
raises ``RtpParseError`` (a ``ValueError``) for malformed input and nothing else, whatever the bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
FIXED_HEADER_SIZE = 12
_FIXED = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")


class RtpParseError(ValueError):
    """The datagram is not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """The decoded header; ``payload_offset``/``payload_length`` locate the payload (padding excluded)."""

    version: int
    padding: bool
    extension: bool
    csrc_count: int
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    csrcs: tuple[int, ...]
    extension_profile: int | None
    extension_data: bytes
    payload_offset: int
    payload_length: int
    padding_length: int


def parse_rtp(data: bytes) -> RtpHeader:
    """Decode the RTP header of ``data``; RtpParseError when it is not a well-formed RTP packet."""
    size = len(data)
    if size < FIXED_HEADER_SIZE:
        raise RtpParseError(f"packet of {size} bytes is shorter than the 12-byte RTP header")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data, 0)
    version = first >> 6
    if version != RTP_VERSION:
        raise RtpParseError(f"RTP version {version}, expected 2")
    padding = bool(first & 0x20)
    extension = bool(first & 0x10)
    csrc_count = first & 0x0F
    offset = FIXED_HEADER_SIZE + 4 * csrc_count
    if offset > size:
        raise RtpParseError(f"CSRC count {csrc_count} does not fit in {size} bytes")
    csrcs = struct.unpack_from(f"!{csrc_count}I", data, FIXED_HEADER_SIZE) if csrc_count else ()
    profile: int | None = None
    extension_data = b""
    if extension:
        if offset + 4 > size:
            raise RtpParseError("header extension announced but missing")
        profile, words = _EXTENSION.unpack_from(data, offset)
        offset += 4
        if offset + 4 * words > size:
            raise RtpParseError(f"header extension of {words} words does not fit in {size} bytes")
        extension_data = bytes(data[offset : offset + 4 * words])
        offset += 4 * words
    padding_length = 0
    if padding:
        if size == offset:
            raise RtpParseError("padding bit set but no padding octets")
        padding_length = data[-1]
        if padding_length == 0 or offset + padding_length > size:
            raise RtpParseError(f"padding count {padding_length} is invalid for a {size}-byte packet")
    return RtpHeader(
        version=version,
        padding=padding,
        extension=extension,
        csrc_count=csrc_count,
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        csrcs=tuple(csrcs),
        extension_profile=profile,
        extension_data=extension_data,
        payload_offset=offset,
        payload_length=size - offset - padding_length,
        padding_length=padding_length,
    )


def build_rtp(
    *,
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes = b"",
    marker: bool = False,
    csrcs: tuple[int, ...] = (),
    extension: tuple[int, bytes] | None = None,
    padding: int = 0,
) -> bytes:
    """Serialise an RTP packet. ``extension`` is (profile, data with a length multiple of 4); ``padding`` octets."""
    if not 0 <= payload_type <= 127 or len(csrcs) > 15 or not 0 <= padding <= 255:
        raise ValueError("payload type must be 0-127, at most 15 CSRCs, padding 0-255")
    first = (RTP_VERSION << 6) | (0x20 if padding else 0) | (0x10 if extension else 0) | len(csrcs)
    parts = [_FIXED.pack(first, (0x80 if marker else 0) | payload_type, sequence & 0xFFFF, timestamp, ssrc)]
    parts.extend(struct.pack("!I", csrc) for csrc in csrcs)
    if extension is not None:
        profile, data = extension
        if len(data) % 4:
            raise ValueError("header extension data must be a multiple of 4 bytes")
        parts.append(_EXTENSION.pack(profile, len(data) // 4) + data)
    parts.append(payload)
    if padding:
        parts.append(bytes(padding - 1) + bytes([padding]))
    return b"".join(parts)
