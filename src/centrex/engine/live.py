"""Live state of the calls a running B2BUA carries, as the API shows it (docs/live.md): active calls with their legs,
the counts of a tenant, and what every extension is doing. Pure functions over the engine's in-memory calls (no I/O);
the API finds the engine with ``centrex.engine.b2bua.core.for_database``.

A call's ``id`` is its CDR id (the same id as in ``/cdrs`` and in the call events), or ``pending:<SIP Call-ID>``
for the instant before its CDR exists. States: ``ringing`` (not answered yet), ``up``, ``held`` (the last offer put
the media on hold). Legs: ``a`` (the caller's side) and ``b1``, ``b2`` … (every INVITE placed for it: ``ringing``,
``trying``, ``answered``, ``failed`` with its status, ``cancelled``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from centrex.engine.b2bua.call import Branch, Call


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def call_id(call: Call) -> str:
    return call.cdr_id or f"pending:{call.a_call_id}"


def _branch_state(branch: Branch, winner: Branch | None) -> str:
    if branch is winner:
        return "answered"
    if branch.cancelled:
        return "cancelled"
    if branch.final is not None:
        return "failed"
    return "ringing" if branch.ringing else "trying"


def call_state(call: Call) -> str:
    if not call.answered:
        return "ringing"
    return "held" if call.held else "up"


def describe(call: Call, now: datetime | None = None) -> dict[str, Any]:
    """One live call as the API returns it."""
    now = now or datetime.now(UTC)
    legs: list[dict[str, Any]] = [
        {
            "leg": "a",
            "role": "caller",
            "state": "answered" if call.answered else "ringing",
            "number": call.caller_number,
            "extension_id": call.caller_extension_id,
            "trunk_id": call.trunk_id,
            "source": f"{call.a_source.transport}:{call.a_source.ip}:{call.a_source.port}",
        }
    ]
    for branch in call.branches:
        target = branch.target
        legs.append(
            {
                "leg": f"b{branch.index}",
                "role": "callee",
                "state": _branch_state(branch, call.b),
                "number": target.number or target.label,
                "extension_id": target.extension_id,
                "trunk_id": target.trunk_id,
                "status": branch.final,
                "destination": f"{branch.dest.transport}:{branch.dest.ip}:{branch.dest.port}",
            }
        )
    answered = call.b.target if call.b is not None else None
    return {
        "id": call_id(call),
        "sip_call_id": call.a_call_id,
        "direction": call.direction,
        "state": call_state(call),
        "caller": call.caller_number,
        "caller_name": call.caller_name,
        "callee": call.callee_label,
        "did": call.did,
        "trunk_id": call.trunk_id or (answered.trunk_id if answered is not None else None),
        "extension_id": answered.extension_id if answered is not None else call.caller_extension_id,
        "started_at": _iso(call.started_at),
        "answered_at": _iso(call.answered_at),
        "duration": max(0, int((now - call.started_at).total_seconds())),
        "talk_time": max(0, int((now - call.answered_at).total_seconds())) if call.answered_at else 0,
        "media_anchored": call.media is not None,
        "legs": legs,
    }


def tenant_calls(calls: set[Call], tenant_id: str) -> list[Call]:
    """The tenant's calls in progress (not ended), oldest first."""
    live = [c for c in calls if c.tenant_id == tenant_id and not c.ended]
    return sorted(live, key=lambda c: c.started_at)


def channels(call: Call) -> int:
    """SIP channels a call holds: its A leg, plus its answered leg or every branch still ringing."""
    if call.b is not None:
        return 2
    return 1 + sum(1 for b in call.branches if b.final is None and not b.cancelled)


def extension_activity(calls: list[Call]) -> dict[str, str]:
    """Extension id → ``in_use`` (on a call, either side) or ``ringing`` (a branch rings it), from the live calls."""
    state: dict[str, str] = {}
    for call in calls:
        if call.caller_extension_id:
            state[call.caller_extension_id] = "in_use"
        for branch in call.branches:
            ext = branch.target.extension_id
            if ext is None:
                continue
            if branch is call.b:
                state[ext] = "in_use"
            elif branch.final is None and not branch.cancelled and not call.answered:
                state.setdefault(ext, "ringing")
    return state
