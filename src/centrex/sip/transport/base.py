"""Transport-independent parts: the message source, counters, incoming-request Via stamping (§18.2.1, RFC 3581),
stateless error answers to malformed requests (§8.2.6) and the address a response goes to (§18.2.2)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from centrex.sip.message import ParseError, Request, Response, parse, parse_vias, validate
from centrex.sip.message.model import decode
from centrex.sip.transaction import make_response

REASONS = {
    400: "Bad Request",
    416: "Unsupported URI Scheme",
    505: "Version Not Supported",
    513: "Message Too Large",
}


TRANSPORTS = ("udp", "tcp", "tls", "ws", "wss")
RELIABLE = frozenset(TRANSPORTS[1:])


@dataclass(frozen=True, slots=True)
class Source:
    """Where a message came from (or goes to): ``transport`` is one of ``TRANSPORTS``; ``ip``/``port`` the peer's
    address, which for a connection transport (tcp, tls, ws, wss) names the connection."""

    transport: str
    ip: str
    port: int


Handler = Callable[[Request | Response, Source], Awaitable[Response | None]]


@dataclass(slots=True)
class Stats:
    received: int = 0
    dropped: int = 0  # malformed input nobody was answered for, responses that failed validation, overload
    rejected: int = 0  # malformed requests answered with 4xx/5xx
    sent: int = 0


def add_received(request: Request, source: Source) -> None:
    """§18.2.1: ``received`` when the sent-by host is not the source address; RFC 3581: fill a valueless ``rport``
    (and then always add ``received``). Only the top Via changes; ParseError if there is none."""
    vias = parse_vias(request.headers.get_all("Via"))
    top = vias[0]
    params = [(n, v) for n, v in top.params if n.lower() not in ("received", "rport")]
    rport = top.has_rport
    if rport or top.host.strip("[]") != source.ip:
        params.append(("received", source.ip))
    if rport:
        params.append(("rport", str(source.port)))
    top.params = params
    request.headers.remove("Via")
    for via in reversed(vias):
        request.headers.prepend("Via", str(via))


def response_target(response: Response, source: Source) -> tuple[str, int]:
    """§18.2.2 for unreliable transports with RFC 3581: ``received`` (else the sent-by host) and ``rport`` (else the
    sent-by port, else 5060). ``maddr`` is ignored: answers never go anywhere but the sender's address."""
    try:
        top = parse_vias(response.headers.get_all("Via"))[0]
    except (ParseError, IndexError):
        return source.ip, source.port
    # The host is always the source address (what ``received`` says): never reflect to a third party.
    return source.ip, top.rport or top.port or 5060


_TAG_CHARS = re.compile(r";\s*tag=", re.I)


def reply(request: Request, status: int, reason: str) -> Response:
    """A response to ``request`` (§8.2.6): Via, From, To, Call-ID, CSeq copied, a To tag added when missing."""
    response = make_response(request, status, reason)
    response.version = "SIP/2.0"  # ours, whatever the request said (505 to SIP/3.0 is still a SIP/2.0 answer)
    to = response.headers.get("To")
    if to is not None and not _TAG_CHARS.search(to):
        response.headers.set("To", f"{to};tag={secrets.token_hex(6)}")
    response.headers.set("Server", "Centrex")
    return response


_START = re.compile(rb"^[A-Za-z][A-Za-z0-9.!%*_+`'~-]* \S+ SIP/", re.S)


def error_response(data: bytes, error: ParseError, source: Source) -> Response | None:
    """The stateless answer to input that failed parsing or validation, when it is a request whose Via, From, To,
    Call-ID and CSeq can still be read (§8.2.6); None (drop) otherwise — responses are never answered."""
    if not _START.match(data.lstrip(b"\r\n")):
        return None
    try:
        request = parse(data)
    except ParseError:
        return None
    if not isinstance(request, Request):
        return None
    needed = ("Via", "From", "To", "Call-ID", "CSeq")
    if any(name not in request.headers for name in needed):
        return None
    try:
        add_received(request, source)  # so that the answer finds its way back (RFC 3581)
    except (ParseError, IndexError):
        return None
    if request.method == "ACK":
        return None  # never answer an ACK (§17.2.1)
    status = error.status if error.status in REASONS else 400
    response = reply(request, status, REASONS[status])
    response.reason = _reason_text(status, str(error))
    return response


def _reason_text(status: int, detail: str) -> str:
    text = "".join(c for c in decode(detail.encode("ascii", "replace")) if 32 <= ord(c) < 127)[:80]
    return f"{REASONS[status]} ({text})" if text else REASONS[status]


def read_message(data: bytes) -> Request | Response:
    """Parse and validate one message (ParseError when it must be refused)."""
    msg = parse(data)
    validate(msg)
    return msg
