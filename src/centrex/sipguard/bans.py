"""The in-memory ban list: exact addresses and CIDR networks, each with an optional expiry (POSIX seconds).

Engine-made bans (``created_by == "engine"``) live in an LRU map capped at ``max_bans``, so an attacker rotating
addresses cannot grow memory without limit (the oldest engine bans are forgotten first; they stay in the database).
Bans made by an operator (any other ``created_by``) and network bans are few and never evicted.
Expired bans are removed lazily on lookup and by ``purge``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from centrex.sipguard.addresses import IPNetwork, canonical_ip, ip_object, is_network, network, parse_source
from centrex.sipguard.lru import LruMap

ENGINE = "engine"


@dataclass(frozen=True, slots=True)
class BanEntry:
    """One ban. ``source`` is a canonical IP or CIDR (see ``addresses.parse_source``); ``id`` is the DB row id."""

    source: str
    reason: str
    created_at: float
    expires_at: float | None = None  # None: until lifted
    created_by: str = ENGINE
    id: str | None = None

    def active(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at

    def with_id(self, ban_id: str) -> BanEntry:
        return replace(self, id=ban_id)


class BanList:
    __slots__ = ("_auto", "_manual", "_networks")

    def __init__(self, max_bans: int = 100_000) -> None:
        self._auto: LruMap[str, BanEntry] = LruMap(max_bans)
        self._manual: dict[str, BanEntry] = {}
        self._networks: dict[str, tuple[IPNetwork, BanEntry]] = {}

    @property
    def evictions(self) -> int:
        return self._auto.evictions

    def __len__(self) -> int:
        return len(self._auto) + len(self._manual) + len(self._networks)

    def add(self, entry: BanEntry) -> BanEntry:
        """Add or replace the ban of ``entry.source`` (which is canonicalised; ValueError if it is not an address)."""
        entry = replace(entry, source=parse_source(entry.source))
        self.remove(entry.source)
        if is_network(entry.source):
            self._networks[entry.source] = (network(entry.source), entry)
        elif entry.created_by == ENGINE:
            self._auto.put(entry.source, entry)
        else:
            self._manual[entry.source] = entry
        return entry

    def remove(self, source: str) -> BanEntry | None:
        key = canonical_ip(source.strip())
        found = self._auto.pop(key) or self._manual.pop(key, None)
        if found is None and key in self._networks:
            found = self._networks.pop(key)[1]
        return found

    def get(self, source: str) -> BanEntry | None:
        """The ban recorded for exactly this source (address or network), expired or not."""
        key = canonical_ip(source.strip())
        found = self._auto.peek(key) or self._manual.get(key)
        if found is None and key in self._networks:
            found = self._networks[key][1]
        return found

    def lookup(self, ip: str, now: float) -> BanEntry | None:
        """The active ban covering ``ip`` (a canonical address), if any; drops expired entries it meets."""
        entry = self._auto.peek(ip) or self._manual.get(ip)
        if entry is not None:
            if entry.active(now):
                return entry
            self.remove(ip)
        if not self._networks:
            return None
        addr = ip_object(ip)
        if addr is None:
            return None
        for key, (net, net_entry) in list(self._networks.items()):
            if addr.version == net.version and addr in net:
                if net_entry.active(now):
                    return net_entry
                del self._networks[key]
        return None

    def entries(self) -> list[BanEntry]:
        return (
            [e for _, e in self._auto.items()] + list(self._manual.values()) + [e for _, e in self._networks.values()]
        )

    def active(self, now: float) -> list[BanEntry]:
        return [e for e in self.entries() if e.active(now)]

    def purge(self, now: float) -> list[BanEntry]:
        """Remove expired bans; returns them."""
        gone = [e for e in self.entries() if not e.active(now)]
        for entry in gone:
            self.remove(entry.source)
        return gone

    def replace_all(self, entries: Iterable[BanEntry], now: float) -> None:
        self._auto.clear()
        self._manual.clear()
        self._networks.clear()
        for entry in entries:
            if entry.active(now):
                self.add(entry)
