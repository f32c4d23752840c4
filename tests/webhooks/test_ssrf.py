"""SSRF guard: which addresses are refused, URL shapes, resolution, and the pinned connection target."""

from __future__ import annotations

import ipaddress

import pytest

from centrex.webhooks.ssrf import UnsafeTarget, check_url, non_public_reason, parse_url


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),  # broadcast
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("192.0.2.10", "private"),  # documentation
        ("fc00::1", "private"),  # unique local
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
        ("64:ff9b::7f00:1", "NAT64-translated loopback"),
    ],
)
def test_non_public_addresses(address: str, reason: str) -> None:
    got = non_public_reason(ipaddress.ip_address(address))
    assert got == reason, (address, got)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert non_public_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "https:// or http://"),
        ("file:///etc/passwd", "https:// or http://"),
        ("https:///nohost", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com:99999/", "invalid port"),
    ],
)
def test_url_shapes(url: str, message: str) -> None:
    with pytest.raises(UnsafeTarget, match=message):
        parse_url(url)


async def test_loopback_refused_unless_allowed() -> None:
    with pytest.raises(UnsafeTarget, match="loopback address") as info:
        await check_url("http://127.0.0.1:8080/hook", allow_private=False)
    assert "CENTREX_WEBHOOK_ALLOW_PRIVATE" in str(info.value)
    target = await check_url("http://127.0.0.1:8080/hook?x=1", allow_private=True)
    assert target.ip == "127.0.0.1" and target.port == 8080
    assert target.pinned_url == "http://127.0.0.1:8080/hook?x=1"


async def test_names_are_resolved_and_checked() -> None:
    # ``localhost`` resolves (from /etc/hosts) to loopback: refused by what it resolves to, not by its name.
    with pytest.raises(UnsafeTarget, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback"):
        await check_url("http://localhost:9/x", allow_private=False)
    target = await check_url("http://LOCALHOST:9/x", allow_private=True)
    assert target.host == "localhost" and target.ip in ("127.0.0.1", "::1")
    assert target.host_header == "localhost:9"
    assert target.pinned_url.endswith(":9/x") and "localhost" not in target.pinned_url


async def test_unresolvable_or_malformed_names_are_refused() -> None:
    with pytest.raises(UnsafeTarget, match="cannot resolve"):
        await check_url("https://no-such-host.invalid/x", allow_private=False)
    with pytest.raises(UnsafeTarget, match="longer than 253"):
        await check_url("http://" + "0" * 1990, allow_private=False)
    with pytest.raises(UnsafeTarget, match="not a valid host name"):
        await check_url("http://" + "a" * 70 + ".example.com/", allow_private=True)


async def test_public_literal_passes_and_keeps_host_header() -> None:
    target = await check_url("https://93.184.216.34/hooks", allow_private=False)
    assert target.pinned_url == "https://93.184.216.34:443/hooks"
    assert target.host_header == "93.184.216.34"
    v6 = await check_url("https://[2606:4700:4700::1111]:8443/", allow_private=False)
    assert v6.pinned_url == "https://[2606:4700:4700::1111]:8443/"
    assert v6.host_header == "[2606:4700:4700::1111]:8443"
