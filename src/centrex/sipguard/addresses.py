"""Source addresses: canonical IP strings on the hot path, strict parsing of ban sources (IP or CIDR).

Canonical forms: IPv4 dotted quad, IPv6 compressed lower case, an IPv4-mapped IPv6 address as its IPv4 address,
a single-host network (``/32``, ``/128``) as the plain address, other networks as ``address/prefix`` with host bits
cleared refused (``10.0.0.1/8`` is an error, not silently ``10.0.0.0/8``).
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Manual bans broader than this are refused: a typo such as 0.0.0.0/0 must not cut off every phone.
MIN_PREFIX = {4: 8, 6: 32}


def _unmap(addr: IPAddress) -> IPAddress:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def canonical_ip(ip: str) -> str:
    """Canonical form of a socket address string; IPv4 strings from sockets are returned as they are (hot path).

    A string that is not an IP address is returned unchanged (the guard then treats it as an opaque key).
    """
    if ":" not in ip:
        return ip
    try:
        return str(_unmap(ipaddress.ip_address(ip.split("%", 1)[0])))
    except ValueError:
        return ip


def ip_object(ip: str) -> IPAddress | None:
    try:
        return _unmap(ipaddress.ip_address(ip))
    except ValueError:
        return None


def parse_source(text: str) -> str:
    """Validate a ban source (an IPv4/IPv6 address or CIDR network) and return its canonical form.

    Raises ``ValueError`` with a message fit for an API error: not an address, host bits set in a network, the
    unspecified address (0.0.0.0, ::), or a network broader than /8 (IPv4) or /32 (IPv6).
    Loopback and private addresses are allowed (labs and tests run on loopback; registered contacts stay exempt).
    """
    value = text.strip()
    if not value or len(value) > 64:
        raise ValueError("expected an IPv4 or IPv6 address or CIDR network, e.g. 203.0.113.7 or 2001:db8::/48")
    if "/" in value:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"not a valid CIDR network ({exc})") from None
        if net.prefixlen == net.max_prefixlen:
            return canonical_ip(str(net.network_address))
        if net.prefixlen < MIN_PREFIX[net.version]:
            raise ValueError(f"network too broad: the shortest prefix allowed is /{MIN_PREFIX[net.version]}")
        return str(net)
    try:
        addr = _unmap(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not a valid IPv4 or IPv6 address") from None
    if addr.is_unspecified:
        raise ValueError("the unspecified address cannot be banned")
    return str(addr)


def is_network(source: str) -> bool:
    return "/" in source


def network(source: str) -> IPNetwork:
    return ipaddress.ip_network(source, strict=False)
