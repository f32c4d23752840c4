"""Which IPv4 addresses and networks a trunk may use: publicly routable ones only.

Refused (unless ``settings.trunk_private_addresses`` allows them, for labs and tests): "this network" 0/8, private
10/8, 172.16/12 and 192.168/16, shared address space 100.64/10, loopback 127/8, link-local 169.254/16, IETF protocol
assignments 192.0.0/24, the RFC 5737 documentation ranges 192.0.2/24, 198.51.100/24 and 203.0.113/24, the 6to4
relay anycast 192.88.99/24, benchmarking 198.18/15, multicast 224/4 and reserved 240/4 (with broadcast). A network
is refused when it overlaps any of them (``100.0.0.0/8`` contains 100.64/10).
"""

from __future__ import annotations

import ipaddress

NON_PUBLIC: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), label)
    for net, label in (
        ("0.0.0.0/8", "'this network'"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (RFC 5737)"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (RFC 5737)"),
        ("203.0.113.0/24", "documentation (RFC 5737)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)
ALLOWED_PREFIXES = frozenset({8, 16, 24, 32})


def parse_cidr(text: str) -> ipaddress.IPv4Network:
    """An IPv4 network with a /8, /16, /24 or /32 mask (a bare address is a /32); ``ValueError`` otherwise."""
    if ":" in text:
        raise ValueError("IPv6 is not supported; give an IPv4 address or network")
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ipaddress.NetmaskValueError:
        raise ValueError("not a valid IPv4 network mask") from None
    except ValueError as exc:
        if "has host bits set" in str(exc):
            raise ValueError(f"host bits set: the network is {ipaddress.IPv4Network(text, strict=False)}") from None
        raise ValueError("not an IPv4 address or network (a.b.c.d or a.b.c.d/len)") from None
    if net.prefixlen not in ALLOWED_PREFIXES:
        raise ValueError("the mask must be /8, /16, /24 or /32")
    return net


def non_public_reason(net: ipaddress.IPv4Network) -> str | None:
    """Why ``net`` is not publicly routable (e.g. ``"private"``), or None when it is."""
    for blocked, label in NON_PUBLIC:
        if net.overlaps(blocked):
            return f"{label} range {blocked}"
    return None
