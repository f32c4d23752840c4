"""asyncio SIP transports (RFC 3261 §18): UDP and TCP listeners on one HOST:PORT.

Incoming bytes are parsed and validated; a good message goes to the handler with its ``Source``
(``transport, ip, port``) after ``received``/``rport`` were put on the top Via of a request (§18.2.1, RFC 3581).
A malformed request that can still be answered gets a stateless 400/505/…; anything else is dropped and counted.
The handler's response (if any) goes back per §18.2.2 / RFC 3581 (``SipListener.send``). This package does I/O;
the message rules are the sans-I/O core's (``centrex.sip.message``)."""

from centrex.sip.transport.base import Handler, Source, Stats, add_received, error_response, response_target
from centrex.sip.transport.listener import SipListener

__all__ = ["Handler", "SipListener", "Source", "Stats", "add_received", "error_response", "response_target"]
