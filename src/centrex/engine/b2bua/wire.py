"""Sending SIP messages to an address (the listener itself only answers requests): the B2BUA's own requests, and
the Via and Contact values that name the engine on a leg."""

from __future__ import annotations

import contextlib
import socket

from centrex.sip.message import Request, Response
from centrex.sip.transaction import new_branch
from centrex.sip.transport import SipListener, Source

WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (compared, not bound)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class Wire:
    """Sends through the listener's UDP socket or an open TCP connection of a peer."""

    def __init__(self, listener: SipListener) -> None:
        self.listener = listener

    def send(self, message: Request | Response, dest: Source) -> bool:
        """Send a request (or a response built for ``dest``) to ``dest``; False when it cannot be sent."""
        data = bytes(message)
        if dest.transport == "tcp":
            writer = self.listener._streams.get((dest.ip, dest.port))
            if writer is None or writer.is_closing():
                return False
            writer.write(data)
            return True
        udp = self.listener._udp
        if udp is None or udp.transport is None:
            return False
        udp.transport.sendto(data, (dest.ip, dest.port))
        return True

    def reply(self, response: Response, source: Source) -> bool:
        """Send a response to the request that came from ``source`` (§18.2.2)."""
        return self.listener.send(response, source)

    def host_for(self, dest: Source) -> str:
        """The engine's address as ``dest`` sees it (the listening host, or the route's source address)."""
        host = self.listener.host
        if host not in WILDCARDS:
            return host
        family = socket.AF_INET6 if ":" in dest.ip else socket.AF_INET
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((dest.ip, dest.port or 5060))
            return str(probe.getsockname()[0])
        return "127.0.0.1"

    def via(self, dest: Source) -> str:
        """A top Via for a request the engine sends to ``dest`` (new branch, RFC 3581 rport)."""
        proto = "TCP" if dest.transport == "tcp" else "UDP"
        return f"SIP/2.0/{proto} {_bracket(self.host_for(dest))}:{self.listener.port};branch={new_branch()};rport"

    def contact(self, dest: Source) -> str:
        suffix = ";transport=tcp" if dest.transport == "tcp" else ""
        return f"<sip:centrex@{_bracket(self.host_for(dest))}:{self.listener.port}{suffix}>"
