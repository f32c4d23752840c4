"""The call-flow resolver (pure): given a tenant snapshot, a dialled number and an instant, the next step of the
call — the same object the engine executes — and, on request, the chain of decisions that led to it and what every
branch (IVR keys, no-answer, overflow…) would do.

Entry points:
- ``resolve_inbound(snap, did, caller, at)``: a call from a trunk to one of the tenant's numbers;
- ``resolve_internal(snap, dialled, from_extension, at)``: a call dialled on an extension (internal numbers,
  emergency numbers, outbound routes with permission checks);
- ``follow(snap, destination, at)``: where a destination leads (used for branches and by the engine after a step).

Steps are plain dicts with a ``kind``:

    ring_extension  ring_group  queue  ivr  voicemail  conference  play  external  hangup  reject

Time conditions and "forward always" are decided here (no caller action is involved), so they appear in the trace,
never as a step. Loops cannot happen in saved configurations (the save-time guard refuses them); a hop limit turns
any leftover into a ``reject`` with status 508.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from centrex.callflow.snapshot import Row, TenantSnapshot
from centrex.domain.dialpatterns import PatternError, compile_pattern, transform
from centrex.domain.schedule import evaluate
from centrex.domain.tenancy import DestinationClass, OutboundLevel, may_dial

MAX_HOPS = 24
BRANCH_DEPTH = 4
EMERGENCY_NUMBERS = frozenset({"911", "933", "112"})

Step = dict[str, Any]


@dataclass
class Resolution:
    step: Step
    trace: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "trace": self.trace}


class _Walk:
    """One resolution: the snapshot, the instant, the trace being written and the hop budget."""

    def __init__(self, snap: TenantSnapshot, at: datetime, trace: bool) -> None:
        self.snap = snap
        self.at = at
        self.tracing = trace
        self.trace: list[dict[str, Any]] = []
        self.hops = 0

    def note(self, kind: str, detail: str, obj_id: str | None = None, name: str | None = None) -> None:
        if self.tracing:
            entry: dict[str, Any] = {"kind": kind, "detail": detail}
            if obj_id:
                entry["id"] = obj_id
            if name:
                entry["name"] = name
            self.trace.append(entry)

    # ------------------------------------------------------------------------------------------ destinations
    def follow(self, dest: dict[str, Any] | None) -> Step:
        while True:
            self.hops += 1
            if self.hops > MAX_HOPS:
                self.note("loop", "too many hops without an answer point")
                return {"kind": "reject", "status": 508, "reason": "call flow loops"}
            if not dest:
                self.note("hangup", "no destination configured")
                return {"kind": "hangup"}
            kind = dest.get("type")
            obj_id = dest.get("id")
            snap = self.snap
            if kind == "time_condition":
                tc = snap.time_conditions.get(obj_id or "")
                if tc is None:
                    return self._missing(kind, obj_id)
                ev = evaluate(
                    self.at,
                    timezone=tc.get("timezone") or snap.timezone,
                    weekly=tc.get("weekly") or [],
                    holidays=tc.get("holidays") or [],
                    mode=tc.get("mode") or "auto",
                    mode_until=tc.get("mode_until"),
                )
                nxt = tc.get(f"{ev.state}_destination")
                if ev.state == "holiday" and not nxt:
                    nxt = tc.get("closed_destination")
                self.note(
                    "time_condition",
                    f"{ev.local_time:%A %H:%M} {tc.get('timezone') or snap.timezone}: {ev.state} ({ev.reason})",
                    obj_id,
                    tc.get("name"),
                )
                dest = nxt
                continue
            if kind == "announcement":
                media = snap.media.get(dest.get("media_id") or "")
                self.note("announcement", f"play {media['name'] if media else dest.get('media_id')}")
                return {"kind": "play", "media_id": dest.get("media_id"), "next": dest.get("next")}
            if kind == "extension":
                step, nxt = self._extension(obj_id)
                if nxt is not None:
                    dest = nxt
                    continue
                return step
            if kind == "ring_group":
                return self._ring_group(obj_id)
            if kind == "queue":
                return self._queue(obj_id)
            if kind == "ivr":
                return self._ivr(obj_id)
            if kind == "voicemail":
                return self._voicemail(obj_id, dest.get("greeting"))
            if kind == "conference":
                conf = snap.conferences.get(obj_id or "")
                if conf is None:
                    return self._missing(kind, obj_id)
                self.note("conference", f"join {snap.name_of('conference', obj_id)}", obj_id, conf.get("name"))
                return {
                    "kind": "conference",
                    "conference_id": obj_id,
                    "number": conf.get("number"),
                    "pin_required": bool(conf.get("has_pin")),
                }
            if kind == "external":
                return self._external(str(dest.get("number")), None, "forwarded call")
            if kind == "hangup":
                self.note("hangup", "hang up")
                return {"kind": "hangup"}
            return {"kind": "reject", "status": 500, "reason": f"unknown destination type {kind!r}"}

    def _missing(self, kind: str, obj_id: str | None) -> Step:
        self.note(kind, f"{kind} {obj_id} no longer exists")
        return {"kind": "reject", "status": 404, "reason": f"{kind} {obj_id} does not exist"}

    def _extension(self, obj_id: str | None) -> tuple[Step, dict[str, Any] | None]:
        snap = self.snap
        ext = snap.extensions.get(obj_id or "")
        if ext is None:
            return self._missing("extension", obj_id), None
        label = snap.name_of("extension", obj_id)
        rules = {r.get("condition"): r for r in ext.get("forwarding") or [] if r.get("enabled", True)}
        box = snap.personal_box.get(ext["id"]) if ext.get("voicemail_enabled") else None

        def fallback(condition: str, greeting: str) -> dict[str, Any] | None:
            rule = rules.get(condition)
            if rule is not None:
                dest = dict(rule.get("destination") or {})
                if dest.get("type") == "voicemail" and not dest.get("id"):
                    dest = {"type": "voicemail", "id": box, "greeting": greeting} if box else {"type": "hangup"}
                return dest
            return {"type": "voicemail", "id": box, "greeting": greeting} if box else None

        if not ext.get("enabled", True):
            self.note("extension", f"{label} is disabled: unreachable", obj_id, ext.get("name"))
            nxt = fallback("unreachable", "unavailable")
            if nxt is None:
                return {"kind": "reject", "status": 480, "reason": "extension disabled"}, None
            return {}, nxt
        if "always" in rules:
            self.note("extension", f"{label} forwards all calls", obj_id, ext.get("name"))
            return {}, fallback("always", "unavailable")
        if ext.get("dnd"):
            self.note("extension", f"{label} is on do-not-disturb: treated as busy", obj_id, ext.get("name"))
            nxt = fallback("busy", "busy")
            if nxt is None:
                return {"kind": "reject", "status": 486, "reason": "do not disturb"}, None
            return {}, nxt
        self.note("extension", f"ring {label} for {ext.get('ring_timeout', 20)} s", obj_id, ext.get("name"))
        return {
            "kind": "ring_extension",
            "extension_id": ext["id"],
            "number": ext["number"],
            "name": ext.get("name"),
            "ring_timeout": ext.get("ring_timeout", 20),
            "on_busy": fallback("busy", "busy"),
            "on_no_answer": fallback("no_answer", "unavailable"),
            "on_unreachable": fallback("unreachable", "unavailable"),
        }, None

    def _ring_group(self, obj_id: str | None) -> Step:
        snap = self.snap
        rg = snap.ring_groups.get(obj_id or "")
        if rg is None:
            return self._missing("ring_group", obj_id)
        members = []
        for m in rg.get("members") or []:
            if m.get("type", "extension") == "extension":
                ext = snap.extensions.get(m.get("extension_id") or "")
                if ext is None or not ext.get("enabled", True):
                    continue
                members.append(
                    {
                        "type": "extension",
                        "extension_id": ext["id"],
                        "number": ext["number"],
                        "ring_time": m.get("ring_time") or rg.get("ring_time", 20),
                        "dnd": ext.get("dnd"),
                    }
                )
            else:
                members.append(
                    {
                        "type": "external",
                        "number": m.get("number"),
                        "ring_time": m.get("ring_time") or rg.get("ring_time", 20),
                    }
                )
        self.note("ring_group", f"ring {len(members)} member(s), strategy {rg.get('strategy')}", obj_id, rg.get("name"))
        return {
            "kind": "ring_group",
            "ring_group_id": obj_id,
            "strategy": rg.get("strategy"),
            "members": members,
            "ring_time": rg.get("ring_time"),
            "caller_id_prefix": rg.get("caller_id_prefix") or "",
            "confirm_external": rg.get("confirm_external"),
            "on_no_answer": rg.get("no_answer_destination"),
        }

    def _queue(self, obj_id: str | None) -> Step:
        snap = self.snap
        q = snap.queues.get(obj_id or "")
        if q is None:
            return self._missing("queue", obj_id)
        agents = snap.queue_agents.get(obj_id or "", [])
        ready = [a for a in agents if a.get("logged_in") and not a.get("paused")]
        self.note(
            "queue",
            f"queue with {len(ready)} of {len(agents)} agent(s) ready, strategy {q.get('strategy')}",
            obj_id,
            q.get("name"),
        )
        if not ready and not q.get("join_empty", True) and q.get("empty_destination"):
            self.note("queue", "no agent ready and the queue may not be joined empty: empty destination", obj_id)
            return self.follow(q.get("empty_destination"))
        return {
            "kind": "queue",
            "queue_id": obj_id,
            "strategy": q.get("strategy"),
            "agents_ready": len(ready),
            "max_wait": q.get("max_wait"),
            "on_timeout": q.get("timeout_destination"),
            "on_full": q.get("full_destination"),
            "on_empty": q.get("empty_destination"),
        }

    def _ivr(self, obj_id: str | None) -> Step:
        snap = self.snap
        ivr = snap.ivrs.get(obj_id or "")
        if ivr is None:
            return self._missing("ivr", obj_id)
        keys = sorted((ivr.get("options") or {}).keys())
        self.note("ivr", f"menu with keys {', '.join(keys) or 'none'}", obj_id, ivr.get("name"))
        return {
            "kind": "ivr",
            "ivr_id": obj_id,
            "greeting_media_id": ivr.get("greeting_media_id"),
            "greeting_text": ivr.get("greeting_text"),
            "options": ivr.get("options") or {},
            "dial_by_extension": ivr.get("dial_by_extension"),
            "dial_by_name": ivr.get("dial_by_name"),
            "timeout": ivr.get("timeout"),
            "max_retries": ivr.get("max_retries"),
            "on_timeout": ivr.get("timeout_destination") or {"type": "hangup"},
            "on_invalid": ivr.get("invalid_destination") or {"type": "hangup"},
            "language": ivr.get("language") or snap.language,
        }

    def _voicemail(self, obj_id: str | None, greeting: str | None) -> Step:
        snap = self.snap
        box = snap.voicemail_boxes.get(obj_id or "")
        if box is None:
            return self._missing("voicemail", obj_id)
        chosen = greeting or box.get("active_greeting") or "unavailable"
        self.note("voicemail", f"leave a message ({chosen} greeting)", obj_id, box.get("name"))
        return {
            "kind": "voicemail",
            "box_id": obj_id,
            "number": box.get("number"),
            "greeting": chosen,
            "max_message_seconds": box.get("max_message_seconds"),
        }

    # ------------------------------------------------------------------------------------------ outbound
    def _external(self, number: str, from_ext: Row | None, why: str) -> Step:
        """Route a number to the outside world through the tenant's outbound routes."""
        snap = self.snap
        candidates = [number]
        if number.startswith("+"):
            candidates.append(number[1:])
        for route in snap.outbound_routes:
            for pat in route.get("patterns") or []:
                try:
                    compiled = compile_pattern(pat["match"])
                except (PatternError, KeyError):
                    continue
                dialled = next((c for c in candidates if compiled.match(c)), None)
                if dialled is None:
                    continue
                tc_id = route.get("time_condition_id")
                if tc_id and not self._open(tc_id):
                    self.note("outbound_route", f"route {route['name']} matches but is closed now", route["id"])
                    break
                return self._through_route(route, pat, dialled, from_ext, why)
        self.note("outbound", f"no outbound route matches {number}")
        return {"kind": "reject", "status": 404, "reason": f"no outbound route for {number}"}

    def _open(self, tc_id: str) -> bool:
        tc = self.snap.time_conditions.get(tc_id)
        if tc is None:
            return False
        return (
            evaluate(
                self.at,
                timezone=tc.get("timezone") or self.snap.timezone,
                weekly=tc.get("weekly") or [],
                holidays=tc.get("holidays") or [],
                mode=tc.get("mode") or "auto",
                mode_until=tc.get("mode_until"),
            ).state
            == "open"
        )

    def _through_route(self, route: Row, pat: dict[str, Any], dialled: str, from_ext: Row | None, why: str) -> Step:
        snap = self.snap
        emergency = bool(route.get("emergency")) or route.get("destination_class") == "emergency"
        cls = DestinationClass(route.get("destination_class") or "national")
        if from_ext is not None and not emergency:
            level = OutboundLevel(from_ext.get("outbound_level") or "national")
            if not may_dial(cls, level, frozenset(DestinationClass(c) for c in snap.allowed_classes)):
                self.note(
                    "permission", f"{cls.value} calls are not allowed for {level.value} extensions here", from_ext["id"]
                )
                return {"kind": "reject", "status": 403, "reason": f"{cls.value} calls not permitted"}
        out = transform(dialled, int(pat.get("strip") or 0), str(pat.get("prepend") or ""))
        ids = list(route.get("trunk_ids") or [])
        if not ids and emergency:
            ids = sorted(snap.trunks, key=lambda t: (snap.trunks[t]["tenant_id"] != snap.tenant_id, t))
        trunks = []
        for trunk_id in ids:
            trunk = snap.trunks.get(trunk_id)
            if trunk is None or not trunk.get("enabled", True):
                continue
            trunks.append(
                {
                    "trunk_id": trunk_id,
                    "name": trunk.get("name"),
                    "dial": (trunk.get("dial_prefix") or "") + _format(out, trunk.get("number_format")),
                }
            )
        caller_id = route.get("caller_id_number") or (from_ext or {}).get("external_caller_id_number")
        self.note(
            "outbound_route",
            f"{why}: {dialled} matches {pat['match']} on route {route['name']} "
            f"({cls.value}) → {out} via {len(trunks)} trunk(s)",
            route["id"],
            route.get("name"),
        )
        step: Step = {
            "kind": "external",
            "number": out,
            "destination_class": cls.value,
            "route_id": route["id"],
            "trunks": trunks,
            "caller_id": caller_id,
            "emergency": emergency,
        }
        if emergency:
            location = (from_ext or {}).get("emergency_location") or snap.emergency_location
            step["emergency_location"] = location
            step["notify"] = True
        if not trunks:
            step = {**step, "kind": "reject", "status": 503, "reason": "no trunk available for this route"}
        return step


