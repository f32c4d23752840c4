"""SIP messages (RFC 3261 §7): ``parse(data)`` gives a ``Request`` or ``Response``; ``bytes(msg)`` serialises it.

Errors: ``ParseError`` (malformed input; ``status`` is the response code a server should answer, 400 unless the
input calls for another, e.g. 505 for an unsupported version).
"""

from centrex.sip.message.headers import COMPACT_FORMS, Header, Headers, canonical_name
from centrex.sip.message.model import Message, ParseError, Request, Response
from centrex.sip.message.parser import parse

__all__ = [
    "COMPACT_FORMS",
    "Header",
    "Headers",
    "Message",
    "ParseError",
    "Request",
    "Response",
    "canonical_name",
    "parse",
]
