"""``GuardConfig``: thresholds and caps of the SIP edge guard, with the defaults documented in docs/sip-security.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from centrex.sipguard.scanners import DEFAULT_SCANNER_AGENTS

if TYPE_CHECKING:
    from centrex.config import Settings


@dataclass(frozen=True)
class GuardConfig:
    """All durations in seconds, rates in requests per second."""

    # Failed authentication for one (username, source IP): `auth_failures` within `auth_window` → pair blocked.
    auth_failures: int = 5
    auth_window: float = 300.0
    auth_block_seconds: float = 900.0
    # Password spraying: one source IP failing for `spray_usernames` different usernames within `auth_window`.
    spray_usernames: int = 20
    spray_ban_seconds: float = 3600.0
    # Request flood per source IP: token bucket; `flood_strikes` refused requests within `flood_strike_window`.
    flood_rate: float = 20.0
    flood_burst: float = 100.0
    flood_strikes: int = 100
    flood_strike_window: float = 10.0
    flood_ban_seconds: float = 600.0
    # Known scanner User-Agents: immediate ban.
    scanner_ban_seconds: float = 86400.0
    scanner_agents: tuple[str, ...] = DEFAULT_SCANNER_AGENTS
    # Never limited (e.g. the addresses of IP-authenticated trunks, a Kamailio edge): IPs or CIDR networks.
    trusted: tuple[str, ...] = ()
    # Memory bounds (entries; the least recently used are forgotten first).
    max_pairs: int = 100_000
    max_sources: int = 100_000
    max_bans: int = 100_000

    def __post_init__(self) -> None:
        for name in ("auth_failures", "spray_usernames", "flood_strikes", "max_pairs", "max_sources", "max_bans"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.flood_rate <= 0 or self.flood_burst < 1:
            raise ValueError("flood_rate must be positive and flood_burst at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> GuardConfig:
        """The guard configuration from ``CENTREX_SIP_GUARD_*`` settings."""
        return cls(
            auth_failures=settings.sip_guard_auth_failures,
            auth_window=settings.sip_guard_auth_window_seconds,
            auth_block_seconds=settings.sip_guard_auth_block_seconds,
            spray_usernames=settings.sip_guard_spray_usernames,
            spray_ban_seconds=settings.sip_guard_spray_ban_seconds,
            flood_rate=settings.sip_guard_flood_rate,
            flood_burst=settings.sip_guard_flood_burst,
            flood_ban_seconds=settings.sip_guard_flood_ban_seconds,
            scanner_ban_seconds=settings.sip_guard_scanner_ban_seconds,
            trusted=tuple(settings.sip_guard_trusted),
        )
