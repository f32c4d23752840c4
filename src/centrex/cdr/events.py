"""Call events into the outbox (``centrex.events.outbox``), written by the CDR writer in the transaction of the CDR
change they describe, so a crash never loses one and never publishes one for a change that did not happen
(docs/events.md). ``resource_type`` ``call``, ``resource_id`` the CDR id:

``call.created`` (the call is resolved and its CDR opened), ``call.ringing`` (a branch rings: which extension or
trunk), ``call.answered``, ``call.held`` / ``call.resumed`` (a re-INVITE/UPDATE puts the media on hold or back),
``call.ended`` (duration, disposition, cause, who hung up) and, for a call that rang an extension and was not
answered (not outbound calls), ``call.missed`` right after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.models.cdr import Cdr
from centrex.events.outbox import emit_for_tenant

MISSED = frozenset({"cancelled", "no_answer", "busy"})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def call_data(cdr: Cdr, **extra: Any) -> dict[str, Any]:
    """The data of a call event: the call as its CDR says now, plus what the event adds (``leg``, ``state`` …)."""
    state = "ended" if cdr.ended_at is not None else "up" if cdr.answered_at is not None else "ringing"
    data: dict[str, Any] = {
        "call_id": cdr.id,
        "sip_call_id": cdr.call_id,
        "direction": cdr.direction,
        "caller": cdr.caller_number,
        "caller_name": cdr.caller_name,
        "callee": cdr.callee_number,
        "did": cdr.did,
        "trunk_id": cdr.trunk_id,
        "extension_id": cdr.extension_id,
        "state": state,
        "started_at": _iso(cdr.started_at),
        "answered_at": _iso(cdr.answered_at),
        "ended_at": _iso(cdr.ended_at),
        "duration": cdr.duration_seconds,
        "billable_seconds": cdr.billable_seconds,
        "disposition": cdr.disposition,
        "hangup_cause": cdr.hangup_cause,
        "hangup_by": cdr.hangup_by,
    }
    data.update(extra)
    return data


async def emit_call(session: AsyncSession, cdr: Cdr, type_: str, **extra: Any) -> None:
    await emit_for_tenant(
        session, type_, tenant_id=cdr.tenant_id, resource_type="call", resource_id=cdr.id, data=call_data(cdr, **extra)
    )


async def emit_call_end(session: AsyncSession, cdr: Cdr) -> None:
    """``call.ended``, then ``call.missed`` when an extension was rung and nobody answered (not outbound calls)."""
    await emit_call(session, cdr, "call.ended")
    if cdr.disposition in MISSED and cdr.extension_id and cdr.direction != "outbound":
        await emit_call(session, cdr, "call.missed")
