"""Structured header values (RFC 3261 §20, §25.1): Via (with rport, RFC 3581), name-addr / addr-spec for From, To,
Contact, Route and Record-Route, CSeq, Max-Forwards, Expires. The raw values in ``Headers`` stay the source of truth
(unknown parts pass through); these parsers read them and raise ``ParseError`` on malformed input."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from centrex.sip.message.headers import split_list, split_outside_quotes
from centrex.sip.message.model import ParseError
from centrex.sip.message.uri import Uri, is_absolute_uri, parse_uri, split_hostport

__all__ = [
    "CSeq",
    "NameAddr",
    "Via",
    "parse_address",
    "parse_addresses",
    "parse_cseq",
    "parse_delta_seconds",
    "parse_max_forwards",
    "parse_params",
    "parse_via",
    "parse_vias",
    "split_list",
]

TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~"
_TOKEN = re.compile(rf"^[{TOKEN_CHARS}]+$")
_LWS = " \t"
MAX_CSEQ = 2**31 - 1  # RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31
MAX_DELTA = 2**32 - 1

Param = tuple[str, str | None]


def _is_token(text: str) -> bool:
    return bool(_TOKEN.match(text))


def _quoted_end(text: str, start: int) -> int:
    """Index just past the quoted-string opening at ``start`` (ParseError if unterminated)."""
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    raise ParseError("unterminated quoted string")


def unquote(text: str) -> str:
    """The content of a quoted-string with quoted-pairs resolved (RFC 3261 §25.1)."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    out: list[str] = []
    i = 1
    while i < len(text) - 1:
        if text[i] == "\\" and i + 1 < len(text) - 1:
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _split(text: str, sep: str, *, angle: bool = False) -> list[str]:
    """``split_outside_quotes`` for this strict layer: an unterminated quoted string is a ParseError."""
    try:
        return split_outside_quotes(text, sep, angle=angle, strict=True)
    except ValueError as exc:
        raise ParseError(str(exc)) from None


_PARAM_VALUE = re.compile(rf"^[{TOKEN_CHARS}:\[\]]+$")


def parse_params(text: str) -> list[Param]:
    """``;name[=value]`` generic-params (``text`` starts after the first ``;``). Values keep their quotes; LWS
    around ``;`` and ``=`` is allowed (RFC 3261 §25.1 SEMI, EQUAL)."""
    params: list[Param] = []
    for part in _split(text, ";"):
        name, eq, value = part.partition("=")
        name, value = name.strip(_LWS), value.strip(_LWS)
        if not _is_token(name):
            raise ParseError(f"malformed parameter {part.strip()[:60]!r}")
        if eq:
            if value.startswith('"'):
                if _quoted_end(value, 0) != len(value):
                    raise ParseError(f"malformed quoted parameter value {value[:60]!r}")
            elif not _PARAM_VALUE.match(value):
                raise ParseError(f"malformed parameter value {value[:60]!r}")
            params.append((name, value))
        else:
            params.append((name, None))
    return params


def get_param(params: list[Param], name: str) -> str | None:
    """Unquoted value of ``name`` ("" when valueless, None when absent); names are case-insensitive."""
    lname = name.lower()
    for n, v in params:
        if n.lower() == lname:
            return "" if v is None else unquote(v)
    return None


def has_param(params: list[Param], name: str) -> bool:
    return any(n.lower() == name.lower() for n, _ in params)


# ----------------------------------------------------------------------------------------------------------- Via
@dataclass(slots=True)
class Via:
    """One via-parm (RFC 3261 §20.42): ``SIP/2.0/UDP host:port;branch=…;received=…;rport``."""

    protocol: str = "SIP"
    version: str = "2.0"
    transport: str = "UDP"
    host: str = "invalid"
    port: int | None = None
    params: list[Param] = field(default_factory=list)

    @property
    def branch(self) -> str | None:
        return get_param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return get_param(self.params, "received")

    @property
    def has_rport(self) -> bool:
        """RFC 3581: ``rport`` present (valueless in a request, with the source port in a response)."""
        return has_param(self.params, "rport")

    @property
    def rport(self) -> int | None:
        value = get_param(self.params, "rport")
        return int(value) if value else None

    def __str__(self) -> str:
        host = f"{self.host}:{self.port}" if self.port is not None else self.host
        params = "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self.params)
        return f"{self.protocol}/{self.version}/{self.transport} {host}{params}"


