"""SIP, SIPS and TEL URIs (RFC 3261 §19.1, §25.1; RFC 3966): ``parse_uri(text)``, ``str(uri)`` round-trips, and the
§19.1.4 comparison as ``SipUri.equivalent``. Components are kept in their escaped (wire) form so that serialising
gives back the input; ``unescape`` gives the decoded value. Malformed input raises ``ParseError`` (400); a scheme
this module does not know raises ``ParseError`` with status 416 (RFC 3261 §8.2.2.1: the UAS decides)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from centrex.sip.message.model import ParseError

_ALNUM = "A-Za-z0-9"
_MARK = r"\-_.!~*'()"
_UNRESERVED = _ALNUM + _MARK
_ESC = r"%[0-9A-Fa-f]{2}"
# RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ); password; paramchar; hchar.
_ILLEGAL = re.compile(r'[\x00-\x20<>"\s]')  # whitespace, controls and the characters that end a URI
_USER = re.compile(rf"^(?:[{_UNRESERVED}&=+$,;?/]|{_ESC})+$")
_PASSWORD = re.compile(rf"^(?:[{_UNRESERVED}&=+$,]|{_ESC})*$")
_PARAMCHAR = re.compile(rf"^(?:[{_UNRESERVED}\[\]/:&+$]|{_ESC})+$")
_HCHAR = re.compile(rf"^(?:[{_UNRESERVED}\[\]/?:+$]|{_ESC})*$")
_HOSTNAME = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.?$"
)
_IPV4 = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*):")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*:[^\s<>\"]+$")
_TEL_NUMBER = re.compile(r"^(?:\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()pPwW]+)$")
_RESERVED = set(";/?:@&=+$,")
# §19.1.4: these uri-parameters must match when present in either URI.
_STRICT_PARAMS = ("user", "ttl", "method", "maddr", "transport")

Param = tuple[str, str | None]


def unescape(text: str) -> str:
    """``%HH`` sequences decoded (as Latin-1 code points when they are not valid UTF-8)."""
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    raw = text.encode("utf-8", "surrogateescape")
    while i < len(raw):
        if raw[i] == 0x25 and re.fullmatch(rb"[0-9A-Fa-f]{2}", raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _normalise(text: str) -> str:
    """Escapes of unreserved characters decoded, the rest upper-cased: two spellings of one value compare equal
    (RFC 3261 §19.1.4: reserved characters escaped are not the same as unescaped)."""

    def repl(m: re.Match[str]) -> str:
        ch = chr(int(m.group(0)[1:], 16))
        return m.group(0).upper() if ch in _RESERVED or not ch.isprintable() or ch in "%" else ch

    return re.sub(_ESC, repl, text)


def uri_scheme(text: str) -> str | None:
    """The lower-cased scheme of ``text`` (``None`` when it has none)."""
    m = _SCHEME.match(text)
    return m.group(1).lower() if m else None


def _split_params(text: str, what: str) -> list[Param]:
    params: list[Param] = []
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        if not name or not _PARAMCHAR.match(name) or (eq and not _PARAMCHAR.match(value)):
            raise ParseError(f"malformed {what} parameter {part!r}")
        params.append((name, value if eq else None))
    return params


def check_host(host: str) -> str:
    """``host`` if it is a hostname, IPv4 address or bracketed IPv6 reference (RFC 3261 §25.1), else ParseError."""
    if host.startswith("["):
        if not host.endswith("]"):
            raise ParseError(f"malformed IPv6 reference {host!r}")
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise ParseError(f"malformed IPv6 reference {host!r}") from exc
        return host
    if _IPV4.match(host):
        if any(int(octet) > 255 for octet in host.split(".")):
            raise ParseError(f"malformed IPv4 address {host!r}")
        return host
    if not _HOSTNAME.match(host):
        raise ParseError(f"malformed host {host!r}")
    return host


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host[:port]`` → ``(host, port)``; port 0–65535."""
    if text.startswith("["):
        end = text.find("]")
        host, rest = (text[: end + 1], text[end + 1 :]) if end >= 0 else (text, "")
    else:
        host, colon, port_text = text.partition(":")
        rest = ":" + port_text if colon else ""
    port: int | None = None
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit() or not rest[1:].isascii() or len(rest) > 6:
            raise ParseError(f"malformed port in {text!r}")
        port = int(rest[1:])
        if port > 65535:
            raise ParseError(f"port out of range in {text!r}")
    return check_host(host), port


