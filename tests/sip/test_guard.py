"""The SIP edge guard (centrex.sipguard): every rule at exact clock instants, expiry, exemptions, memory bounds."""

from __future__ import annotations

import pytest

from centrex.sipguard import ALLOW, Ban, BanEntry, Drop, Guard, GuardConfig, Reason
from centrex.sipguard.addresses import parse_source
from centrex.sipguard.scanners import ScannerMatcher

T0 = 1_800_000_000.0
ATTACKER = "203.0.113.9"


def guard(registered: set[tuple[str, int]] | None = None, **cfg: object) -> Guard:
    regs = registered if registered is not None else set()
    return Guard(GuardConfig(**cfg), is_registered=lambda ip, port: (ip, port) in regs, clock=lambda: T0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- failed auth


def test_five_failures_within_window_block_the_pair_until_block_ends() -> None:
    g = guard()
    for i in range(4):
        assert g.auth_failed("1001", ATTACKER, 5060, now=T0 + i) is ALLOW
    assert g.check_auth("1001", ATTACKER, 5060, now=T0 + 4) is ALLOW
    assert g.auth_failed("1001", ATTACKER, 5060, now=T0 + 4) == Drop(Reason.AUTH_FAILURES, T0 + 4 + 900)
    # Blocked for that username from that IP (any port), not for other usernames or other IPs.
    assert g.check_auth("1001", ATTACKER, 6000, now=T0 + 5) == Drop(Reason.AUTH_BLOCKED, T0 + 904)
    assert g.check_auth("1002", ATTACKER, 5060, now=T0 + 5) is ALLOW
    assert g.check_auth("1001", "198.51.100.1", 5060, now=T0 + 5) is ALLOW
    # Not an IP ban: other requests from that IP still pass.
    assert g.check_request(ATTACKER, 5060, "Yealink", now=T0 + 5) is ALLOW
    # The block ends exactly at its end instant.
    assert g.check_auth("1001", ATTACKER, 5060, now=T0 + 903.999) == Drop(Reason.AUTH_BLOCKED, T0 + 904)
    assert g.check_auth("1001", ATTACKER, 5060, now=T0 + 904) is ALLOW


def test_failures_outside_the_window_do_not_add_up() -> None:
    g = guard()
    for i in range(4):
        g.auth_failed("1001", ATTACKER, 5060, now=T0 + i)  # T0..T0+3
    # At T0+300 the first failure (T0) has left the 300 s window: 4 within window, no block.
    assert g.auth_failed("1001", ATTACKER, 5060, now=T0 + 300) is ALLOW
    assert g.check_auth("1001", ATTACKER, 5060, now=T0 + 300) is ALLOW
    # The next one makes 5 within the window (T0+1, +2, +3, +300, +300.5).
    assert isinstance(g.auth_failed("1001", ATTACKER, 5060, now=T0 + 300.5), Drop)


def test_success_resets_the_failure_count() -> None:
    g = guard()
    for i in range(4):
        g.auth_failed("1001", ATTACKER, 5060, now=T0 + i)
    g.auth_succeeded("1001", ATTACKER, 5060, now=T0 + 5)
    for i in range(4):
        assert g.auth_failed("1001", ATTACKER, 5060, now=T0 + 10 + i) is ALLOW
    assert isinstance(g.auth_failed("1001", ATTACKER, 5060, now=T0 + 20), Drop)


def test_success_does_not_lift_an_active_block() -> None:
    g = guard()
    for i in range(5):
        g.auth_failed("1001", ATTACKER, 5060, now=T0 + i)
    g.auth_succeeded("1001", ATTACKER, 5060, now=T0 + 10)
    assert g.check_auth("1001", ATTACKER, 5060, now=T0 + 11) == Drop(Reason.AUTH_BLOCKED, T0 + 904)


def test_password_spraying_bans_the_ip() -> None:
    g = guard()
    for i in range(19):
        assert g.auth_failed(f"u{i}", ATTACKER, 5060, now=T0 + i) is ALLOW
    decision = g.auth_failed("u19", ATTACKER, 5060, now=T0 + 19)
    assert decision == Ban(Reason.PASSWORD_SPRAY, T0 + 19 + 3600, ATTACKER)
    assert g.check_request(ATTACKER, 5060, None, now=T0 + 20) == Drop(Reason.BANNED, T0 + 3619)
    assert g.check_request(ATTACKER, 5060, None, now=T0 + 3619) is ALLOW  # expired exactly at its end
    [entry] = g.take_new_bans()
    assert entry.source == ATTACKER and entry.reason.startswith("password_spray") and entry.expires_at == T0 + 3619
    assert g.take_new_bans() == []


def test_spraying_counts_distinct_usernames_within_the_window_only() -> None:
    g = guard()
    for i in range(19):
        g.auth_failed(f"u{i}", ATTACKER, 5060, now=T0 + i)
    # u0 failed at T0: out of the window at T0+300, so the 20th distinct name comes too late.
    assert g.auth_failed("u19", ATTACKER, 5060, now=T0 + 300) is ALLOW
    # Repeating one username never counts as spraying (the pair limit handles it).
    g2 = guard(auth_failures=1000)
    assert all(g2.auth_failed("1001", ATTACKER, 5060, now=T0 + i) is ALLOW for i in range(100))


# ---------------------------------------------------------------------------------------------- flood


def test_flood_token_bucket_burst_then_rate() -> None:
    g = guard(flood_rate=8.0, flood_burst=5.0)
    for _ in range(5):
        assert g.check_request(ATTACKER, 5060, "phone", now=T0) is ALLOW
    sixth = g.check_request(ATTACKER, 5060, "phone", now=T0)
    assert sixth == Drop(Reason.FLOOD, T0 + 0.125)
    # 0.125 s at 8/s brings back exactly one token (not earlier).
    assert isinstance(g.check_request(ATTACKER, 5060, "phone", now=T0 + 0.0625), Drop)
    assert g.check_request(ATTACKER, 5060, "phone", now=T0 + 0.125) is ALLOW
    assert isinstance(g.check_request(ATTACKER, 5060, "phone", now=T0 + 0.125), Drop)
    # Other IPs have their own bucket.
    assert g.check_request("198.51.100.1", 5060, "phone", now=T0) is ALLOW


def test_repeated_flooding_bans_the_ip() -> None:
    g = guard(flood_rate=10.0, flood_burst=5.0, flood_strikes=3, flood_strike_window=10.0, flood_ban_seconds=600)
    for _ in range(5):
        g.check_request(ATTACKER, 5060, None, now=T0)
    assert isinstance(g.check_request(ATTACKER, 5060, None, now=T0), Drop)  # strike 1
    assert isinstance(g.check_request(ATTACKER, 5060, None, now=T0), Drop)  # strike 2
    assert g.check_request(ATTACKER, 5060, None, now=T0) == Ban(Reason.FLOOD, T0 + 600, ATTACKER)
    assert g.check_request(ATTACKER, 5061, None, now=T0 + 599) == Drop(Reason.BANNED, T0 + 600)
    assert g.check_request(ATTACKER, 5061, None, now=T0 + 600) is ALLOW


def test_strikes_spread_over_more_than_the_window_do_not_ban() -> None:
    g = guard(flood_rate=1.0, flood_burst=1.0, flood_strikes=3, flood_strike_window=10.0)
    t = T0
    decisions = []
    for _ in range(10):  # two requests every 5 s: one passes, one is a strike; strikes reset every 10 s
        decisions.append(g.check_request(ATTACKER, 5060, None, now=t))
        decisions.append(g.check_request(ATTACKER, 5060, None, now=t))
        t += 5.0
    assert not any(isinstance(d, Ban) for d in decisions)
    assert sum(isinstance(d, Drop) for d in decisions) == 10


# ---------------------------------------------------------------------------------------------- scanners


@pytest.mark.parametrize(
    "ua", ["friendly-scanner", "SIPVicious/0.3", "sipcli/v1.8", "VaxSIPUserAgent/3.1", "iWar", "pplsip", "sundayddr"]
)
def test_scanner_user_agents_are_banned_at_once(ua: str) -> None:
    g = guard()
    assert g.check_request(ATTACKER, 5060, ua, now=T0) == Ban(Reason.SCANNER, T0 + 86400, ATTACKER)
    assert g.check_request(ATTACKER, 5070, "Yealink SIP-T46S", now=T0 + 1) == Drop(Reason.BANNED, T0 + 86400)


@pytest.mark.parametrize("ua", ["Yealink SIP-T46S 66.86.0.15", "Cisco-CP8865/14.1", "Linphone/5.2", "SIPp", None, ""])
def test_real_user_agents_pass(ua: str | None) -> None:
    assert ScannerMatcher().match(ua) is None
    assert guard().check_request(ATTACKER, 5060, ua, now=T0) is ALLOW


def test_scanner_list_is_configurable() -> None:
    g = guard(scanner_agents=("evilbot",))
    assert g.check_request(ATTACKER, 5060, "friendly-scanner", now=T0) is ALLOW
    assert isinstance(g.check_request(ATTACKER, 5060, "x EvilBot 1", now=T0), Ban)


# ---------------------------------------------------------------------------------------------- exemptions


def test_registered_source_is_never_blocked_throttled_or_banned() -> None:
    phone = ("192.0.2.10", 5062)
    g = guard({phone}, flood_rate=1.0, flood_burst=1.0, flood_strikes=1)
    for i in range(50):
        assert g.check_request(*phone, "Yealink", now=T0) is ALLOW
        assert g.auth_failed("1001", *phone, now=T0 + i) is ALLOW
    assert g.check_auth("1001", *phone, now=T0 + 60) is ALLOW
    assert g.check_request(*phone, "friendly-scanner", now=T0) is ALLOW  # even a faked UA
    assert g.take_new_bans() == []
    # While its IP is banned (another port misbehaved), the registered source keeps working.
    assert isinstance(g.check_request(phone[0], 40000, "sipvicious", now=T0), Ban)
    assert isinstance(g.check_request(phone[0], 40000, "Yealink", now=T0 + 1), Drop)
    assert g.check_request(*phone, "Yealink", now=T0 + 1) is ALLOW


def test_exemption_follows_the_registration_as_it_comes_and_goes() -> None:
    regs: set[tuple[str, int]] = set()
    g = guard(regs)
    for i in range(5):
        g.auth_failed("1001", "192.0.2.10", 5062, now=T0 + i)
    assert isinstance(g.check_auth("1001", "192.0.2.10", 5062, now=T0 + 6), Drop)
    regs.add(("192.0.2.10", 5062))
    assert g.check_auth("1001", "192.0.2.10", 5062, now=T0 + 7) is ALLOW
    regs.clear()
    assert isinstance(g.check_auth("1001", "192.0.2.10", 5062, now=T0 + 8), Drop)


def test_trusted_networks_are_never_limited() -> None:
    g = guard(trusted=("198.51.100.0/24", "2001:db8::1"), flood_rate=1.0, flood_burst=1.0, flood_strikes=1)
    for _ in range(20):
        assert g.check_request("198.51.100.77", 5060, "friendly-scanner", now=T0) is ALLOW
        assert g.check_request("2001:db8::1", 5060, None, now=T0) is ALLOW
    assert isinstance(g.check_request("198.51.101.1", 5060, "friendly-scanner", now=T0), Ban)


def test_brute_force_from_the_phones_ip_blocks_the_attacker_while_the_phone_keeps_working() -> None:
    """One IP (a shared NAT, or loopback in tests): the real phone is registered from port 5062; an attacker on
    port 6000 guesses 1001's password. The exemption is per IP:port, so only the attacker is stopped."""
    ip, phone, attacker = "192.0.2.10", 5062, 6000
    regs = {(ip, phone)}
    g = guard(regs)
    refused_at = None
    for i in range(200):
        now = T0 + i * 0.5
        assert g.check_request(ip, attacker, "pjsip", now=now) is ALLOW or refused_at is not None
        if isinstance(g.check_auth("1001", ip, attacker, now=now), Drop):
            refused_at = refused_at or i
            continue
        g.auth_failed("1001", ip, attacker, now=now)
        # Meanwhile the phone refreshes its registration and makes requests: always allowed, and its success does
        # not reset the attacker's failure count.
        assert g.check_request(ip, phone, "Yealink", now=now) is ALLOW
        assert g.check_auth("1001", ip, phone, now=now) is ALLOW
        g.auth_succeeded("1001", ip, phone, now=now)
    assert refused_at == 5  # five guesses, then refused for the block time
    assert g.check_auth("1001", ip, attacker, now=T0 + 100) == Drop(Reason.AUTH_BLOCKED, T0 + 2 + 900)
    assert g.check_auth("1001", ip, phone, now=T0 + 100) is ALLOW


# ---------------------------------------------------------------------------------------------- bans


def test_manual_ban_of_a_network_lift_and_export_import() -> None:
    g = guard()
    g.ban("198.51.100.0/24", "manual: abuse", until=None, created_by="user:u1", now=T0)
    g.ban("2001:db8:1::/48", "manual", until=T0 + 60, created_by="user:u1", now=T0)
    assert g.check_request("198.51.100.200", 5060, None, now=T0 + 1) == Drop(Reason.BANNED, None)
    assert isinstance(g.check_request("2001:db8:1:2::5", 5060, None, now=T0 + 1), Drop)
    assert isinstance(g.check_request("2001:DB8:1:0:0:0:0:5", 5060, None, now=T0 + 1), Drop)  # canonicalised
    assert g.check_request("2001:db8:1::5", 5060, None, now=T0 + 60) is ALLOW  # expired
    exported = g.export_bans(now=T0 + 61)
    assert [e.source for e in exported] == ["198.51.100.0/24"]

    other = guard()
    other.import_bans(exported, now=T0 + 61)
    assert isinstance(other.check_request("198.51.100.9", 5060, None, now=T0 + 62), Drop)
    assert other.lift("198.51.100.0/24") is not None
    assert other.check_request("198.51.100.9", 5060, None, now=T0 + 63) is ALLOW
    assert other.lift("198.51.100.0/24") is None


def test_import_with_replace_drops_lifted_bans_and_forgets_their_counters() -> None:
    g = guard()
    for i in range(20):
        g.auth_failed(f"u{i}", ATTACKER, 5060, now=T0)
    [entry] = g.take_new_bans()
    persisted = entry.with_id("ban_x")
    g.import_bans([persisted], now=T0 + 1)
    assert isinstance(g.check_request(ATTACKER, 5060, None, now=T0 + 2), Drop)
    g.import_bans([], now=T0 + 3)  # lifted through the API
    assert g.check_request(ATTACKER, 5060, None, now=T0 + 4) is ALLOW
    # The spraying counter started afresh: 19 more usernames do not ban again.
    assert all(g.auth_failed(f"v{i}", ATTACKER, 5060, now=T0 + 5) is ALLOW for i in range(19))


def test_ipv4_mapped_ipv6_sources_share_the_ipv4_state() -> None:
    g = guard()
    assert isinstance(g.check_request("::ffff:203.0.113.9", 5060, "sipvicious", now=T0), Ban)
    assert isinstance(g.check_request(ATTACKER, 5060, None, now=T0 + 1), Drop)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 2001:DB8::1 ", "2001:db8::1"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("192.0.2.1/32", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_ban_sources_are_canonicalised(text: str, expected: str) -> None:
    assert parse_source(text) == expected


@pytest.mark.parametrize(
    "text", ["", "example.com", "1.2.3.256", "10.0.0.1/8", "0.0.0.0", "::", "0.0.0.0/0", "2001::/16"]
)
def test_bad_ban_sources_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_source(text)


# ---------------------------------------------------------------------------------------------- memory bounds


def test_memory_is_bounded_under_address_rotation() -> None:
    g = guard(max_pairs=50, max_sources=40, max_bans=30)
    for i in range(1000):
        ip = f"10.{i // 250}.{i % 250}.1"
        g.check_request(ip, 5060, None, now=T0)
        g.auth_failed(f"user{i}", ip, 5060, now=T0)
        g.check_request(f"172.16.{i // 250}.{i % 250}", 5060, "friendly-scanner", now=T0)
    assert len(g._pairs) == 50
    assert len(g._sources) == 40
    assert len(g.bans) == 30 and g.bans.evictions == 970
    # The most recent ban is kept; manual bans are never evicted by engine bans.
    g.ban("192.0.2.1", "manual", until=None, created_by="user:u1", now=T0)
    for i in range(100):
        g.check_request(f"172.17.0.{i}", 5060, "friendly-scanner", now=T0)
    assert isinstance(g.check_request("192.0.2.1", 5060, None, now=T0), Drop)
    assert isinstance(g.check_request("172.17.0.99", 5060, None, now=T0), Drop)


def test_purge_forgets_idle_state_and_expired_bans() -> None:
    g = guard()
    g.auth_failed("1001", ATTACKER, 5060, now=T0)
    g.check_request("198.51.100.1", 5060, None, now=T0)
    g.check_request("198.51.100.2", 5060, "sipvicious", now=T0)
    g.purge(now=T0 + 10)
    assert len(g._pairs) == 1 and len(g.bans) == 1
    g.purge(now=T0 + 86400)
    assert len(g._pairs) == 0 and len(g._sources) == 0 and len(g.bans) == 0


def test_stats_count_reasons_and_clock_default() -> None:
    g = guard(flood_rate=1.0, flood_burst=1.0)
    g.check_request(ATTACKER, 5060, None)  # uses the injected clock (T0)
    g.check_request(ATTACKER, 5060, None)
    g.check_request("198.51.100.2", 5060, "sipvicious")
    assert g.stats.dropped == {"flood": 1} and g.stats.banned == {"scanner": 1}
    assert BanEntry("1.2.3.4", "x", T0, None).active(T0 + 10**9)


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        GuardConfig(auth_failures=0)
    with pytest.raises(ValueError):
        GuardConfig(flood_rate=0)


def test_config_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from centrex.config import Settings

    monkeypatch.setenv("CENTREX_SIP_GUARD_TRUSTED", '["198.51.100.0/24"]')
    monkeypatch.setenv("CENTREX_SIP_GUARD_AUTH_FAILURES", "3")
    cfg = GuardConfig.from_settings(Settings())
    assert cfg.auth_failures == 3 and cfg.trusted == ("198.51.100.0/24",) and cfg.flood_rate == 20.0
    g = Guard(cfg, clock=lambda: T0)
    assert g.exempt("198.51.100.5", 1) and not g.exempt(ATTACKER, 1)
    for i in range(2):
        assert g.auth_failed("1001", ATTACKER, 5060, now=T0 + i) is ALLOW
    assert isinstance(g.auth_failed("1001", ATTACKER, 5060, now=T0 + 2), Drop)