_SENT_PROTOCOL = re.compile(
    rf"^([{TOKEN_CHARS}]+)[{_LWS}]*/[{_LWS}]*([{TOKEN_CHARS}]+)[{_LWS}]*/[{_LWS}]*([{TOKEN_CHARS}]+)[{_LWS}]+(.*)$",
    re.S,
)


def parse_via(text: str) -> Via:
    """One via-parm. ``received`` must be an IP address, ``rport`` empty or a port (RFC 3581 §4), ``ttl`` 0–255."""
    m = _SENT_PROTOCOL.match(text.strip(_LWS))
    if not m:
        raise ParseError(f"malformed Via {text[:80]!r}")
    protocol, version, transport, rest = m.groups()
    sent_by, semi, param_text = rest.partition(";")
    sent_by = sent_by.strip(_LWS)
    if not sent_by or any(ch in _LWS for ch in sent_by):
        raise ParseError(f"malformed Via sent-by {sent_by[:80]!r}")
    host, port = split_hostport(sent_by)
    params = parse_params(param_text) if semi else []
    received = get_param(params, "received")
    if received is not None:
        try:  # RFC 3261 §20.42: received = IPv4address / IPv6address (RFC 5118 §4.5 also allows a reference)
            ipaddress.ip_address(received[1:-1] if received.startswith("[") and received.endswith("]") else received)
        except ValueError as exc:
            raise ParseError(f"received is not an IP address: {received[:60]!r}") from exc
    rport = get_param(params, "rport")
    if rport and (not rport.isdigit() or not rport.isascii() or int(rport) > 65535):
        raise ParseError(f"malformed rport {rport!r}")
    ttl = get_param(params, "ttl")
    if ttl is not None and (not ttl.isdigit() or not ttl.isascii() or int(ttl) > 255):
        raise ParseError(f"malformed ttl {ttl!r}")
    if has_param(params, "branch") and not get_param(params, "branch"):
        raise ParseError("empty branch parameter")
    return Via(protocol, version, transport, host, port, params)


def parse_vias(values: list[str]) -> list[Via]:
    """Every via-parm of every Via field, top first."""
    return [parse_via(part) for value in values for part in _split_nonempty(value, "Via")]


def _split_nonempty(value: str, what: str) -> list[str]:
    """``split_list`` that refuses empty elements (``a,,b``; RFC 4475 §3.1.2.1)."""
    if "," not in value:  # the common case: one element
        if not value.strip():
            raise ParseError(f"empty element in {what} list")
        return [value.strip()]
    parts = split_list(value)
    if not parts or len(parts) != len(_split(value, ",", angle=True)):
        raise ParseError(f"empty element in {what} list")
    return parts


