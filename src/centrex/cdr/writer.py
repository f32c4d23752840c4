"""The CDR writer: the functions the call engine calls as a call progresses, each durable on return.

Every function runs its own short transaction and commits before it returns, so a CDR survives an engine crash at
any point of the call: a call that was running when the engine stopped is still ``in_progress`` in the database,
and ``recover_interrupted`` (called once when the engine starts) marks it ``interrupted``.

Conventions the engine follows (the API's filters rely on them):

- ``direction``: ``internal`` (extension to extension), ``inbound`` (from a trunk/DID), ``outbound`` (to a trunk).
- ``extension_id``: the tenant's extension the call is about: the *called* extension for inbound and internal
  calls, the *calling* extension for outbound calls. For internal calls ``caller_number`` is the calling
  extension's number (which is how the calling side finds its own internal calls).
- Numbers as the engine saw them (E.164 for outside numbers, extension numbers for extensions).

Times: timezone-aware datetimes (stored as UTC). A time earlier than the one before it (the wall clock stepped
back) is clamped to it, so an answer never precedes the start and an end never precedes the answer.

Billing rule: ``duration_seconds`` (start → end) and ``billable_seconds`` (answer → end; 0 when never answered) are
whole seconds rounded **up**: any started second counts in full (0.2 s → 1, 61.0 s → 61, 61.001 s → 62). Because
answer ≥ start, ``billable_seconds ≤ duration_seconds`` always.

An ``interrupted`` CDR gets ``ended_at`` = the restart time but keeps ``duration_seconds`` and
``billable_seconds`` at 0: the real end of the call is unknown, and the engine's down time is never billed.

Events: every change also writes its call event in the same transaction (``centrex.cdr.events``: ``call.created``,
``call.answered``, ``call.ended``/``call.missed``; ``call_event`` for ``call.ringing``, ``call.held`` …).

Legs are JSON objects in ``Cdr.legs`` (at most ``MAX_LEGS``); each has an ``id`` (given or generated), and
datetimes in it are stored as ISO-8601 UTC strings. On SQLite the writes queue on the database's write lock like
every other writer; the caller must not hold a session of its own while calling these functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy import select

from centrex.cdr.events import emit_call, emit_call_end
from centrex.db.engine import Database
from centrex.db.models.cdr import Cdr
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import NotFound
from centrex.domain.ids import new_id

DIRECTIONS: Final = frozenset({"internal", "inbound", "outbound"})
FINAL_DISPOSITIONS: Final = frozenset({"answered", "busy", "no_answer", "failed", "cancelled"})
DISPOSITIONS: Final = frozenset({*FINAL_DISPOSITIONS, "in_progress", "interrupted"})
HANGUP_BY: Final = frozenset({"caller", "callee", "system"})
MAX_LEGS: Final = 64
MAX_LEG_BYTES: Final = 4096


def _aware(at: datetime, name: str) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return at.astimezone(UTC)


def round_up_seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end``, any started second counted in full; never negative."""
    span = (end - start).total_seconds()
    return max(0, math.ceil(round(span, 6)))  # round(): float noise must not turn 61.000000 into 62


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{name} is required")
        return None if value is None else ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{name} must be a string of at most {limit} characters")
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value, "leg time").isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _leg(leg: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(leg, Mapping):
        raise ValueError("a leg must be a mapping")
    out = _jsonable(leg)
    try:
        size = len(orjson.dumps(out))
    except TypeError as exc:
        raise ValueError(f"a leg must hold JSON values only ({exc})") from None
    if size > MAX_LEG_BYTES:
        raise ValueError(f"a leg may be at most {MAX_LEG_BYTES} bytes of JSON")
    assert isinstance(out, dict)
    return out


async def _load(uow: UnitOfWork, cdr_id: str) -> Cdr:
    stmt = select(Cdr).where(Cdr.id == cdr_id)
    if not uow.db.is_sqlite:
        stmt = stmt.with_for_update()  # PostgreSQL: concurrent updates of one call queue here
    cdr = (await uow.session.execute(stmt)).scalar_one_or_none()
    if cdr is None:
        raise NotFound.of("cdr", cdr_id)
    return cdr


async def start_call(
    db: Database,
    *,
    tenant_id: str,
    call_id: str,
    direction: str,
    caller_number: str,
    caller_name: str | None,
    callee_number: str,
    did: str | None,
    extension_id: str | None,
    trunk_id: str | None,
    at: datetime,
    cdr_id: str | None = None,
) -> str:
    """Create the call's CDR (``in_progress``) and return its id (``cdr_id``: one chosen by the caller, so the call
    has its id before the row exists)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(sorted(DIRECTIONS))}")
    cdr = Cdr(
        id=cdr_id or new_id("cdr"),
        tenant_id=_text(tenant_id, "tenant_id", 40, required=True),
        call_id=_text(call_id, "call_id", 255, required=True),
        direction=direction,
        caller_number=_text(caller_number, "caller_number", 64) or "",
        caller_name=_text(caller_name, "caller_name", 100),
        callee_number=_text(callee_number, "callee_number", 64) or "",
        did=_text(did, "did", 32),
        extension_id=_text(extension_id, "extension_id", 40),
        trunk_id=_text(trunk_id, "trunk_id", 40),
        started_at=_aware(at, "at"),
        disposition="in_progress",
        duration_seconds=0,
        billable_seconds=0,
        legs=[],
    )
    async with UnitOfWork(db) as uow:
        uow.session.add(cdr)
        await emit_call(uow.session, cdr, "call.created")
        await uow.commit()
    return cdr.id


async def call_event(db: Database, cdr_id: str, type_: str, **extra: Any) -> bool:
    """An event of a call still in progress (``call.ringing``, ``call.held``, ``call.resumed``) with the call as its
    CDR says now plus ``extra``; False (nothing written) when the call has ended."""
    async with UnitOfWork(db) as uow:
        cdr = await _load(uow, cdr_id)
        if cdr.disposition != "in_progress":
            return False
        await emit_call(uow.session, cdr, type_, **extra)
        await uow.commit()
    return True


async def add_leg(db: Database, cdr_id: str, leg: Mapping[str, Any]) -> str:
    """Append a leg (a JSON object; ``id`` generated when missing) and return the leg's id."""
    data = _leg(leg)
    leg_id = data.get("id") or new_id("leg")
    data["id"] = str(leg_id)
    async with UnitOfWork(db) as uow:
        cdr = await _load(uow, cdr_id)
        legs = list(cdr.legs or [])
        if len(legs) >= MAX_LEGS:
            raise ValueError(f"a CDR holds at most {MAX_LEGS} legs")
        if any(existing.get("id") == data["id"] for existing in legs):
            raise ValueError(f"CDR {cdr_id} already has a leg {data['id']!r}")
        cdr.legs = [*legs, data]  # a new list: JSON columns track assignment, not in-place changes
        await uow.commit()
    return str(data["id"])


async def update_leg(db: Database, cdr_id: str, leg_id: str, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` into the leg ``leg_id`` (its ``id`` cannot change)."""
    data = _leg(changes)
    data.pop("id", None)
    async with UnitOfWork(db) as uow:
        cdr = await _load(uow, cdr_id)
        legs = [dict(existing) for existing in cdr.legs or []]
        for existing in legs:
            if existing.get("id") == leg_id:
                existing.update(data)
                break
        else:
            raise NotFound(f"CDR {cdr_id!r} has no leg {leg_id!r}", resource="cdr_leg", id=leg_id)
        _leg(next(x for x in legs if x.get("id") == leg_id))  # still within the size limit
        cdr.legs = legs
        await uow.commit()


async def answer(
    db: Database, cdr_id: str, at: datetime, *, extension_id: str | None = None, trunk_id: str | None = None
) -> bool:
    """Record the answer time (the first answer counts) and, when given, the extension or trunk that answered;
    False when the call had already ended."""
    when = _aware(at, "at")
    async with UnitOfWork(db) as uow:
        cdr = await _load(uow, cdr_id)
        if cdr.disposition != "in_progress" or cdr.answered_at is not None:
            return False
        cdr.answered_at = max(when, cdr.started_at)
        if extension_id is not None:
            cdr.extension_id = extension_id
        if trunk_id is not None:
            cdr.trunk_id = trunk_id
        await emit_call(uow.session, cdr, "call.answered")
        await uow.commit()
    return True


async def end_call(
    db: Database,
    cdr_id: str,
    *,
    at: datetime,
    disposition: str,
    hangup_cause: int | None,
    hangup_by: str | None,
) -> bool:
    """Close the CDR: end time, disposition, hang-up cause and side, durations (rounded up, see the module doc).

    Returns False (and changes nothing) when the CDR was already closed, e.g. marked ``interrupted``.
    """
    if disposition not in FINAL_DISPOSITIONS:
        raise ValueError(f"disposition must be one of {', '.join(sorted(FINAL_DISPOSITIONS))}")
    if hangup_by is not None and hangup_by not in HANGUP_BY:
        raise ValueError(f"hangup_by must be one of {', '.join(sorted(HANGUP_BY))} or None")
    if hangup_cause is not None and (
        isinstance(hangup_cause, bool) or not isinstance(hangup_cause, int) or not 100 <= hangup_cause <= 699
    ):
        raise ValueError("hangup_cause must be a SIP status code (100–699) or None")
    when = _aware(at, "at")
    async with UnitOfWork(db) as uow:
        cdr = await _load(uow, cdr_id)
        if cdr.disposition != "in_progress":
            return False
        if disposition == "answered" and cdr.answered_at is None:
            raise ValueError("disposition 'answered' needs an answer() first")
        ended = max(when, cdr.answered_at or cdr.started_at, cdr.started_at)
        cdr.ended_at = ended
        cdr.disposition = disposition
        cdr.hangup_cause = hangup_cause
        cdr.hangup_by = hangup_by
        cdr.duration_seconds = round_up_seconds(cdr.started_at, ended)
        cdr.billable_seconds = round_up_seconds(cdr.answered_at, ended) if cdr.answered_at else 0
        await emit_call_end(uow.session, cdr)
        await uow.commit()
    return True


async def recover_interrupted(db: Database, *, now: datetime | None = None) -> int:
    """Mark every ``in_progress`` CDR ``interrupted`` (ended now, hung up by the system); return how many.

    Call once when the engine starts, before it takes calls: whatever is still in progress then was cut off.
    """
    when = _aware(now, "now") if now is not None else datetime.now(UTC)
    async with UnitOfWork(db) as uow:
        # Row by row (at most the calls that were up at the crash) so the change is tracked like any other write
        # and the API's response cache drops what it holds about these records.
        rows = (await uow.session.execute(select(Cdr).where(Cdr.disposition == "in_progress"))).scalars().all()
        for cdr in rows:
            cdr.disposition = "interrupted"
            cdr.ended_at = max(when, cdr.answered_at or cdr.started_at, cdr.started_at)
            cdr.hangup_by = "system"
            await emit_call_end(uow.session, cdr)
        await uow.commit()
    return len(rows)
