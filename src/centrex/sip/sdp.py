"""SDP (RFC 4566) session descriptions as dataclasses, and the RFC 3264 offer/answer rules the engine needs.

``SessionDescription.parse(data)`` reads bytes or text and checks the line order of RFC 4566 §5; ``bytes(sd)`` and
``str(sd)`` write it back (CRLF line ends). Attributes are kept as an ordered list of ``Attribute`` (name, value), so
unknown attributes survive a round trip in place; typed views (``rtpmap``, ``fmtp``, ``ptime``, ``maxptime``,
direction, ``rtcp`` of RFC 3605) are read from that list.

Offer/answer: ``build_answer`` answers an offer with our codecs (PCMU, PCMA, G722, telephone-event of RFC 4733),
``effective_direction``/``is_hold`` read the direction of a stream (old-style ``c=0.0.0.0`` hold included), and
``rewrite_media_address`` points the streams at a media relay.

Errors: ``SdpError`` (a ``ValueError``) for any malformed description; ``status`` is the SIP response a server should
send (400 for a syntax error in a request body, 488 when the offer cannot be answered).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "DEFAULT_CODECS",
    "G722",
    "PCMA",
    "PCMU",
    "TELEPHONE_EVENT",
    "Attribute",
    "Bandwidth",
    "Codec",
    "Connection",
    "Direction",
    "Media",
    "Origin",
    "Rtcp",
    "RtpMap",
    "SdpError",
    "SessionDescription",
    "Timing",
    "build_answer",
    "effective_direction",
    "is_hold",
    "rewrite_media_address",
]


class SdpError(ValueError):
    """A malformed session description, or an offer that cannot be answered (``status`` 488)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_MAX_INT = 2**64  # NTP times and session ids are 64-bit at most; anything bigger is hostile
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"  # RFC 4566 §5: text is UTF-8 unless a=charset says otherwise; keep any byte


def _token(value: str, what: str) -> str:
    if not _TOKEN.match(value):
        raise SdpError(f"invalid {what} {value!r}")
    return value


def _int(value: str, what: str, maximum: int = _MAX_INT) -> int:
    if not _DIGITS.match(value) or len(value) > 20 or int(value) > maximum:
        raise SdpError(f"invalid {what} {value!r}")
    return int(value)


def _text(value: str, what: str) -> str:
    if "\x00" in value or "\r" in value or "\n" in value:
        raise SdpError(f"invalid character in {what}")
    return value


# --- fields -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`` (RFC 4566 §5.2)."""

    username: str = "-"
    session_id: int = 0
    session_version: int = 0
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "0.0.0.0"  # noqa: S104 - an SDP value, not a socket bind

    @classmethod
    def parse(cls, value: str) -> Origin:
        parts = value.split(" ")
        if len(parts) != 6:
            raise SdpError(f"o= needs 6 fields: {value!r}")
        user, sid, ver, net, addrtype, addr = parts
        return cls(
            _token_or_text(user, "o= username"),
            _int(sid, "o= sess-id"),
            _int(ver, "o= sess-version"),
            _token(net, "o= nettype"),
            _token(addrtype, "o= addrtype"),
            _address(addr, "o= address"),
        )

    def __str__(self) -> str:
        return f"{self.username} {self.session_id} {self.session_version} {self.nettype} {self.addrtype} {self.address}"


def _token_or_text(value: str, what: str) -> str:
    # RFC 4566 §9: username = non-ws-string (visible characters and UTF-8, no space)
    if not value or any(ch.isspace() or ch == "\x00" for ch in value):
        raise SdpError(f"invalid {what} {value!r}")
    return value


def _address(value: str, what: str) -> str:
    return _token_or_text(value, what)


