"""SSRF guard: webhook targets must be public addresses, checked where the connection is made.

A URL's host is resolved once; if any address is loopback, private, link-local, multicast, reserved, unspecified,
shared (CGNAT), documentation/benchmarking, or an IPv4-mapped/translated IPv6 form of one of those, the target is
refused (``UnsafeTarget``). Otherwise the caller connects to the checked address itself (no second lookup that DNS
rebinding could answer differently). ``allow_private`` (setting ``webhook_allow_private``) skips the address rule for
on-premise receivers; the URL must still be http(s) with a host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT = 5.0


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks (not http(s), no host, a non-public address, or no address at all)."""


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to ``ip``:``port``; send ``host`` as the Host header and TLS SNI."""

    url: SplitResult
    host: str
    port: int
    ip: str

    @property
    def pinned_url(self) -> str:
        """The URL with the host replaced by the checked address (brackets for IPv6)."""
        literal = f"[{self.ip}]" if ":" in self.ip else self.ip
        path = self.url.path or "/"
        query = f"?{self.url.query}" if self.url.query else ""
        return f"{self.url.scheme}://{literal}:{self.port}{path}{query}"

    @property
    def host_header(self) -> str:
        default = 443 if self.url.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not receive webhooks (``"loopback"``…), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            inner = non_public_reason(mapped)
            return f"IPv4-mapped {inner}" if inner else None
        if address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64: the embedded IPv4 address decides
            inner = non_public_reason(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            return f"NAT64-translated {inner}" if inner else None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for label, hit in checks:
        if hit:
            return label
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if not address.is_global:
        return "not globally routable"
    return None


def parse_url(url: str) -> tuple[SplitResult, str, int]:
    """Split and check the shape of a webhook URL: ``http``/``https``, a host, no credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("the URL must start with https:// or http://")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if len(parts.hostname) > 253:
        raise UnsafeTarget("the URL's host name is longer than 253 characters")
    if parts.username or parts.password:
        raise UnsafeTarget("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("the URL has an invalid port") from None
    return parts, parts.hostname.lower(), port


async def resolve(host: str, port: int, timeout_seconds: float = RESOLVE_TIMEOUT) -> list[IPAddress]:
    """Every address of ``host`` (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), timeout_seconds
        )
    except (OSError, TimeoutError) as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc or 'timed out'}") from None
    except UnicodeError:  # a label longer than 63 characters, or not encodable as IDNA
        raise UnsafeTarget("the URL's host is not a valid host name") from None
    out: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        addr = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if addr not in out:
            out.append(addr)
    if not out:
        raise UnsafeTarget(f"{host} has no address")
    return out


def check_addresses(host: str, addresses: list[IPAddress], allow_private: bool) -> IPAddress:
    """The address to connect to; ``UnsafeTarget`` when any of them is not public (unless allowed)."""
    if not allow_private:
        for addr in addresses:
            reason = non_public_reason(addr)
            if reason:
                shown = host if host == str(addr) else f"{host} ({addr})"
                article = "an" if reason[0] in "aeiouIN" else "a"
                raise UnsafeTarget(
                    f"{shown} is {article} {reason} address: webhooks go to public addresses only "
                    "(an operator may allow private targets with CENTREX_WEBHOOK_ALLOW_PRIVATE=true)"
                )
    return addresses[0]


async def check_url(url: str, allow_private: bool, timeout_seconds: float = RESOLVE_TIMEOUT) -> Target:
    """Resolve and check ``url``: the ``Target`` to connect to, or ``UnsafeTarget``."""
    parts, host, port = parse_url(url)
    addresses = await resolve(host, port, timeout_seconds)
    chosen = check_addresses(host, addresses, allow_private)
    return Target(parts, host, port, str(chosen))
