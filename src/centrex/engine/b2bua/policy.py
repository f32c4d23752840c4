"""What the caller is answered, and which CDR disposition a call gets, for each outcome."""

from __future__ import annotations

from typing import Any

# Resolver steps the B2BUA cannot carry out yet: they need media (announcements, prompts, recording, mixing)

NOT_YET = {
    "ivr": "IVR needs media: not available yet",
    "voicemail": "voicemail needs media: not available yet",
    "queue": "call queues need media: not available yet",
    "conference": "conferences need media: not available yet",
    "play": "announcements need media: not available yet",
}
BUSY = frozenset({486, 600, 603})


def refusal(step: dict[str, Any]) -> tuple[int, str, str | None]:
    """(status, reason phrase, warning text or None) for a step other than ``ring_extension``."""
    kind = step.get("kind")
    if kind == "reject":
        status = int(step.get("status") or 480)
        reasons = {404: "Not Found", 486: "Busy Here", 480: "Temporarily Unavailable", 403: "Forbidden"}
        return status, reasons.get(status, "Call Rejected"), str(step.get("reason") or "") or None
    if kind == "hangup":
        return 480, "Temporarily Unavailable", "the call flow ends here"
    return 480, "Temporarily Unavailable", NOT_YET.get(str(kind), f"{kind} is not supported")


def warning(text: str) -> str:
    """A Warning header value (RFC 3261 §20.43, code 399: miscellaneous)."""
    clean = "".join(c for c in text if 32 <= ord(c) < 127 and c not in '"\\')[:120]
    return f'399 centrex "{clean}"'


def disposition_of(status: int) -> str:
    """The CDR disposition of a call that ended unanswered with ``status``."""
    if status in BUSY:
        return "busy"
    if status in (408, 480, 487):
        return "no_answer"
    return "failed"


def relayed_status(status: int, reason: str) -> tuple[int, str]:
    """The callee's final failure as the caller sees it (redirects and auth challenges are not passed on)."""
    if status < 400 or status in (401, 407):
        return 480, "Temporarily Unavailable"
    return status, reason