@dataclass(slots=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>`` (RFC 4566 §5.7); multicast ``/ttl`` and ``/count`` parsed."""

    address: str = "0.0.0.0"  # noqa: S104
    addrtype: str = "IP4"
    nettype: str = "IN"
    ttl: int | None = None  # IP4 multicast only
    count: int | None = None  # number of multicast addresses

    @classmethod
    def parse(cls, value: str) -> Connection:
        parts = value.split(" ")
        if len(parts) != 3:
            raise SdpError(f"c= needs 3 fields: {value!r}")
        net, addrtype, raw = parts
        _token(net, "c= nettype")
        _token(addrtype, "c= addrtype")
        address, *extra = raw.split("/")
        _address(address, "c= address")
        ttl: int | None = None
        count: int | None = None
        if addrtype.upper() == "IP6":
            if len(extra) > 1:
                raise SdpError(f"invalid c= address {raw!r}")
            count = _int(extra[0], "c= address count", 2**32) if extra else None
        else:
            if len(extra) > 2:
                raise SdpError(f"invalid c= address {raw!r}")
            ttl = _int(extra[0], "c= ttl", 255) if extra else None
            count = _int(extra[1], "c= address count", 2**32) if len(extra) > 1 else None
        return cls(address, addrtype, net, ttl, count)

    @classmethod
    def of(cls, address: str) -> Connection:
        """``IN IP4`` or ``IN IP6`` by the form of the address."""
        return cls(address, "IP6" if ":" in address else "IP4")

    def __str__(self) -> str:
        suffix = "".join(f"/{n}" for n in (self.ttl, self.count) if n is not None)
        return f"{self.nettype} {self.addrtype} {self.address}{suffix}"

    @property
    def is_null(self) -> bool:
        """``0.0.0.0``: the RFC 2543 way of putting a stream on hold (RFC 3264 §8.4)."""
        return self.address == "0.0.0.0"  # noqa: S104


@dataclass(slots=True)
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (RFC 4566 §5.8): ``AS``, ``CT``, ``TIAS`` (RFC 3890), ``RS``/``RR`` (RFC 3556)."""

    type: str
    value: int

    @classmethod
    def parse(cls, value: str) -> Bandwidth:
        kind, sep, amount = value.partition(":")
        if not sep:
            raise SdpError(f"invalid b= {value!r}")
        return cls(_token(kind, "b= type"), _int(amount, "b= bandwidth"))

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(slots=True)
class Timing:
    """``t=<start> <stop>`` with its ``r=`` repeat lines, kept as written (RFC 4566 §5.9, §5.10)."""

    start: int = 0
    stop: int = 0
    repeats: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, value: str) -> Timing:
        parts = value.split(" ")
        if len(parts) != 2:
            raise SdpError(f"t= needs 2 fields: {value!r}")
        return cls(_int(parts[0], "t= start time"), _int(parts[1], "t= stop time"))


@dataclass(slots=True)
class Attribute:
    """``a=<name>`` or ``a=<name>:<value>`` (RFC 4566 §5.13); ``value`` is None for a property attribute."""

    name: str
    value: str | None = None

    @classmethod
    def parse(cls, line: str) -> Attribute:
        name, sep, value = line.partition(":")
        _token(name, "attribute name")
        attr = cls(name, value if sep else None)
        _check_attribute(attr)
        return attr

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]`` (RFC 4566 §6)."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    @classmethod
    def parse(cls, value: str) -> RtpMap:
        pt, sep, rest = value.strip().partition(" ")
        parts = rest.strip().split("/")
        if not sep or len(parts) not in (2, 3):
            raise SdpError(f"invalid rtpmap {value!r}")
        channels = _int(parts[2], "rtpmap channels", 255) if len(parts) == 3 else None
        return cls(
            _int(pt, "rtpmap payload type", 127),
            _token(parts[0], "rtpmap encoding"),
            _int(parts[1], "rtpmap clock rate", 2**32),
            channels,
        )

    def __str__(self) -> str:
        suffix = f"/{self.channels}" if self.channels is not None else ""
        return f"{self.payload_type} {self.encoding}/{self.clock_rate}{suffix}"


@dataclass(frozen=True, slots=True)
class Rtcp:
    """``a=rtcp:<port> [<nettype> <addrtype> <address>]`` (RFC 3605 §2.1)."""

    port: int
    connection: Connection | None = None

    @classmethod
    def parse(cls, value: str) -> Rtcp:
        port, sep, rest = value.strip().partition(" ")
        return cls(_int(port, "rtcp port", 65535), Connection.parse(rest.strip()) if sep else None)

    def __str__(self) -> str:
        return f"{self.port} {self.connection}" if self.connection else str(self.port)


