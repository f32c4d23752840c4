"""SIP messages (RFC 3261 §7): ``parse(data)`` gives a ``Request`` or ``Response``; ``bytes(msg)`` serialises it;
``validate(msg)`` applies the checks a UAS must make; ``uri`` and ``fields`` parse URIs and structured header values;
``framing.StreamFramer`` cuts messages out of a TCP/TLS stream.

Errors: ``ParseError`` (malformed input; ``status`` is the response code a server should answer, 400 unless the
input calls for another, e.g. 505 for an unsupported version, 416 for an unsupported URI scheme, 513 for an oversized
message). ``framing.FramingError`` is a ``ParseError`` after which a stream cannot be read any further.
"""

from centrex.sip.message.fields import CSeq, NameAddr, Via, parse_address, parse_addresses, parse_cseq, parse_vias
from centrex.sip.message.framing import FramingError, StreamFramer
from centrex.sip.message.headers import COMPACT_FORMS, Header, Headers, canonical_name, split_list
from centrex.sip.message.model import Message, ParseError, Request, Response
from centrex.sip.message.parser import parse
from centrex.sip.message.uri import SipUri, TelUri, parse_uri, uri_scheme
from centrex.sip.message.validate import validate

__all__ = [
    "COMPACT_FORMS",
    "CSeq",
    "FramingError",
    "Header",
    "Headers",
    "Message",
    "NameAddr",
    "ParseError",
    "Request",
    "Response",
    "SipUri",
    "StreamFramer",
    "TelUri",
    "Via",
    "canonical_name",
    "parse",
    "parse_address",
    "parse_addresses",
    "parse_cseq",
    "parse_uri",
    "parse_vias",
    "split_list",
    "uri_scheme",
    "validate",
]
