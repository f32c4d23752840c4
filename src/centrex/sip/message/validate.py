"""What a UAS must refuse before looking at a request any further (RFC 3261 §8.2, §16.3; RFC 4475 §3.1.2, §3.3):
``validate(msg)`` returns None or raises ``ParseError(status)`` — 505 for an unsupported SIP version, 400 for the rest.

Decisions:
- Max-Forwards is not required: §8.1.1 makes it mandatory for a UAC, but RFC 4475 §3.4.1 (inv2543) says an RFC 2543
  request without it should be accepted, and §16.6 step 3 has a proxy add it. A present but malformed one is 400.
- An unknown Request-URI scheme is not refused here: ``uri_scheme(msg.uri)`` lets the UAS answer 416 (§8.2.2.1).
- Expires and expires= beyond 2**32-1 are the application's (RFC 4475 §3.1.2.4: treat as 3600), not a 400.
"""

from __future__ import annotations

from centrex.sip.message.fields import (
    parse_address,
    parse_addresses,
    parse_cseq,
    parse_max_forwards,
    parse_vias,
)
from centrex.sip.message.model import SIP_VERSION, ParseError, Request, Response
from centrex.sip.message.uri import SipUri, is_absolute_uri, parse_uri, uri_scheme

REQUIRED = ("To", "From", "Call-ID", "CSeq", "Via")
SINGLE_VALUED = ("Call-ID", "CSeq", "To", "From", "Content-Length", "Max-Forwards")


def validate(msg: Request | Response) -> None:
    """Raise ParseError for a message that must be rejected (requests: answer with ``status``; responses: drop)."""
    if msg.version.upper() != SIP_VERSION:
        raise ParseError(f"unsupported SIP version {msg.version!r}", 505 if isinstance(msg, Request) else 400)
    headers = msg.headers
    for name in REQUIRED:
        if name not in headers:
            raise ParseError(f"missing {name} header")
    for name in SINGLE_VALUED:
        values = headers.get_all(name)
        if len(values) > 1 and len({" ".join(v.split()) for v in values}) > 1:
            raise ParseError(f"{name} given more than once with different values")
    cseq = parse_cseq(headers.get("CSeq") or "")
    if not (headers.get("Call-ID") or "").strip():
        raise ParseError("empty Call-ID")
    parse_address(headers.get("To") or "")
    parse_address(headers.get("From") or "")
    parse_vias(headers.get_all("Via"))
    max_forwards = headers.get("Max-Forwards")
    if max_forwards is not None:
        parse_max_forwards(max_forwards)
    for name in ("Contact", "Route", "Record-Route"):
        values = headers.get_all(name)
        if values:
            parse_addresses(values, allow_wildcard=name == "Contact")
    if isinstance(msg, Request):
        if cseq.method != msg.method:
            raise ParseError(f"CSeq method {cseq.method!r} does not match the request method {msg.method!r}")
        _check_request_uri(msg.uri)


def _check_request_uri(uri: str) -> None:
    """SIP/SIPS/TEL Request-URIs are parsed strictly; a SIP one may not carry headers (§19.1.1 table). Other
    schemes need only be absolute URIs; whether to answer 416 is the UAS's call (see ``uri_scheme``)."""
    scheme = uri_scheme(uri)
    if scheme in ("sip", "sips", "tel"):
        parsed = parse_uri(uri)
        if isinstance(parsed, SipUri) and parsed.headers:
            raise ParseError("headers are not allowed in a Request-URI (RFC 3261 §19.1.1)")
    elif not is_absolute_uri(uri):
        raise ParseError(f"malformed Request-URI {uri[:80]!r}")
