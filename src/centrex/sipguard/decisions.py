"""The guard's answers, as values: ``Allow``, ``Drop(reason, until)`` or ``Ban(reason, until, source)``.

- ``Allow``: process the request normally.
- ``Drop``: do not process it. Nothing new was banned; the source is throttled, already banned, or the
  (username, IP) pair is blocked. The transport drops it silently (or, for ``auth_blocked``, the registrar may
  answer 403); ``until`` says when the refusal ends, if known.
- ``Ban``: the source IP has just been banned (and this request is refused). The ban is also queued in
  ``Guard.take_new_bans()`` for the engine to persist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Stable reason codes (also stored as the ban reason prefix and counted in ``GuardStats``)."""

    BANNED = "banned"  # the source IP is under an active ban
    SCANNER = "scanner"  # a known SIP scanner User-Agent
    FLOOD = "flood"  # over the per-IP request rate
    AUTH_FAILURES = "auth_failures"  # too many failed authentications for one username from one IP
    AUTH_BLOCKED = "auth_blocked"  # the (username, IP) pair is blocked after AUTH_FAILURES
    PASSWORD_SPRAY = "password_spray"  # one IP failing for many different usernames
    MANUAL = "manual"  # a ban made through the API


@dataclass(frozen=True, slots=True)
class Allow:
    """Go ahead."""


@dataclass(frozen=True, slots=True)
class Drop:
    """Refuse this request; ``until`` (POSIX seconds) is when the refusal ends, None when unknown or per request."""

    reason: Reason
    until: float | None = None


@dataclass(frozen=True, slots=True)
class Ban:
    """The source ``source`` was banned just now until ``until`` (POSIX seconds; None: until lifted)."""

    reason: Reason
    until: float | None
    source: str


ALLOW = Allow()
Decision = Allow | Drop | Ban
