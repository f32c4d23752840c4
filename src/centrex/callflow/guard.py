"""Static loops: a chain of destinations that comes back to where it started without any caller action.

IVR digit options are broken by a caller pressing a key, so they are not edges here; everything that happens by
itself is: time conditions, announcements, ring-group and queue overflows, IVR timeout/invalid exits, and extension
forwarding. A cycle of such edges would ring, play or transfer forever, so saving one is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from centrex.callflow.snapshot import TenantSnapshot


def _targets(dest: dict[str, Any] | None) -> Iterator[tuple[str, str]]:
    """``(type, id)`` reached from a destination without caller action (announcements pass through)."""
    depth = 0
    while dest and depth < 16:
        kind = dest.get("type")
        if kind == "announcement":
            dest = dest.get("next")
            depth += 1
            continue
        if kind in ("extension", "ring_group", "queue", "ivr", "time_condition") and dest.get("id"):
            yield kind, str(dest["id"])
        return


def static_edges(snap: TenantSnapshot) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """node → [(type, id, via)]"""
    edges: dict[tuple[str, str], list[tuple[str, str, str]]] = {}

    def add(node: tuple[str, str], dest: dict[str, Any] | None, via: str) -> None:
        for kind, obj_id in _targets(dest):
            edges.setdefault(node, []).append((kind, obj_id, via))

    for tc in snap.time_conditions.values():
        for key in ("open_destination", "closed_destination", "holiday_destination"):
            add(("time_condition", tc["id"]), tc.get(key), key.removesuffix("_destination"))
    for rg in snap.ring_groups.values():
        add(("ring_group", rg["id"]), rg.get("no_answer_destination"), "no answer")
    for q in snap.queues.values():
        for key in ("timeout_destination", "full_destination", "empty_destination"):
            add(("queue", q["id"]), q.get(key), key.removesuffix("_destination"))
    for ivr in snap.ivrs.values():
        add(("ivr", ivr["id"]), ivr.get("timeout_destination"), "timeout")
        add(("ivr", ivr["id"]), ivr.get("invalid_destination"), "invalid input")
    for ext in snap.extensions.values():
        for rule in ext.get("forwarding") or []:
            if rule.get("enabled", True):
                add(("extension", ext["id"]), rule.get("destination"), f"forward {rule.get('condition')}")
    return edges


def find_static_loop(snap: TenantSnapshot) -> list[str] | None:
    """The first static cycle as readable steps, or None."""
    edges = static_edges(snap)
    state: dict[tuple[str, str], int] = {}  # 1 = on the stack, 2 = done
    for start in list(edges):
        if state.get(start):
            continue
        stack: list[tuple[tuple[str, str], int]] = [(start, 0)]
        path: list[tuple[tuple[str, str], str]] = [(start, "")]
        state[start] = 1
        while stack:
            node, i = stack[-1]
            out = edges.get(node, [])
            if i >= len(out):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, i + 1)
            kind, obj_id, via = out[i]
            nxt = (kind, obj_id)
            if state.get(nxt) == 1:
                names = [snap.name_of(*n) for n, _ in path]
                vias = [v for _, v in path[1:]] + [via]
                begin = [n for n, _ in path].index(nxt)
                steps = [f"{names[j]} —{vias[j]}→" for j in range(begin, len(names))]
                return [*steps, snap.name_of(*nxt)]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, 0))
                path.append((nxt, via))
    return None
