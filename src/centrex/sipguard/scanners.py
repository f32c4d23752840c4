"""Known SIP scanner User-Agents: a request carrying one gets its source banned at once.

Matching is a case-insensitive substring test. The default list holds only names that no real phone, softphone or
PBX uses (the SIPVicious suite, sipcli, SIPScan, VaxSIPUserAgent and other scanners seen in honeypot logs):

- ``friendly-scanner`` — SIPVicious svmap/svwar default User-Agent
- ``sipvicious`` — SIPVicious (any version, also "SIPVicious-PRO")
- ``sipcli`` — sipcli, a scripted INVITE/REGISTER flooder
- ``sip-scan``, ``sipscan`` — SIPScan and its clones
- ``vaxsipuseragent`` — VaxSIP SDK default, used by mass-dialling toll-fraud tools
- ``iwar`` — iWar war-dialler
- ``sundayddr`` — "sundayddr" scanner (worm)
- ``pplsip`` — pplsip scanner

Deliberately absent: ``Cisco`` (scanners fake it, but real Cisco phones send ``Cisco-CP…``), ``sipsak`` and
``SIPp`` (operators' own test tools), ``Asterisk``/``FPBX`` (faked too, but also real trunks). Operators can
replace the list through ``GuardConfig.scanner_agents``.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_SCANNER_AGENTS: tuple[str, ...] = (
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipscan",
    "vaxsipuseragent",
    "iwar",
    "sundayddr",
    "pplsip",
)


class ScannerMatcher:
    """``match(user_agent)`` returns the list entry found in the User-Agent (case-insensitive), or None."""

    __slots__ = ("_patterns",)

    def __init__(self, patterns: Iterable[str] = DEFAULT_SCANNER_AGENTS) -> None:
        self._patterns = tuple(p.lower() for p in patterns if p)

    def match(self, user_agent: str | None) -> str | None:
        if not user_agent:
            return None
        ua = user_agent.lower()
        for pattern in self._patterns:
            if pattern in ua:
                return pattern
        return None
