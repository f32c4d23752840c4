"""``/api/v1/tenants/{tenant_id}/calls`` (live calls, ``/calls/summary``, ``/calls/{id}``) and
``/api/v1/tenants/{tenant_id}/extension-states``: what the SIP engine of this process carries now (docs/live.md).
Read from the engine's memory (``centrex.engine.live``), never cached; another tenant's call is a 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy import func, select

from centrex.api.deps import SessionDep, StateDep, TenantScopeDep, require
from centrex.api.route import CentrexRoute
from centrex.api.state import AppState
from centrex.db.models.extension import Extension
from centrex.db.models.sip import SipRegistration
from centrex.domain.errors import Conflict, InvalidInput, NotFound
from centrex.domain.tenancy import TenantScope
from centrex.engine import live
from centrex.engine.b2bua.call import Call
from centrex.engine.b2bua.core import B2bua, ControlError, for_database
from centrex.media.anchor import LegName
from centrex.resources.calls.schemas import (
    CallSummary,
    CommandOut,
    DtmfIn,
    ExtensionState,
    ExtensionStates,
    HoldIn,
    LiveCall,
    LiveCalls,
    OriginateIn,
    TransferIn,
)

TAG = {
    "name": "calls",
    "description": "Live state: calls in progress with their legs, counts, and what every extension is doing.",
}

router = APIRouter(prefix="/tenants/{tenant_id}", tags=["calls"], route_class=CentrexRoute)
CallId = Annotated[str, Path(min_length=1, max_length=300, description="The call's id (its CDR id).")]


async def _registrations(session: SessionDep, tenant_id: str) -> dict[str, int]:
    rows = (
        await session.execute(
            select(SipRegistration.extension_id, func.count())
            .where(SipRegistration.tenant_id == tenant_id, SipRegistration.expires_at > datetime.now(UTC))
            .group_by(SipRegistration.extension_id)
        )
    ).all()
    return {str(ext): int(n) for ext, n in rows}


@router.get(
    "/calls",
    response_model=LiveCalls,
    dependencies=[Depends(require("cdrs.read"))],
    summary="Calls in progress, with their legs",
)
async def list_live_calls(scope: TenantScopeDep, state: StateDep) -> Any:
    engine = for_database(state.db)
    if engine is None:
        return {"engine_running": False, "items": []}
    now = datetime.now(UTC)
    return {
        "engine_running": True,
        "items": [live.describe(c, now) for c in live.tenant_calls(engine.calls, scope.tenant_id)],
    }


@router.get(
    "/calls/summary",
    response_model=CallSummary,
    dependencies=[Depends(require("cdrs.read"))],
    summary="Counts: calls, channels, registered extensions and contacts",
)
async def call_summary(scope: TenantScopeDep, state: StateDep, session: SessionDep) -> Any:
    engine = for_database(state.db)
    calls = live.tenant_calls(engine.calls, scope.tenant_id) if engine is not None else []
    states = [live.call_state(c) for c in calls]
    regs = await _registrations(session, scope.tenant_id)
    return {
        "engine_running": engine is not None,
        "calls": len(calls),
        "ringing": states.count("ringing"),
        "up": states.count("up"),
        "held": states.count("held"),
        "channels": sum(live.channels(c) for c in calls),
        "registered_extensions": len(regs),
        "registered_contacts": sum(regs.values()),
    }


def _find(engine: B2bua | None, tenant_id: str, call_id: str) -> tuple[B2bua, Call]:
    if engine is not None:
        for call in live.tenant_calls(engine.calls, tenant_id):
            if live.call_id(call) == call_id:
                return engine, call
    raise NotFound.of("call", call_id)


def _control_error(exc: ControlError) -> Exception:
    return Conflict(exc.message) if exc.status == 409 else InvalidInput.field("destination", exc.message)


async def _command(
    call_id: str, scope: TenantScope, state: AppState, command: Callable[[B2bua, Call], Awaitable[None]]
) -> None:
    """Run a command on the tenant's call in progress: 404 when there is none, 409/422 from the engine's refusal."""
    engine, call = _find(for_database(state.db), scope.tenant_id, call_id)
    try:
        await command(engine, call)
    except ControlError as exc:
        raise _control_error(exc) from None


@router.get(
    "/calls/{call_id}",
    response_model=LiveCall,
    dependencies=[Depends(require("cdrs.read"))],
    summary="One call in progress",
    description="404 when no call with this id is in progress in this tenant (ended calls are in `/cdrs`).",
)
async def get_live_call(call_id: CallId, scope: TenantScopeDep, state: StateDep) -> Any:
    _, call = _find(for_database(state.db), scope.tenant_id, call_id)
    return live.describe(call)


@router.post(
    "/calls/{call_id}/hangup",
    response_model=CommandOut,
    dependencies=[Depends(require("calls.control"))],
    summary="Hang up a call",
    description="An answered call: BYE on both legs (CDR `answered`, hung up by `system`); a ringing one: 487 to "
    "the caller and CANCEL to its legs (CDR `cancelled`). 404 for a call not in progress in this tenant, 409 "
    "when it ended meanwhile.",
)
async def hang_up_call(call_id: CallId, scope: TenantScopeDep, state: StateDep) -> Any:
    await _command(call_id, scope, state, lambda engine, call: engine.hang_up(call))
    return {"call_id": call_id, "detail": "hung up"}


@router.post(
    "/calls/{call_id}/transfer",
    response_model=CommandOut,
    status_code=202,
    dependencies=[Depends(require("calls.control"))],
    summary="Blind-transfer an answered call",
    description="The caller's side stays; the answered leg is hung up and `destination` (dialled as the answering "
    "extension would dial it) rings in its place, with its forwarding and fallbacks. Events: `call.transferred`, "
    "then `call.bridged` when the destination answers; a failed transfer ends the call. 409 when the call is not "
    "answered, is already being transferred or has no anchored media; 422 when the destination cannot be rung.",
)
async def transfer_call(call_id: CallId, body: TransferIn, scope: TenantScopeDep, state: StateDep) -> Any:
    await _command(call_id, scope, state, lambda engine, call: engine.transfer(call, body.destination))
    return {"call_id": call_id, "detail": f"transferring to {body.destination}"}


@router.get(
    "/extension-states",
    response_model=ExtensionStates,
    dependencies=[Depends(require("extensions.read"))],
    summary="What every extension is doing: idle, ringing, in use, DND, offline",
)
async def extension_states(scope: TenantScopeDep, state: StateDep, session: SessionDep) -> Any:
    engine = for_database(state.db)
    activity = live.extension_activity(live.tenant_calls(engine.calls, scope.tenant_id)) if engine is not None else {}
    regs = await _registrations(session, scope.tenant_id)
    rows = (
        await session.execute(
            select(Extension).where(Extension.tenant_id == scope.tenant_id).order_by(Extension.number)
        )
    ).scalars()
    items: list[ExtensionState] = []
    for ext in rows:
        current = activity.get(ext.id)
        if current is None:
            current = (
                "disabled" if not ext.enabled else "dnd" if ext.dnd else "offline" if not regs.get(ext.id) else "idle"
            )
        rules = [str(r.get("condition")) for r in ext.forwarding or [] if r.get("enabled", True)]
        items.append(
            ExtensionState(
                extension_id=ext.id,
                number=ext.number,
                name=ext.name,
                state=current,
                dnd=bool(ext.dnd),
                forwarding=rules,
                registrations=regs.get(ext.id, 0),
            )
        )
    return {"engine_running": engine is not None, "items": items}


@router.post(
    "/calls/{call_id}/dtmf",
    response_model=CommandOut,
    dependencies=[Depends(require("calls.control"))],
    summary="Send DTMF digits to one side of an answered call",
    description="SIP INFO (`application/dtmf-relay`), one per digit, each after the previous one is answered: to "
    "the `caller` or to the answered `callee` (e.g. to steer a remote IVR). 409 when the call is not connected or "
    "the phone refuses INFO.",
)
async def send_dtmf(call_id: CallId, body: DtmfIn, scope: TenantScopeDep, state: StateDep) -> Any:
    leg: LegName = "a" if body.leg == "caller" else "b"
    await _command(call_id, scope, state, lambda engine, call: engine.send_dtmf(call, body.digits, leg))
    return {"call_id": call_id, "detail": f"sent {body.digits} to the {body.leg}"}


@router.post(
    "/calls",
    response_model=CommandOut,
    status_code=202,
    dependencies=[Depends(require("calls.control"))],
    summary="Click-to-call: ring an extension, then connect it to a destination",
    description="Every registered phone of `extension_id` rings (showing the destination as the caller); the first "
    "to answer is connected to `destination`, dialled as that extension would dial it (its permissions, forwarding "
    "and routes apply). The answer carries the call's id (its CDR id) to follow it in `/calls`, the events and "
    "`/cdrs`. 404 for another tenant's extension; 409 when it has no registered phone or media is not anchored; "
    "422 when the destination cannot be rung.",
)
async def originate_call(body: OriginateIn, scope: TenantScopeDep, state: StateDep) -> Any:
    engine = for_database(state.db)
    if engine is None:
        raise Conflict("the SIP engine does not run in this process")
    try:
        call = await engine.originate(
            scope.tenant_id, body.extension_id, body.destination, ring_seconds=float(body.ring_seconds)
        )
    except ControlError as exc:
        if exc.status == 404:
            raise NotFound.of("extension", body.extension_id) from None
        raise _control_error(exc) from None
    return {"call_id": live.call_id(call), "detail": f"ringing the extension, then {body.destination}"}


async def _hold(call_id: str, body: HoldIn, scope: TenantScopeDep, state: StateDep, on: bool) -> Any:
    leg: LegName = "a" if body.leg == "caller" else "b"
    await _command(call_id, scope, state, lambda engine, call: engine.hold(call, leg, on))
    return {"call_id": call_id, "detail": f"{body.leg} {'on hold' if on else 'resumed'}"}


@router.post(
    "/calls/{call_id}/hold",
    response_model=CommandOut,
    dependencies=[Depends(require("calls.control"))],
    summary="Put one side of an answered call on hold",
    description="A re-INVITE to that phone with `a=sendonly` (it stops sending; music on hold comes with the media "
    "applications). Event `call.held`. 409 when the call is not connected, that side is already on hold or its phone "
    "refuses.",
)
async def hold_call(call_id: CallId, body: HoldIn, scope: TenantScopeDep, state: StateDep) -> Any:
    return await _hold(call_id, body, scope, state, True)


@router.post(
    "/calls/{call_id}/resume",
    response_model=CommandOut,
    dependencies=[Depends(require("calls.control"))],
    summary="Take one side of a call off hold",
    description="A re-INVITE to that phone with `a=sendrecv`. Event `call.resumed`. 409 when that side is not on hold.",
)
async def resume_call(call_id: CallId, body: HoldIn, scope: TenantScopeDep, state: StateDep) -> Any:
    return await _hold(call_id, body, scope, state, False)
