"""``Guard``: the SIP edge rules over one in-memory state, with time passed in (no I/O, no threads).

Call order for the transport/registrar (``now`` is POSIX seconds; omitted, the injected ``clock`` is read):

1. every request (or datagram that parsed): ``check_request(ip, port, user_agent)`` → ``Allow | Drop | Ban``;
2. a request carrying credentials for ``username``, before verifying them: ``check_auth(username, ip, port)``
   → ``Allow | Drop(auth_blocked)``;
3. after verifying: ``auth_failed(username, ip, port)`` (FAILED/INVALID digest; not STALE) → ``Allow | Drop | Ban``,
   or ``auth_succeeded(username, ip, port)``;
4. periodically: ``take_new_bans()`` → persist them (``sipguard.store.persist_ban``), then
   ``import_bans(load_active_bans(...))`` so bans lifted or made through the API apply; ``purge()``.

Exemption (decided per source IP **and port**): a source for which ``is_registered(ip, port)`` is true — it holds
a current registration — is never throttled, blocked or banned, even while its IP is banned, and its failed
authentications are not counted (nor do its successes reset other sources' failures). Per IP:port rather than per
IP so that an attacker behind the same address (a shared NAT, or loopback in tests) is still stopped while the
real phone keeps working. Sources in ``GuardConfig.trusted`` (trunks, an edge proxy) are likewise never limited.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from centrex.sipguard.addresses import IPNetwork, canonical_ip, ip_object, network, parse_source
from centrex.sipguard.bans import ENGINE, BanEntry, BanList
from centrex.sipguard.decisions import ALLOW, Allow, Ban, Decision, Drop, Reason
from centrex.sipguard.lru import LruMap
from centrex.sipguard.policy import GuardConfig
from centrex.sipguard.scanners import ScannerMatcher

IsRegistered = Callable[[str, int], bool]
Clock = Callable[[], float]


def _never(ip: str, port: int) -> bool:
    return False


class _Pair:
    """Failed authentications of one (username, IP) and the end of its block."""

    __slots__ = ("blocked_until", "failures")

    def __init__(self, limit: int) -> None:
        self.failures: deque[float] = deque(maxlen=limit)
        self.blocked_until = 0.0


class _Source:
    """Per source IP: the flood token bucket, its strikes, and the usernames it failed for (spraying)."""

    __slots__ = ("stamp", "strike_start", "strikes", "tokens", "usernames")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now
        self.strikes = 0
        self.strike_start = now
        self.usernames: OrderedDict[str, float] = OrderedDict()


@dataclass
class GuardStats:
    """Counters for metrics: refused requests by reason, bans made by reason."""

    dropped: dict[str, int] = field(default_factory=dict)
    banned: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: Reason) -> None:
        self.dropped[reason.value] = self.dropped.get(reason.value, 0) + 1

    def ban(self, reason: Reason) -> None:
        self.banned[reason.value] = self.banned.get(reason.value, 0) + 1


class _Trusted:
    __slots__ = ("hosts", "nets")

    def __init__(self, sources: Iterable[str]) -> None:
        self.hosts: set[str] = set()
        self.nets: list[IPNetwork] = []
        for text in sources:
            source = parse_source(text)
            if "/" in source:
                self.nets.append(network(source))
            else:
                self.hosts.add(source)

    def __contains__(self, ip: str) -> bool:
        if ip in self.hosts:
            return True
        if not self.nets:
            return False
        addr = ip_object(ip)
        return addr is not None and any(addr.version == n.version and addr in n for n in self.nets)


class Guard:
    def __init__(
        self,
        config: GuardConfig | None = None,
        *,
        is_registered: IsRegistered | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.config = config or GuardConfig()
        self.is_registered: IsRegistered = is_registered or _never
        self.clock = clock
        self.bans = BanList(self.config.max_bans)
        self.stats = GuardStats()
        self._scanners = ScannerMatcher(self.config.scanner_agents)
        self._trusted = _Trusted(self.config.trusted)
        self._pairs: LruMap[tuple[str, str], _Pair] = LruMap(self.config.max_pairs)
        self._sources: LruMap[str, _Source] = LruMap(self.config.max_sources)
        self._new_bans: list[BanEntry] = []

    # ------------------------------------------------------------------------------------------------ requests

    def exempt(self, ip: str, port: int) -> bool:
        """Is this source never limited (it holds a registration, or its IP is trusted)?"""
        return ip in self._trusted or self.is_registered(ip, port)

    def check_request(self, ip: str, port: int, user_agent: str | None, now: float | None = None) -> Decision:
        """Every incoming request: banned source, scanner User-Agent, flood limit (in that order)."""
        now = self.clock() if now is None else now
        ip = canonical_ip(ip)
        if self.exempt(ip, port):
            return ALLOW
        ban = self.bans.lookup(ip, now)
        if ban is not None:
            self.stats.drop(Reason.BANNED)
            return Drop(Reason.BANNED, ban.expires_at)
        if self._scanners.match(user_agent) is not None:
            return self._ban(ip, Reason.SCANNER, now, self.config.scanner_ban_seconds, f"user agent {user_agent!r}")
        return self._flood(ip, now)

    def _source(self, ip: str, now: float) -> _Source:
        src = self._sources.get(ip)
        if src is None:
            src = _Source(self.config.flood_burst, now)
            self._sources.put(ip, src)
        return src

    def _flood(self, ip: str, now: float) -> Decision:
        cfg = self.config
        src = self._source(ip, now)
        elapsed = max(0.0, now - src.stamp)
        src.tokens = min(cfg.flood_burst, src.tokens + elapsed * cfg.flood_rate)
        src.stamp = now
        if src.tokens >= 1.0:
            src.tokens -= 1.0
            return ALLOW
        if now - src.strike_start >= cfg.flood_strike_window:
            src.strikes = 0
            src.strike_start = now
        src.strikes += 1
        if src.strikes >= cfg.flood_strikes:
            src.strikes = 0
            return self._ban(ip, Reason.FLOOD, now, cfg.flood_ban_seconds, f"over {cfg.flood_rate:g} requests/s")
        self.stats.drop(Reason.FLOOD)
        return Drop(Reason.FLOOD, now + (1.0 - src.tokens) / cfg.flood_rate)

    # ------------------------------------------------------------------------------------------ authentication

    def check_auth(self, username: str, ip: str, port: int, now: float | None = None) -> Allow | Drop:
        """Before verifying credentials of ``username``: is the (username, IP) pair blocked?"""
        now = self.clock() if now is None else now
        ip = canonical_ip(ip)
        if self.exempt(ip, port):
            return ALLOW
        pair = self._pairs.peek((username, ip))
        if pair is not None and now < pair.blocked_until:
            self.stats.drop(Reason.AUTH_BLOCKED)
            return Drop(Reason.AUTH_BLOCKED, pair.blocked_until)
        return ALLOW

    def auth_failed(self, username: str, ip: str, port: int, now: float | None = None) -> Decision:
        """A wrong password (or unknown user) from this source. ``Drop(auth_failures)`` when the pair is now
        blocked, ``Ban(password_spray)`` when the IP has failed for too many usernames, else ``Allow``."""
        now = self.clock() if now is None else now
        ip = canonical_ip(ip)
        if self.exempt(ip, port):
            return ALLOW
        cfg = self.config
        src = self._source(ip, now)
        src.usernames[username] = now
        src.usernames.move_to_end(username)
        while src.usernames and (
            len(src.usernames) > cfg.spray_usernames or next(iter(src.usernames.values())) <= now - cfg.auth_window
        ):
            src.usernames.popitem(last=False)
        if len(src.usernames) >= cfg.spray_usernames:
            src.usernames.clear()
            detail = f"failed authentication for {cfg.spray_usernames} usernames"
            return self._ban(ip, Reason.PASSWORD_SPRAY, now, cfg.spray_ban_seconds, detail)
        key = (username, ip)
        pair = self._pairs.get(key)
        if pair is None:
            pair = _Pair(cfg.auth_failures)
            self._pairs.put(key, pair)
        pair.failures.append(now)
        while pair.failures and pair.failures[0] <= now - cfg.auth_window:
            pair.failures.popleft()
        if len(pair.failures) >= cfg.auth_failures:
            pair.failures.clear()
            pair.blocked_until = now + cfg.auth_block_seconds
            self.stats.drop(Reason.AUTH_FAILURES)
            return Drop(Reason.AUTH_FAILURES, pair.blocked_until)
        return ALLOW

    def auth_succeeded(self, username: str, ip: str, port: int, now: float | None = None) -> None:
        """Correct credentials: the pair's failure count starts again (an active block stays until it ends).

        Not from an exempt source: a registered phone refreshing its registration must not wipe out the failures
        of an attacker guessing the same user's password from the same IP (other port)."""
        ip = canonical_ip(ip)
        if self.exempt(ip, port):
            return
        pair = self._pairs.peek((username, ip))
        if pair is not None:
            pair.failures.clear()

    # ------------------------------------------------------------------------------------------------- bans

    def _ban(self, ip: str, reason: Reason, now: float, seconds: float, detail: str) -> Decision:
        until = now + seconds
        try:
            entry = self.bans.add(BanEntry(ip, f"{reason.value}: {detail}"[:200], now, until, ENGINE))
        except ValueError:  # not an IP address (cannot come from a socket): refuse the request, ban nothing
            self.stats.drop(reason)
            return Drop(reason, until)
        self._new_bans.append(entry)
        self.stats.ban(reason)
        return Ban(reason, until, entry.source)

    def ban(
        self, source: str, reason: str, *, until: float | None, created_by: str, now: float | None = None
    ) -> BanEntry:
        """An operator's ban of an address or network (ValueError if ``source`` is not one)."""
        now = self.clock() if now is None else now
        return self.bans.add(BanEntry(source, reason, now, until, created_by))

    def lift(self, source: str) -> BanEntry | None:
        """Remove the ban of ``source`` and forget that IP's counters (it starts afresh)."""
        entry = self.bans.remove(source)
        self._forget(canonical_ip(source.strip()))
        return entry

    def _forget(self, ip: str) -> None:
        self._sources.pop(ip)
        for key in [k for k in self._pairs if k[1] == ip]:
            self._pairs.pop(key)

    def take_new_bans(self) -> list[BanEntry]:
        """Bans the guard made since the last call, for the engine to persist (each returned once)."""
        new, self._new_bans = self._new_bans, []
        return new

    def export_bans(self, now: float | None = None) -> list[BanEntry]:
        now = self.clock() if now is None else now
        return self.bans.active(now)

    def import_bans(self, entries: Iterable[BanEntry], now: float | None = None, *, replace: bool = True) -> None:
        """Load bans (from the database). With ``replace`` the list becomes exactly ``entries``: bans lifted
        elsewhere disappear and their IPs' counters are forgotten. Call after persisting ``take_new_bans()``."""
        now = self.clock() if now is None else now
        entries = list(entries)
        if replace:
            wanted = {parse_source(e.source) for e in entries if e.active(now)}
            for old in self.bans.entries():
                if old.source not in wanted:
                    self._forget(old.source)
            self.bans.replace_all(entries, now)
        else:
            for entry in entries:
                if entry.active(now):
                    self.bans.add(entry)

    def purge(self, now: float | None = None) -> None:
        """Drop expired bans and idle per-source and per-pair state (the LRU caps bound it anyway)."""
        now = self.clock() if now is None else now
        cfg = self.config
        self.bans.purge(now)
        for key in self._pairs:
            pair = self._pairs.peek(key)
            if (
                pair is not None
                and now >= pair.blocked_until
                and all(t <= now - cfg.auth_window for t in pair.failures)
            ):
                self._pairs.pop(key)
        full_after = cfg.flood_burst / cfg.flood_rate
        for ip in self._sources:
            src = self._sources.peek(ip)
            if src is None:
                continue
            idle = now - src.stamp >= full_after and now - src.strike_start >= cfg.flood_strike_window
            if idle and all(t <= now - cfg.auth_window for t in src.usernames.values()):
                self._sources.pop(ip)
