"""asyncio SIP transports (RFC 3261 §18): UDP and TCP listeners on one HOST:PORT (``SipListener``), TLS (``tls``,
RFC 3261 §26) and WebSocket (``ws``, RFC 7118) listeners, and the ``TransportSet`` that sends by transport.

Incoming bytes are parsed and validated; a good message goes to the handler with its ``Source``
(``transport, ip, port``; transport one of ``udp``, ``tcp``, ``tls``, ``ws``, ``wss``) after ``received``/``rport``
were put on the top Via of a request (§18.2.1, RFC 3581). A malformed request that can still be answered gets a
stateless 400/505/…; anything else is dropped and counted. The handler's response (if any) goes back per §18.2.2 /
RFC 3581 (``Listener.send``); on connection transports, over the connection the request came on, which is also how
the engine reaches a phone later (``Listener.send_to``: connection reuse). This package does I/O; the message rules
are the sans-I/O core's (``centrex.sip.message``)."""

from centrex.sip.transport.base import (
    TRANSPORTS,
    Handler,
    Source,
    Stats,
    add_received,
    error_response,
    response_target,
)
from centrex.sip.transport.listener import Listener, SipListener
from centrex.sip.transport.mux import TransportConfig, TransportSet, open_transports
from centrex.sip.transport.tls import TlsError, TlsListener
from centrex.sip.transport.ws import WsListener

__all__ = [
    "TRANSPORTS",
    "Handler",
    "Listener",
    "SipListener",
    "Source",
    "Stats",
    "TlsError",
    "TlsListener",
    "TransportConfig",
    "TransportSet",
    "WsListener",
    "add_received",
    "error_response",
    "open_transports",
    "response_target",
]