# ------------------------------------------------------------------------------------------------ name-addr
@dataclass(slots=True)
class NameAddr:
    """``"Display" <uri>;params`` or ``uri;params`` (RFC 3261 §20.10); ``wildcard`` for ``Contact: *``.

    ``display_name`` is the unquoted name (None when absent); ``uri`` the raw URI text (see ``parsed_uri``)."""

    uri: str
    display_name: str | None = None
    params: list[Param] = field(default_factory=list)
    wildcard: bool = False

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    @property
    def expires(self) -> int | None:
        value = get_param(self.params, "expires")
        return parse_delta_seconds(value) if value is not None else None

    @property
    def q(self) -> float | None:
        """The ``q`` parameter (RFC 3261 §20.10: 0–1, up to three decimals)."""
        value = get_param(self.params, "q")
        if value is None:
            return None
        if not re.match(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$", value):
            raise ParseError(f"malformed q value {value!r}")
        return float(value)

    def parsed_uri(self) -> Uri:
        return parse_uri(self.uri)

    def __str__(self) -> str:
        params = "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self.params)
        if self.wildcard:
            return "*" + params
        if self.display_name is None:
            return f"<{self.uri}>{params}"
        escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{self.uri}>{params}'


_DISPLAY_TOKENS = re.compile(rf"^[{TOKEN_CHARS}]+(?:[{_LWS}]+[{TOKEN_CHARS}]+)*$")


def _check_uri(uri: str) -> None:
    if uri.lower().startswith(("sip:", "sips:", "tel:")):
        parse_uri(uri)
    elif not is_absolute_uri(uri):
        raise ParseError(f"malformed URI {uri[:80]!r}")


def parse_address(text: str, *, allow_wildcard: bool = False) -> NameAddr:
    """One name-addr or addr-spec with its header parameters. In the addr-spec form the URI ends at the first
    ``;`` (those are header parameters) and may not contain ``,``, ``?`` or ``;`` (RFC 3261 §20.10)."""
    text = text.strip(_LWS)
    if allow_wildcard and (text == "*" or (text.startswith("*") and text[1:].lstrip(_LWS).startswith(";"))):
        rest = text[1:].lstrip(_LWS)
        return NameAddr("*", None, parse_params(rest[1:]) if rest else [], wildcard=True)
    display: str | None = None
    if text.startswith('"'):
        end = _quoted_end(text, 0)
        display = unquote(text[:end])
        text = text[end:].lstrip(_LWS)
        if not text.startswith("<"):
            raise ParseError("quoted display name without <uri>")
    elif "<" in text:
        name, _, _ = text.partition("<")
        name = name.strip(_LWS)
        if name and not _DISPLAY_TOKENS.match(name):
            raise ParseError(f"malformed display name {name[:60]!r}")
        display = name or None
        text = text[text.index("<") :]
    if text.startswith("<"):
        end = text.find(">")
        if end < 0:
            raise ParseError("unterminated <uri>")
        uri, rest = text[1:end], text[end + 1 :].lstrip(_LWS)
        if not uri or uri != uri.strip():
            raise ParseError(f"whitespace inside <{uri[:60]}>")
    else:
        uri, semi, after = text.partition(";")
        uri, rest = uri.rstrip(_LWS), semi + after
        if any(ch in uri for ch in ",? \t"):
            raise ParseError(f"addr-spec with reserved characters must be in <>: {uri[:60]!r}")
    _check_uri(uri)
    if rest and not rest.startswith(";"):
        raise ParseError(f"junk after address: {rest[:60]!r}")
    params = parse_params(rest[1:]) if rest else []
    return NameAddr(uri, display, params)


def parse_addresses(values: list[str], *, allow_wildcard: bool = False) -> list[NameAddr]:
    """Every address of every field (Contact, Route, Record-Route …). A wildcard must stand alone."""
    out = [
        parse_address(part, allow_wildcard=allow_wildcard)
        for value in values
        for part in _split_nonempty(value, "address")
    ]
    if any(a.wildcard for a in out) and len(out) > 1:
        raise ParseError("Contact: * must be the only contact (RFC 3261 §10.2.2)")
    return out


# ---------------------------------------------------------------------------------------------- scalars
@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(text: str) -> CSeq:
    """``1*DIGIT LWS Method``; the number below 2**31 (RFC 3261 §8.1.1.5)."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii() or not _is_token(parts[1]):
        raise ParseError(f"malformed CSeq {text[:80]!r}")
    if len(parts[0].lstrip("0")) > 10 or int(parts[0]) > MAX_CSEQ:
        raise ParseError(f"CSeq number out of range {parts[0][:40]!r}")
    return CSeq(int(parts[0]), parts[1])


def parse_delta_seconds(text: str) -> int:
    """delta-seconds (Expires, expires=): 1*DIGIT up to 2**32-1 (RFC 3261 §20.19; larger ones are malformed and,
    by §20.19, the caller SHOULD treat them as 3600)."""
    text = text.strip(_LWS)
    if not text.isdigit() or not text.isascii() or len(text.lstrip("0")) > 10 or int(text) > MAX_DELTA:
        raise ParseError(f"malformed delta-seconds {text[:40]!r}")
    return int(text)


def parse_max_forwards(text: str) -> int:
    """1*DIGIT, 0–255 (RFC 3261 §20.22)."""
    text = text.strip(_LWS)
    if not text.isdigit() or not text.isascii() or len(text.lstrip("0")) > 3 or int(text) > 255:
        raise ParseError(f"malformed Max-Forwards {text[:40]!r}")
    return int(text)
