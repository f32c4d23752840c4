"""Sending SIP messages to an address (the listeners themselves only answer requests): the B2BUA's own requests,
and the Via and Contact values that name the engine on a leg, per transport (UDP, TCP, TLS, WS, WSS).

Messages leave through the listener of the destination's transport (``TransportSet.send_to``): over UDP to the
address, over TCP/TLS/WebSocket on the open connection of the peer (the one the phone registered on)."""

from __future__ import annotations

import contextlib
import socket

from centrex.sip.message import Request, Response
from centrex.sip.transaction import new_branch
from centrex.sip.transport import SipListener, Source, TransportSet

WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (compared, not bound)
VIA_PROTOCOLS = {"udp": "UDP", "tcp": "TCP", "tls": "TLS", "ws": "WS", "wss": "WSS"}
# RFC 7118 §5.2 / §7: the URI transport parameter is "ws" for WebSocket, secure or not.
URI_TRANSPORTS = {"tcp": "tcp", "tls": "tls", "ws": "ws", "wss": "ws"}


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class Wire:
    """Sends through the listener that serves the destination's transport."""

    def __init__(self, transports: TransportSet | SipListener) -> None:
        self.transports = transports if isinstance(transports, TransportSet) else TransportSet(transports)

    @property
    def listener(self) -> SipListener:
        """The main (UDP/TCP) listener."""
        return self.transports.main

    def send(self, message: Request | Response, dest: Source) -> bool:
        """Send a request (or a response built for ``dest``) to ``dest``; False when it cannot be sent."""
        return self.transports.send_to(message, dest)

    def reply(self, response: Response, source: Source) -> bool:
        """Send a response to the request that came from ``source`` (§18.2.2)."""
        return self.transports.send(response, source)

    def _address(self, dest: Source) -> tuple[str, int]:
        listener = self.transports.listener(dest.transport) or self.transports.main
        return listener.host, listener.port

    def host_for(self, dest: Source) -> str:
        """The engine's address as ``dest`` sees it (the listening host, or the route's source address)."""
        host = self._address(dest)[0]
        if host not in WILDCARDS:
            return host
        family = socket.AF_INET6 if ":" in dest.ip else socket.AF_INET
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((dest.ip, dest.port or 5060))
            return str(probe.getsockname()[0])
        return "127.0.0.1"

    def via(self, dest: Source) -> str:
        """A top Via for a request the engine sends to ``dest`` (new branch, RFC 3581 rport)."""
        proto = VIA_PROTOCOLS.get(dest.transport, "UDP")
        port = self._address(dest)[1]
        return f"SIP/2.0/{proto} {_bracket(self.host_for(dest))}:{port};branch={new_branch()};rport"

    def contact(self, dest: Source) -> str:
        """The engine's Contact on a leg to ``dest``: its address on ``dest``'s transport."""
        param = URI_TRANSPORTS.get(dest.transport)
        suffix = f";transport={param}" if param else ""
        return f"<sip:centrex@{_bracket(self.host_for(dest))}:{self._address(dest)[1]}{suffix}>"
