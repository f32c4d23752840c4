"""Request and Response: start line, headers, body; ``bytes(msg)`` gives the wire form (Content-Length follows the
body). The raw Request-URI is kept as received; parse it with ``centrex.sip.message.uri`` when needed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from centrex.sip.message.headers import Headers

SIP_VERSION = "SIP/2.0"
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"  # any byte round-trips, valid UTF-8 reads as text


def encode(text: str) -> bytes:
    return text.encode(_ENCODING, _ERRORS)


def decode(data: bytes) -> str:
    return data.decode(_ENCODING, _ERRORS)


class ParseError(ValueError):
    """Malformed SIP input. ``status`` is what a server should answer when it can answer at all."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Message(ABC):
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = SIP_VERSION

    @abstractmethod
    def start_line(self) -> str:
        """The Request-Line or Status-Line (without CRLF)."""

    # Frequently read fields (raw values; structured parsing lives in the header modules).
    @property
    def call_id(self) -> str | None:
        return self.headers.get("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        """``(number, method)`` of the CSeq header (ParseError when missing or malformed)."""
        raw = self.headers.get("CSeq")
        if raw is None:
            raise ParseError("missing CSeq")
        parts = raw.split()
        if (
            len(parts) != 2
            or not parts[0].isascii()
            or not parts[0].isdigit()
            or len(parts[0]) > 10
            or int(parts[0]) >= 2**31
        ):
            raise ParseError(f"malformed CSeq {raw!r}")
        return int(parts[0]), parts[1]

    def __bytes__(self) -> bytes:
        headers = self.headers.copy()
        if self.body or "Content-Length" in headers:
            headers.set("Content-Length", str(len(self.body)))
        lines = [self.start_line()]
        lines.extend(f"{h.name}: {h.value}" for h in headers)
        return encode("\r\n".join(lines) + "\r\n\r\n") + self.body


@dataclass(slots=True)
class Request(Message):
    method: str = "OPTIONS"
    uri: str = "sip:invalid"

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"


@dataclass(slots=True)
class Response(Message):
    status: int = 200
    reason: str = "OK"

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"