@dataclass(slots=True)
class SipUri:
    """``sip:`` / ``sips:`` URI. ``user``/``password``/params/headers hold the escaped wire form."""

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = "invalid"
    port: int | None = None
    params: list[Param] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """RFC 3261 §19.1.1 / §25.1 SIP-URI and SIPS-URI."""
        scheme = uri_scheme(text)
        if scheme not in ("sip", "sips"):
            raise ParseError(f"not a SIP URI: {text[:80]!r}", 416 if scheme else 400)
        rest = text[len(scheme) + 1 :]
        if _ILLEGAL.search(rest):
            raise ParseError(f"illegal character in URI {text[:80]!r}")
        user: str | None = None
        password: str | None = None
        # The userinfo ends at the first "@": "@" may appear in none of user, password, params, headers unescaped.
        at = rest.find("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            user, colon, pw = userinfo.partition(":")
            if not _USER.match(user):
                raise ParseError(f"malformed user part in {text[:80]!r}")
            if colon:
                if not _PASSWORD.match(pw):
                    raise ParseError(f"malformed password in {text[:80]!r}")
                password = pw
        rest, q, header_text = rest.partition("?")
        hostport, semi, param_text = rest.partition(";")
        host, port = split_hostport(hostport)
        params = _split_params(param_text, "uri") if semi else []
        headers: list[tuple[str, str]] = []
        if q:
            for part in header_text.split("&"):
                name, eq, value = part.partition("=")
                if not name or not eq or not _HCHAR.match(name) or not _HCHAR.match(value):
                    raise ParseError(f"malformed URI header {part!r}")
                headers.append((name, value))
        return cls(text[: len(scheme)], user, password, host, port, params, headers)

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        for name, value in self.params:
            out.append(f";{name}" if value is None else f";{name}={value}")
        if self.headers:
            out.append("?" + "&".join(f"{n}={v}" for n, v in self.headers))
        return "".join(out)

    def param(self, name: str) -> str | None:
        """Unescaped value of a uri-parameter ("" when valueless, None when absent); names are case-insensitive."""
        lname = name.lower()
        for n, v in self.params:
            if unescape(n).lower() == lname:
                return "" if v is None else unescape(v)
        return None

    def has_param(self, name: str) -> bool:
        lname = name.lower()
        return any(unescape(n).lower() == lname for n, _ in self.params)

    @property
    def transport(self) -> str | None:
        value = self.param("transport")
        return value.lower() if value else None

    def equivalent(self, other: SipUri) -> bool:
        """RFC 3261 §19.1.4 URI comparison."""
        if self.scheme.lower() != other.scheme.lower():
            return False
        # userinfo: case-sensitive, escapes of unreserved characters equal to the characters.
        if (self.user is None) != (other.user is None) or (self.password is None) != (other.password is None):
            return False
        if self.user is not None and other.user is not None and _normalise(self.user) != _normalise(other.user):
            return False
        if (
            self.password is not None
            and other.password is not None
            and _normalise(self.password) != _normalise(other.password)
        ):
            return False
        if self.host.lower() != other.host.lower() or self.port != other.port:
            return False
        mine = {_normalise(n).lower(): (_normalise(v).lower() if v is not None else None) for n, v in self.params}
        theirs = {_normalise(n).lower(): (_normalise(v).lower() if v is not None else None) for n, v in other.params}
        for name in _STRICT_PARAMS:
            if (name in mine or name in theirs) and mine.get(name, "\0") != theirs.get(name, "\0"):
                return False
        for name in mine.keys() & theirs.keys():
            if mine[name] != theirs[name]:
                return False
        # Header components are never ignored: same set, names case-insensitive, values compared normalised.
        mine_h = sorted((_normalise(n).lower(), _normalise(v)) for n, v in self.headers)
        theirs_h = sorted((_normalise(n).lower(), _normalise(v)) for n, v in other.headers)
        return mine_h == theirs_h


@dataclass(slots=True)
class TelUri:
    """``tel:`` URI (RFC 3966): the number as written plus ``;``-parameters (``phone-context`` …)."""

    number: str
    params: list[Param] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> TelUri:
        if uri_scheme(text) != "tel":
            raise ParseError(f"not a TEL URI: {text[:80]!r}", 416)
        number, semi, param_text = text[4:].partition(";")
        if not _TEL_NUMBER.match(number):
            raise ParseError(f"malformed telephone number {number[:40]!r}")
        params = _split_params(param_text, "tel") if semi else []
        if not number.startswith("+") and not any(n.lower() == "phone-context" for n, _ in params):
            raise ParseError("local tel number without phone-context (RFC 3966 §5.1.5)")
        return cls(number, params)

    def __str__(self) -> str:
        return "tel:" + self.number + "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self.params)

    @property
    def digits(self) -> str:
        """The number without visual separators."""
        return "".join(ch for ch in self.number if ch not in "-.()")

    def equivalent(self, other: TelUri) -> bool:
        """RFC 3966 §4: numbers compared without visual separators, parameters as sets (case-insensitive)."""
        mine = sorted((n.lower(), (v or "").lower()) for n, v in self.params)
        theirs = sorted((n.lower(), (v or "").lower()) for n, v in other.params)
        return self.digits.lower() == other.digits.lower() and mine == theirs


Uri = SipUri | TelUri


def parse_uri(text: str) -> Uri:
    """A SIP, SIPS or TEL URI. Another well-formed absolute URI raises ParseError(416) (unsupported scheme); a
    malformed one ParseError(400)."""
    scheme = uri_scheme(text)
    if scheme in ("sip", "sips"):
        return SipUri.parse(text)
    if scheme == "tel":
        return TelUri.parse(text)
    if scheme and _ABSOLUTE.match(text):
        raise ParseError(f"unsupported URI scheme {scheme!r}", 416)
    raise ParseError(f"malformed URI {text[:80]!r}")


def is_absolute_uri(text: str) -> bool:
    """``text`` has the shape of an absolute URI (RFC 3261 §25.1 absoluteURI, loosely: scheme ":" non-space)."""
    return bool(_ABSOLUTE.match(text))