def _format(number: str, fmt: str | None) -> str:
    if fmt == "e164_no_plus":
        return number.lstrip("+")
    if fmt == "national":
        if number.startswith("+1") and len(number) == 12:
            return number[2:]
        return number.lstrip("+")
    if fmt == "e164" and not number.startswith("+") and len(number) > 10:
        return "+" + number
    return number


# ---------------------------------------------------------------------------------------------- entry points
def _caller_blocked(snap: TenantSnapshot, caller: str | None) -> Row | None:
    if not caller:
        return None
    for block in snap.caller_id_blocks:
        pattern = block.get("pattern") or ""
        if pattern == caller:
            return block
        try:
            if compile_pattern(pattern).match(caller):
                return block
        except PatternError:
            continue
    return None


def resolve_inbound(
    snap: TenantSnapshot, did: str, caller: str | None, at: datetime, *, trace: bool = True
) -> Resolution:
    walk = _Walk(snap, at, trace)
    if snap.status != "active":
        walk.note("tenant", "the tenant is suspended")
        return Resolution({"kind": "reject", "status": 503, "reason": "tenant suspended"}, walk.trace)
    blocked = _caller_blocked(snap, caller)
    if blocked is not None:
        walk.note(
            "caller_id_block",
            f"caller {caller} is blocked ({blocked.get('reason') or blocked['pattern']})",
            blocked["id"],
        )
        action = blocked.get("action") or "reject"
        if action == "hangup":
            return Resolution({"kind": "hangup"}, walk.trace)
        if action != "voicemail":
            return Resolution({"kind": "reject", "status": 403, "reason": "caller blocked"}, walk.trace)
    route = snap.inbound_by_number.get(did)
    if route is not None and route.get("caller_id_pattern") and not _matches(route["caller_id_pattern"], caller):
        route = None
    if route is None:
        for candidate in snap.inbound_patterns:
            if _matches(candidate.get("pattern"), did) and (
                not candidate.get("caller_id_pattern") or _matches(candidate["caller_id_pattern"], caller)
            ):
                route = candidate
                break
    if route is None:
        walk.note("inbound_route", f"no inbound route for {did}")
        return Resolution({"kind": "reject", "status": 404, "reason": f"no inbound route for {did}"}, walk.trace)
    walk.note("inbound_route", f"{did} → route {route['name']}", route["id"], route.get("name"))
    return Resolution(walk.follow(route.get("destination")), walk.trace)


