"""Cut SIP messages out of a byte stream (TCP, TLS, RFC 3261 §18.3): ``StreamFramer.feed(data)`` returns the
complete messages received so far as bytes (each ready for ``parse``). CRLF keep-alives between messages (RFC 5626
§3.5.1) are skipped and counted. A header section or body beyond the limits raises ``FramingError``: the connection
cannot be resynchronised and should be closed."""

from __future__ import annotations

import re

from centrex.sip.message.model import ParseError

MAX_HEADER = 16_384
MAX_BODY = 65_535
_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.I | re.M)


class FramingError(ParseError):
    """The stream is unusable (oversized or malformed framing); close the connection."""


class StreamFramer:
    def __init__(self, max_header: int = MAX_HEADER, max_body: int = MAX_BODY) -> None:
        self._buf = bytearray()
        self.max_header = max_header
        self.max_body = max_body
        self.keepalives = 0  # double-CRLF pings seen (the transport answers each with a single CRLF)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            self._skip_keepalives()
            frame = self._next()
            if frame is None:
                return out
            out.append(frame)

    def _skip_keepalives(self) -> None:
        i = 0
        while i < len(self._buf) and self._buf[i] in (0x0D, 0x0A):
            i += 1
        if i:
            self.keepalives += bytes(self._buf[:i]).count(b"\r\n\r\n")
            del self._buf[:i]

    def _next(self) -> bytes | None:
        buf = self._buf
        crlf = buf.find(b"\r\n\r\n")
        lf = buf.find(b"\n\n")
        candidates = [(crlf, 4), (lf, 2)]
        found = [(i, n) for i, n in candidates if i >= 0]
        if not found:
            if len(buf) > self.max_header:
                raise FramingError("header section too large", 513)
            return None
        end, sep = min(found)
        if end > self.max_header:
            raise FramingError("header section too large", 513)
        head = bytes(buf[:end])
        lengths = _CONTENT_LENGTH.findall(head)
        length = 0
        if lengths:
            raw = lengths[0].strip()
            if not re.fullmatch(rb"[0-9]{1,9}", raw) or any(v.strip() != raw for v in lengths):
                raise FramingError(f"bad Content-Length {raw[:20]!r}")
            length = int(raw)
        if length > self.max_body:
            raise FramingError("body too large", 513)
        total = end + sep + length
        if len(buf) < total:
            return None
        frame = bytes(buf[:total])
        del buf[:total]
        return frame
