"""Parse one SIP message from bytes (a UDP datagram, or a frame cut from a stream by Content-Length).

Accepted as RFC 3261 allows: CRLF or bare LF line ends, header folding (continuation lines), any case and compact
header names, whitespace around the colon. Refused with ``ParseError``: a bad start line, a header line without a
name or colon, a body shorter than Content-Length. Semantic checks (required headers, CSeq method, single-valued
headers given twice) are ``validate``'s, so that a proxy may still forward what it does not understand.
"""

from __future__ import annotations

import re

from centrex.sip.message.headers import Header, Headers
from centrex.sip.message.model import ParseError, Request, Response, decode

MAX_MESSAGE = 65_535
_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_REQUEST_LINE = re.compile(rf"^({_TOKEN}) ([^\x00-\x20\x7f]+) (SIP/[0-9]+\.[0-9]+)$")
_STATUS_LINE = re.compile(r"^(SIP/[0-9]+\.[0-9]+) ([0-9]{3})(?: (.*))?$", re.S)
_HEADER_NAME = re.compile(rf"^{_TOKEN}$")
_DIGITS = re.compile(r"^[0-9]{1,9}$")


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            # The earliest blank line wins (CRLF and LF may be mixed).
            other = data.find(b"\n\n" if sep == b"\r\n\r\n" else b"\r\n\r\n")
            if other >= 0 and other < i:
                sep = b"\n\n" if sep == b"\r\n\r\n" else b"\r\n\r\n"
                i = other
            return data[:i], data[i + len(sep) :]
    return data, b""


def _lines(head: str) -> list[str]:
    """Physical lines joined into logical ones: a line starting with space or tab continues the previous one."""
    out: list[str] = []
    for raw in head.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip("\r")
        if line[:1] in (" ", "\t") and out:
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return out


def parse(data: bytes) -> Request | Response:
    """The message in ``data`` (leading CRLFs, i.e. keep-alives, are skipped)."""
    if len(data) > MAX_MESSAGE:
        raise ParseError("message too large", 513)
    data = data.lstrip(b"\r\n")
    if not data:
        raise ParseError("empty message")
    head_bytes, body = _split_head(data)
    lines = _lines(decode(head_bytes))
    start, header_lines = lines[0], lines[1:]
    msg: Request | Response
    status_match = _STATUS_LINE.match(start)
    if status_match:
        version, code, reason = status_match.groups()
        if not 100 <= int(code) <= 699:
            raise ParseError(f"status code {code} out of range")
        msg = Response(version=version, status=int(code), reason=reason or "")
    else:
        request_match = _REQUEST_LINE.match(start)
        if not request_match:
            raise ParseError(f"malformed start line {start[:80]!r}")
        method, uri, version = request_match.groups()
        msg = Request(version=version, method=method, uri=uri)
    headers = Headers()
    for line in header_lines:
        if not line.strip():
            raise ParseError("blank line inside the header")
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _HEADER_NAME.match(name):
            raise ParseError(f"malformed header line {line[:80]!r}")
        headers.entries.append(Header(name, value.strip(" \t")))
    msg.headers = headers
    lengths = headers.get_all("Content-Length")
    if lengths:
        raw = lengths[0]
        if not _DIGITS.match(raw):
            raise ParseError(f"malformed Content-Length {raw!r}")
        length = int(raw)
        if length > len(body):
            raise ParseError(f"Content-Length {length} is longer than the body ({len(body)} bytes)")
        body = body[:length]
    msg.body = body
    return msg