class Direction(StrEnum):
    """The direction attributes of RFC 4566 §6 / RFC 3264 §5.1, from the point of view of the description's author."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def of(cls, sends: bool, receives: bool) -> Direction:
        return _DIRECTIONS[(sends, receives)]

    def reverse(self) -> Direction:
        """What the peer of this direction does: sendonly ↔ recvonly (RFC 3264 §6.1)."""
        return Direction.of(self.receives, self.sends)


_DIRECTIONS = {
    (True, True): Direction.SENDRECV,
    (True, False): Direction.SENDONLY,
    (False, True): Direction.RECVONLY,
    (False, False): Direction.INACTIVE,
}
_DIRECTION_NAMES = frozenset(d.value for d in Direction)


def _check_attribute(attr: Attribute) -> None:
    """Validate the attributes we interpret, so the typed views never fail on a parsed description."""
    name, value = attr.name, attr.value
    _text(value or "", "attribute value")
    if name in _DIRECTION_NAMES:
        if value is not None:
            raise SdpError(f"a={name} takes no value")
    elif name == "rtpmap":
        RtpMap.parse(_need(attr))
    elif name == "fmtp":
        fmt, _, _params = _need(attr).partition(" ")
        _token(fmt, "fmtp format")
    elif name in ("ptime", "maxptime"):
        _ms(_need(attr), name)
    elif name == "rtcp":
        Rtcp.parse(_need(attr))


def _need(attr: Attribute) -> str:
    if attr.value is None:
        raise SdpError(f"a={attr.name} needs a value")
    return attr.value


def _ms(value: str, what: str) -> float:
    """ptime/maxptime in milliseconds; RFC 4566 §6 allows decimals (``a=ptime:0.5``)."""
    text = value.strip()
    if not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?", text):
        raise SdpError(f"invalid {what} {value!r}")
    return float(text)


class _Attributes:
    """Typed access to an ordered attribute list (mixed into Media and SessionDescription)."""

    __slots__ = ()

    attributes: list[Attribute]

    def get(self, name: str) -> str | None:
        """The value of the first ``a=name`` ('' for a property attribute), None when absent."""
        for a in self.attributes:
            if a.name == name:
                return a.value if a.value is not None else ""
        return None

    def get_all(self, name: str) -> list[str]:
        return [a.value if a.value is not None else "" for a in self.attributes if a.name == name]

    def has(self, name: str) -> bool:
        return any(a.name == name for a in self.attributes)

    def remove(self, name: str) -> None:
        self.attributes[:] = [a for a in self.attributes if a.name != name]

    def set(self, name: str, value: str | None = None) -> None:
        """Replace every ``a=name`` by one, where the first one was (or at the end)."""
        new = Attribute(name, value)
        _check_attribute(new)
        for i, a in enumerate(self.attributes):
            if a.name == name:
                self.attributes[i] = new
                self.attributes[i + 1 :] = [x for x in self.attributes[i + 1 :] if x.name != name]
                return
        self.attributes.append(new)

    @property
    def direction(self) -> Direction | None:
        """The direction attribute given at this level (the last one wins), None when there is none."""
        found = [a.name for a in self.attributes if a.name in _DIRECTION_NAMES]
        return Direction(found[-1]) if found else None

    @direction.setter
    def direction(self, value: Direction | None) -> None:
        """Replace any direction attribute (in place of the first) or drop them all with None."""
        index = next((i for i, a in enumerate(self.attributes) if a.name in _DIRECTION_NAMES), len(self.attributes))
        kept = [a for a in self.attributes if a.name not in _DIRECTION_NAMES]
        if value is not None:
            kept.insert(min(index, len(kept)), Attribute(value.value))
        self.attributes[:] = kept


# --- media and session ------------------------------------------------------------------------------------------

_RTP_PROTOS = ("RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")

# RFC 3551 §6 static payload types (audio ones the engine may see).
STATIC_PAYLOAD_TYPES: dict[int, RtpMap] = {
    0: RtpMap(0, "PCMU", 8000, 1),
    3: RtpMap(3, "GSM", 8000, 1),
    4: RtpMap(4, "G723", 8000, 1),
    8: RtpMap(8, "PCMA", 8000, 1),
    9: RtpMap(9, "G722", 8000, 1),
    13: RtpMap(13, "CN", 8000, 1),
    18: RtpMap(18, "G729", 8000, 1),
}


@dataclass(slots=True)
class Media(_Attributes):
    """One media description: ``m=<media> <port>[/<count>] <proto> <fmt> ...`` and its i/c/b/k/a lines."""

    media: str = "audio"
    port: int = 0
    proto: str = "RTP/AVP"
    formats: list[str] = field(default_factory=list)
    port_count: int | None = None
    information: str | None = None
    connections: list[Connection] = field(default_factory=list)
    bandwidths: list[Bandwidth] = field(default_factory=list)
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)

    @classmethod
    def parse_m_line(cls, value: str) -> Media:
        parts = value.rstrip(" ").split(" ")  # a trailing space after the formats is common in the wild
        if len(parts) < 4:
            raise SdpError(f"m= needs media, port, proto and a format: {value!r}")
        media, port_text, proto, *formats = parts
        port, sep, count = port_text.partition("/")
        m = cls(
            _token(media, "m= media"),
            _int(port, "m= port", 65535),
            _proto(proto),
            [_token(f, "m= format") for f in formats],
            _int(count, "m= port count", 65535) if sep else None,
        )
        if m.is_rtp:
            for f in m.formats:
                _int(f, "RTP payload type", 127)  # RFC 4566 §5.14: RTP formats are payload type numbers
        return m

    @property
    def is_rtp(self) -> bool:
        return self.proto.upper() in _RTP_PROTOS

    @property
    def rejected(self) -> bool:
        """Port 0: a stream refused in an answer, or disabled in an offer (RFC 3264 §5.1, §6)."""
        return self.port == 0

    @property
    def payload_types(self) -> list[int]:
        return [int(f) for f in self.formats if _DIGITS.match(f) and len(f) < 4] if self.is_rtp else []

    @property
    def rtpmaps(self) -> dict[int, RtpMap]:
        """Explicit ``a=rtpmap`` lines by payload type (the first for a payload type wins)."""
        maps: dict[int, RtpMap] = {}
        for value in self.get_all("rtpmap"):
            rm = RtpMap.parse(value)
            maps.setdefault(rm.payload_type, rm)
        return maps

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The encoding of a payload type: its ``a=rtpmap``, else the RFC 3551 static assignment."""
        return self.rtpmaps.get(payload_type) or STATIC_PAYLOAD_TYPES.get(payload_type)

    @property
    def fmtps(self) -> dict[str, str]:
        """``a=fmtp`` parameters by format."""
        out: dict[str, str] = {}
        for value in self.get_all("fmtp"):
            fmt, _, params = value.partition(" ")
            out.setdefault(fmt, params.strip())
        return out

    @property
    def ptime(self) -> float | None:
        v = self.get("ptime")
        return _ms(v, "ptime") if v is not None else None

    @property
    def maxptime(self) -> float | None:
        v = self.get("maxptime")
        return _ms(v, "maxptime") if v is not None else None

    @property
    def rtcp(self) -> Rtcp | None:
        v = self.get("rtcp")
        return Rtcp.parse(v) if v is not None else None

    def lines(self) -> Iterator[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        yield f"m={self.media} {port} {self.proto} {' '.join(self.formats)}".rstrip()
        if self.information is not None:
            yield f"i={self.information}"
        yield from (f"c={c}" for c in self.connections)
        yield from (f"b={b}" for b in self.bandwidths)
        if self.key is not None:
            yield f"k={self.key}"
        yield from (f"a={a}" for a in self.attributes)


def _proto(value: str) -> str:
    if not all(_TOKEN.match(p) for p in value.split("/")):
        raise SdpError(f"invalid m= proto {value!r}")
    return value


@dataclass(slots=True)
class SessionDescription(_Attributes):
    """A whole SDP body (RFC 4566 §5). ``parse(data)`` / ``bytes(sd)``; ``parse(bytes(sd)) == sd``."""

    origin: Origin = field(default_factory=Origin)
    session_name: str = "-"
    version: int = 0
    information: str | None = None
    uri: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = field(default_factory=list)
    times: list[Timing] = field(default_factory=lambda: [Timing()])
    zone: str | None = None
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse an SDP body; raise ``SdpError`` for anything that is not one (RFC 4566 §5 grammar and order)."""
        if not isinstance(data, (bytes, bytearray, str)):
            raise SdpError("SDP must be bytes or text")
        text = data if isinstance(data, str) else bytes(data).decode(_ENCODING, _ERRORS)
        return _Parser(text).run()

    def lines(self) -> Iterator[str]:
        yield f"v={self.version}"
        yield f"o={self.origin}"
        yield f"s={self.session_name}"
        if self.information is not None:
            yield f"i={self.information}"
        if self.uri is not None:
            yield f"u={self.uri}"
        yield from (f"e={e}" for e in self.emails)
        yield from (f"p={p}" for p in self.phones)
        if self.connection is not None:
            yield f"c={self.connection}"
        yield from (f"b={b}" for b in self.bandwidths)
        for t in self.times:
            yield f"t={t.start} {t.stop}"
            yield from (f"r={r}" for r in t.repeats)
        if self.zone is not None:
            yield f"z={self.zone}"
        if self.key is not None:
            yield f"k={self.key}"
        yield from (f"a={a}" for a in self.attributes)
        for m in self.media:
            yield from m.lines()

    def __str__(self) -> str:
        return "".join(f"{line}\r\n" for line in self.lines())

    def __bytes__(self) -> bytes:
        return str(self).encode(_ENCODING, _ERRORS)

    def connection_for(self, media: Media) -> Connection | None:
        """The connection a stream uses: its first own ``c=``, else the session's (RFC 4566 §5.7)."""
        return media.connections[0] if media.connections else self.connection

    def copy(self) -> SessionDescription:
        return copy.deepcopy(self)


# Session-level line order (RFC 4566 §5): a line may not come after a line of a later rank.
_SESSION_RANK = {"v": 0, "o": 1, "s": 2, "i": 3, "u": 4, "e": 5, "p": 6, "c": 7, "b": 8, "t": 9, "r": 10}
_SESSION_RANK |= {"z": 11, "k": 12, "a": 13}
_SESSION_REPEATABLE = frozenset("epbtra")
_MEDIA_RANK = {"i": 1, "c": 2, "b": 3, "k": 4, "a": 5}
_MEDIA_REPEATABLE = frozenset("cba")
_MAX_LINES = 4096


class _Parser:
    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        while lines and lines[-1] in ("", "\r"):
            lines.pop()
        if len(lines) > _MAX_LINES:
            raise SdpError("too many SDP lines")
        self.lines = [line.removesuffix("\r") for line in lines]

    def run(self) -> SessionDescription:
        if not self.lines:
            raise SdpError("empty session description")
        sd = SessionDescription(times=[])
        seen: set[str] = set()
        rank = -1
        media: Media | None = None
        mrank = 0
        for number, line in enumerate(self.lines, 1):
            kind, value = self._split(line, number)
            if kind == "m":
                self._finish_session(sd, seen)
                media = Media.parse_m_line(value)
                sd.media.append(media)
                mrank = 0
                continue
            if media is not None:
                new = _MEDIA_RANK.get(kind)
                if new is None:
                    raise SdpError(f"line {number}: {kind}= not allowed in a media description")
                if new < mrank or (new == mrank and kind not in _MEDIA_REPEATABLE):
                    raise SdpError(f"line {number}: {kind}= out of order in a media description")
                mrank = new
                self._media_line(media, kind, value)
                continue
            new = _SESSION_RANK.get(kind, -1)
            if new < 0:
                # RFC 4566 §5: a description with a type letter we do not understand is ignored as a whole.
                raise SdpError(f"line {number}: unknown type {kind}=")
            if number == 1 and kind != "v":
                raise SdpError("an SDP body starts with v=")
            if new < rank and not (kind == "t" and rank == 10):
                raise SdpError(f"line {number}: {kind}= out of order")
            if new == rank and kind not in _SESSION_REPEATABLE:
                raise SdpError(f"line {number}: repeated {kind}=")
            if kind in "os" and rank != new - 1:
                raise SdpError(f"line {number}: {kind}= must follow {'vo'[new - 1]}=")
            if kind == "r" and not sd.times:
                raise SdpError(f"line {number}: r= without t=")
            rank = new
            seen.add(kind)
            self._session_line(sd, kind, value)
        self._finish_session(sd, seen)
        if sd.connection is None:
            for m in sd.media:
                if not m.connections and not m.rejected:
                    raise SdpError("a stream without c= in a description without a session c= (RFC 4566 §5.7)")
        return sd

    @staticmethod
    def _split(line: str, number: int) -> tuple[str, str]:
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise SdpError(f"line {number}: not a <type>=<value> line: {line[:40]!r}")
        return line[0], _text(line[2:], f"line {number}")

    @staticmethod
    def _finish_session(sd: SessionDescription, seen: set[str]) -> None:
        missing = [k for k in "vost" if k not in seen]
        if missing:
            raise SdpError(f"missing mandatory {', '.join(k + '=' for k in missing)} line(s)")

    @staticmethod
    def _session_line(sd: SessionDescription, kind: str, value: str) -> None:
        match kind:
            case "v":
                if value != "0":
                    raise SdpError(f"unsupported SDP version {value!r}")
            case "o":
                sd.origin = Origin.parse(value)
            case "s":
                sd.session_name = value
            case "i":
                sd.information = value
            case "u":
                sd.uri = value
            case "e":
                sd.emails.append(value)
            case "p":
                sd.phones.append(value)
            case "c":
                sd.connection = Connection.parse(value)
            case "b":
                sd.bandwidths.append(Bandwidth.parse(value))
            case "t":
                sd.times.append(Timing.parse(value))
            case "r":
                if not value.strip():
                    raise SdpError("empty r= line")
                sd.times[-1].repeats.append(value)
            case "z":
                sd.zone = value
            case "k":
                sd.key = value
            case _:  # "a"
                sd.attributes.append(Attribute.parse(value))

    @staticmethod
    def _media_line(m: Media, kind: str, value: str) -> None:
        match kind:
            case "i":
                m.information = value
            case "c":
                m.connections.append(Connection.parse(value))
            case "b":
                m.bandwidths.append(Bandwidth.parse(value))
            case "k":
                m.key = value
            case _:  # "a"
                m.attributes.append(Attribute.parse(value))


# --- offer/answer (RFC 3264) ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Codec:
    """A codec we can use: matched against an offer by encoding name and clock rate (RFC 3264 §6.1)."""

    encoding: str
    clock_rate: int = 8000
    channels: int = 1
    static_payload_type: int | None = None
    fmtp: str | None = None

    def matches(self, rtpmap: RtpMap) -> bool:
        return (
            rtpmap.encoding.lower() == self.encoding.lower()
            and rtpmap.clock_rate == self.clock_rate
            and (rtpmap.channels or 1) == self.channels
        )

    @property
    def is_dtmf(self) -> bool:
        return self.encoding.lower() == "telephone-event"


PCMU = Codec("PCMU", 8000, 1, 0)
PCMA = Codec("PCMA", 8000, 1, 8)
G722 = Codec("G722", 8000, 1, 9)  # RFC 3551 §4.5.2: the RTP clock of G.722 is 8000 although it samples at 16 kHz
TELEPHONE_EVENT = Codec("telephone-event", 8000, 1, None, "0-16")  # RFC 4733 §2.4.1; 101 by convention
DEFAULT_CODECS: tuple[Codec, ...] = (PCMU, PCMA, G722, TELEPHONE_EVENT)


def effective_direction(sd: SessionDescription, media: Media) -> Direction:
    """The direction of a stream as its author means it: the media-level attribute, else the session-level one,
    else sendrecv (RFC 3264 §5.1). A ``c=0.0.0.0`` connection (RFC 2543 hold, RFC 3264 §8.4) means "do not send to
    me": the receive half is dropped."""
    direction = media.direction or sd.direction or Direction.SENDRECV
    conn = sd.connection_for(media)
    if conn is not None and conn.is_null:
        direction = Direction.of(direction.sends, False)
    return direction


def is_hold(sd: SessionDescription) -> bool:
    """True when the author puts the call on hold: every active audio stream (or, lacking audio, every active stream)
    is sendonly or inactive, including the old ``c=0.0.0.0`` form. A description with no active stream is not hold."""
    active = [m for m in sd.media if not m.rejected]
    audio = [m for m in active if m.media == "audio"] or active
    return bool(audio) and all(not effective_direction(sd, m).receives for m in audio)


def _negotiate(offered: Media, codecs: Sequence[Codec]) -> list[tuple[int, Codec, str | None]]:
    """Our codecs in our order of preference, each with the offerer's payload type number (RFC 3264 §6.1: "the same
    payload type number SHOULD be used"); telephone-event is kept only next to a real codec."""
    offered_maps = {pt: offered.rtpmap(pt) for pt in offered.payload_types}
    fmtps = offered.fmtps
    chosen: list[tuple[int, Codec, str | None]] = []
    used: set[int] = set()
    for codec in codecs:
        for pt, rtpmap in offered_maps.items():
            if pt in used or rtpmap is None or not codec.matches(rtpmap):
                continue
            fmtp = fmtps.get(str(pt)) if codec.is_dtmf else codec.fmtp
            if codec.is_dtmf and fmtp is None:
                fmtp = "0-15"  # RFC 4733 §2.4.1: no fmtp means events 0-15
            chosen.append((pt, codec, fmtp))
            used.add(pt)
            break
    if all(c.is_dtmf for _, c, _ in chosen):
        return []
    return chosen


def build_answer(
    offer: SessionDescription,
    *,
    address: str,
    ports: Sequence[int],
    origin: Origin,
    codecs: Sequence[Codec] = DEFAULT_CODECS,
    direction: Direction = Direction.SENDRECV,
    ptime: int | None = 20,
    protos: Iterable[str] = ("RTP/AVP",),
    session_name: str = "-",
) -> SessionDescription:
    """Answer ``offer`` (RFC 3264 §6): one m-line per offered m-line, in the same order; a stream is accepted when it
    is audio over one of ``protos`` with at least one codec in common and a port is left in ``ports`` (used in order),
    otherwise it is rejected with port 0. Accepted streams list our ``codecs`` present in the offer in our order, with
    the offerer's payload type numbers; their direction is the offer's mirrored (sendonly → recvonly …) and
    restricted by ``direction`` (what we want: ``sendonly`` to put the peer on hold). ``t=`` is copied (§6).
    Raises ``SdpError(status=488)`` when no stream can be accepted."""
    allowed = {p.upper() for p in protos}
    free = list(ports)
    answer = SessionDescription(
        origin=copy.copy(origin),
        session_name=session_name,
        connection=Connection.of(address),
        times=copy.deepcopy(offer.times) or [Timing()],
    )
    accepted = 0
    for offered in offer.media:
        chosen = _negotiate(offered, codecs) if offered.proto.upper() in allowed and offered.media == "audio" else []
        if offered.rejected or not chosen or not free:
            answer.media.append(Media(offered.media, 0, offered.proto, list(offered.formats) or ["0"]))
            continue
        m = Media("audio", free.pop(0), offered.proto, [str(pt) for pt, _, _ in chosen])
        for pt, codec, fmtp in chosen:
            # An rtpmap for static payload types too: optional (RFC 4566 §6) but what every phone writes.
            m.attributes.append(Attribute("rtpmap", str(RtpMap(pt, codec.encoding, codec.clock_rate))))
            if fmtp:
                m.attributes.append(Attribute("fmtp", f"{pt} {fmtp}"))
        if ptime is not None:
            m.attributes.append(Attribute("ptime", str(ptime)))
        theirs = effective_direction(offer, offered)
        m.direction = Direction.of(theirs.receives and direction.sends, theirs.sends and direction.receives)
        answer.media.append(m)
        accepted += 1
    if not accepted:
        raise SdpError("no acceptable media stream in the offer", status=488)
    return answer


def rewrite_media_address(
    sd: SessionDescription,
    address: str,
    ports: Sequence[int | None],
    *,
    rewrite_origin: bool = True,
) -> SessionDescription:
    """A copy of ``sd`` whose streams point at ``address`` (a media relay): the session ``c=`` becomes ``address``,
    media-level ``c=`` lines go, ``ports[i]`` replaces the port of m-line ``i`` (None keeps it; rejected streams keep
    port 0), and ``a=rtcp`` (RFC 3605) becomes port + 1 at ``address``. A stream held with ``c=0.0.0.0`` keeps its
    null address, so old-style hold still reads as hold. ``o=`` gets ``address`` too unless ``rewrite_origin`` is
    False. ``len(ports)`` must equal the number of m-lines."""
    if len(ports) != len(sd.media):
        raise ValueError(f"{len(ports)} ports for {len(sd.media)} m-lines")
    out = sd.copy()
    relay = Connection.of(address)
    for m, original, port in zip(out.media, sd.media, ports, strict=True):
        held = (conn := sd.connection_for(original)) is not None and conn.is_null
        m.connections = [Connection("0.0.0.0", "IP4")] if held and not m.rejected else []  # noqa: S104
        if m.rejected:
            continue
        if port is not None:
            if not 0 < port <= 65535:
                raise ValueError(f"invalid port {port}")
            m.port = port
        if m.has("rtcp"):
            m.set("rtcp", f"{m.port + 1} {relay}")
    out.connection = relay
    if rewrite_origin:
        out.origin.addrtype, out.origin.address = relay.addrtype, relay.address
    return out
