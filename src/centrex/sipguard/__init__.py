"""SIP edge protection (pure logic, injected clock, no I/O): failed-auth limits, flood limits, scanner bans.

The engine builds one ``Guard(GuardConfig.from_settings(settings), is_registered=registrar.has_source)`` and asks it
about every request; decisions come back as values (``Allow``, ``Drop``, ``Ban``). ``sipguard.store`` persists
bans in the ``sip_bans`` table. Rules, defaults and the bans API: docs/sip-security.md.
"""

from centrex.sipguard.bans import BanEntry, BanList
from centrex.sipguard.decisions import ALLOW, Allow, Ban, Decision, Drop, Reason
from centrex.sipguard.guard import Guard, GuardStats
from centrex.sipguard.policy import GuardConfig
from centrex.sipguard.scanners import DEFAULT_SCANNER_AGENTS

__all__ = [
    "ALLOW",
    "DEFAULT_SCANNER_AGENTS",
    "Allow",
    "Ban",
    "BanEntry",
    "BanList",
    "Decision",
    "Drop",
    "Guard",
    "GuardConfig",
    "GuardStats",
    "Reason",
]