def _matches(pattern: str | None, value: str | None) -> bool:
    if not pattern or not value:
        return False
    if pattern == value:
        return True
    try:
        return compile_pattern(pattern).match(value)
    except PatternError:
        return False


def resolve_internal(
    snap: TenantSnapshot, dialled: str, from_extension: str | None, at: datetime, *, trace: bool = True
) -> Resolution:
    walk = _Walk(snap, at, trace)
    from_ext = None
    if from_extension:
        from_ext = snap.extensions.get(from_extension)
        if from_ext is None:
            kind_id = snap.dial_plan.get(from_extension)
            if kind_id and kind_id[0] == "extension":
                from_ext = snap.extensions.get(kind_id[1])
        if from_ext is None:
            return Resolution({"kind": "reject", "status": 404, "reason": "calling extension unknown"}, walk.trace)
    if dialled in EMERGENCY_NUMBERS or any(
        r.get("emergency") and any(_matches(p.get("match"), dialled) for p in r.get("patterns") or [])
        for r in snap.outbound_routes
    ):
        walk.note("emergency", f"{dialled} is an emergency number: always allowed")
        step = walk._external(dialled, from_ext, "emergency call")
        if step["kind"] == "reject" and dialled in EMERGENCY_NUMBERS and dialled != "911":
            # 112 (the GSM emergency number) reaches emergency services even without a route of its own.
            walk.note("emergency", f"no route takes {dialled}: sent as 911")
            step = walk._external("911", from_ext, "emergency call")
        return Resolution(step, walk.trace)
    if snap.status != "active":
        walk.note("tenant", "the tenant is suspended: only emergency calls")
        return Resolution({"kind": "reject", "status": 503, "reason": "tenant suspended"}, walk.trace)
    target = snap.dial_plan.get(dialled)
    if target is not None:
        kind, obj_id = target
        walk.note("dial_plan", f"{dialled} is {snap.name_of(kind, obj_id)}", obj_id)
        return Resolution(walk.follow({"type": kind, "id": obj_id}), walk.trace)
    return Resolution(walk._external(dialled, from_ext, "outbound call"), walk.trace)


