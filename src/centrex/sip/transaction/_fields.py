"""The few header fields the transaction and dialog layers read, parsed just enough: the top Via (sent-protocol,
sent-by, branch), name-addr URIs and header parameters (tags). Kept private and small so that the layers do not depend
on the structured header modules; malformed values give ``None``/empty results, never an exception."""

from __future__ import annotations

import re
from dataclasses import dataclass

from centrex.sip.message.headers import Headers, split_list, split_outside_quotes

MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7: a branch starting with it was made by an RFC 3261 element
_SPACES_AROUND_SLASH = re.compile(r"\s*/\s*")


@dataclass(frozen=True, slots=True)
class Via:
    """One Via field value: ``transport`` upper-cased (``UDP``), ``sent_by`` as sent (host lower-cased), ``params``
    with lower-cased names (a flag parameter maps to ``""``)."""

    transport: str
    sent_by: str
    params: dict[str, str]

    @property
    def branch(self) -> str | None:
        return self.params.get("branch") or None


def parse_params(text: str) -> dict[str, str]:
    """``;a=1;B;c="x"`` → ``{"a": "1", "b": "", "c": "x"}`` (the first occurrence of a name wins)."""
    params: dict[str, str] = {}
    for part in split_outside_quotes(text, ";"):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if not name or name in params:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        params[name] = value
    return params


def parse_via(value: str) -> Via | None:
    """One Via value (RFC 3261 §20.42), whitespace around the ``/`` and ``;`` of the sent-protocol tolerated."""
    head, *rest = split_outside_quotes(value, ";")
    fields = _SPACES_AROUND_SLASH.sub("/", head.strip()).split()
    if len(fields) != 2:
        return None
    protocol = fields[0].split("/")
    if len(protocol) != 3 or not all(protocol):
        return None
    sent_by = fields[1]
    host, sep, port = sent_by.rpartition(":") if not sent_by.endswith("]") else (sent_by, "", "")
    sent_by = f"{host.lower()}:{port}" if sep and "]" not in port else sent_by.lower()
    return Via(protocol[2].upper(), sent_by, parse_params(";".join(rest)))


def top_via(headers: Headers) -> Via | None:
    """The first Via value of the message (several may share one header line)."""
    for raw in headers.get_all("Via"):
        values = split_list(raw)
        if values:
            return parse_via(values[0])
    return None


def top_via_raw(headers: Headers) -> str | None:
    for raw in headers.get_all("Via"):
        values = split_list(raw)
        if values:
            return values[0]
    return None


def cseq(headers: Headers) -> tuple[int, str] | None:
    """``(number, method)`` of CSeq, ``None`` when missing or malformed (RFC 3261 §8.1.1.5: below 2**31)."""
    raw = headers.get("CSeq")
    if raw is None:
        return None
    parts = raw.split()
    if (
        len(parts) != 2
        or not (parts[0].isascii() and parts[0].isdigit())
        or len(parts[0]) > 10
        or int(parts[0]) >= 2**31
    ):
        return None
    return int(parts[0]), parts[1]


def _addr_split(value: str) -> tuple[str, str]:
    """A name-addr or addr-spec field value split into its URI and the header-parameter text after it."""
    quoted = escaped = False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            end = value.find(">", i + 1)
            if end < 0:
                return value[i + 1 :].strip(), ""
            return value[i + 1 : end].strip(), value[end + 1 :]
    # addr-spec: its ';' parameters are header parameters (RFC 3261 §20.10)
    uri, sep, params = value.partition(";")
    return uri.strip(), sep + params


def addr_uri(value: str) -> str:
    """The URI of a From/To/Contact/Route value (``"Bob" <sip:b@x;lr>;tag=1`` → ``sip:b@x;lr``)."""
    return _addr_split(value)[0]


def addr_params(value: str) -> dict[str, str]:
    """The header parameters of a name-addr/addr-spec value (``tag``, ``expires`` …)."""
    rest = _addr_split(value)[1]
    return parse_params(rest.partition(";")[2] if ";" in rest else "")


def tag(value: str | None) -> str | None:
    """The ``tag`` parameter of a From/To value (RFC 3261 §19.3), ``None`` when absent or empty."""
    if value is None:
        return None
    return addr_params(value).get("tag") or None


def uri_params(uri: str) -> dict[str, str]:
    """The parameters of a SIP URI (``sip:p.example;lr;transport=tcp`` → ``{"lr": "", "transport": "tcp"}``)."""
    without_headers = uri.partition("?")[0]
    return parse_params(without_headers.partition(";")[2])