def follow(snap: TenantSnapshot, dest: dict[str, Any] | None, at: datetime, *, trace: bool = True) -> Resolution:
    walk = _Walk(snap, at, trace)
    return Resolution(walk.follow(dest), walk.trace)


# ---------------------------------------------------------------------------------------------- explanation
_BRANCHES = {
    "ring_extension": ("on_busy", "on_no_answer", "on_unreachable"),
    "ring_group": ("on_no_answer",),
    "queue": ("on_timeout", "on_full", "on_empty"),
    "ivr": ("on_timeout", "on_invalid"),
    "play": ("next",),
}


def explain(snap: TenantSnapshot, res: Resolution, at: datetime, depth: int = BRANCH_DEPTH) -> dict[str, Any]:
    """The resolution with every branch of its step resolved too (IVR keys, no answer, overflows…), recursively
    to ``depth`` levels; a branch that comes back to a menu already on the path is marked instead of expanded."""
    return _explain(snap, res, at, depth, ())


def _explain(snap: TenantSnapshot, res: Resolution, at: datetime, depth: int, path: tuple[str, ...]) -> dict[str, Any]:
    out = res.as_dict()
    step = res.step
    here = str(
        step.get("ivr_id") or step.get("queue_id") or step.get("ring_group_id") or step.get("extension_id") or ""
    )
    if depth <= 0 or step["kind"] not in _BRANCHES:
        return out
    branches: dict[str, Any] = {}
    targets: list[tuple[str, dict[str, Any] | None]] = [(k, step.get(k)) for k in _BRANCHES[step["kind"]]]
    if step["kind"] == "ivr":
        targets = [(f"key {k}", d) for k, d in sorted(step["options"].items())] + targets
    for label, dest in targets:
        if dest is None:
            continue
        target_id = str(dest.get("id") or "")
        if target_id and (target_id in path or target_id == here):
            branches[label] = {"loops_back_to": snap.name_of(str(dest.get("type")), target_id)}
            continue
        sub = follow(snap, dest, at)
        branches[label] = _explain(snap, sub, at, depth - 1, (*path, here))
    out["branches"] = branches
    return out
