"""How a resolver step is rung (pure, no I/O): the stages of targets the B2BUA tries, in order, and what a stage's
failure means.

A *stage* is a set of targets rung at once for at most ``timeout`` seconds (None: until they answer or fail). A
call's plan is a list of stages:

- ``ring_extension``: one stage, every live binding of the extension (parallel forking, RFC 3261 §16.6);
- ``ring_group``: ``ring_all`` → one stage with every member (each member's bindings, or its external number);
  ``sequential`` → one stage per member in the configured order; ``round_robin`` → the same, starting after the
  member that was offered first last time; ``random`` → shuffled; ``longest_idle`` → the member idle longest first;
- ``external``: one stage per trunk of the outbound route (failover), each without a ring limit of its own.

Whether a failed stage moves on to the next: ring groups hunt on any failure, trunks fail over only on errors of the
trunk itself (``FAILOVER``), never on an answer about the callee (busy, not found, declined).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from centrex.sip.transport import Source

TargetKind = Literal["extension", "trunk"]
Outcome = Literal["busy", "no_answer", "unreachable", "failed"]

# Statuses from a trunk after which the next trunk is tried: the trunk (or its upstream) failed, not the callee.
FAILOVER = frozenset({401, 403, 407, 408, 480, 500, 502, 503, 504})
BUSY = frozenset({486, 600})
DECLINED = frozenset({603})
UNREACHABLE = frozenset({404, 408, 410, 480, 500, 502, 503, 504})
DEFAULT_RING = 20.0


@dataclass(frozen=True)
class Target:
    """One INVITE to place: an extension's binding, or a number through a trunk."""

    kind: TargetKind
    label: str  # the extension number or the dialled number, for CDR legs and logs
    extension_id: str | None = None
    trunk_id: str | None = None
    number: str | None = None  # what the trunk is asked to dial
    dest: Source | None = None  # an extension binding: where it registered from
    request_uri: str | None = None  # an extension binding: its Contact URI


@dataclass
class Stage:
    targets: list[Target]
    timeout: float | None
    failover: bool = False  # trunk stage: go on only on FAILOVER statuses (else: on any failure)


@dataclass
class Plan:
    stages: list[Stage] = field(default_factory=list)
    kind: str = ""


def best_status(statuses: Iterable[int]) -> int:
    """The final status a forked request reports when every branch failed (RFC 3261 §16.7 step 6, simplified):
    a 6xx wins, then busy, then the lowest 4xx, then anything else (an unanswered 401/407 from a trunk counts as
    503); 480 when nothing came back."""
    codes = [s for s in statuses if s >= 300]
    if not codes:
        return 480
    six = [s for s in codes if s >= 600]
    if six:
        return min(six)
    if 486 in codes:
        return 486
    four = [s for s in codes if 400 <= s < 500 and s not in (401, 407)]
    if four:
        return min(four)
    others = [s for s in codes if s not in (401, 407)]  # a challenge we could not answer is not the callee's answer
    return min(others) if others else 503


def outcome_of(status: int | None) -> Outcome:
    """Why a ring step failed: busy (486/600/603), no answer (timeout), unreachable (404/408/480/5xx), failed."""
    if status is None:
        return "no_answer"
    if status in BUSY or status in DECLINED:
        return "busy"
    if status in UNREACHABLE:
        return "unreachable"
    return "failed"


def may_continue(stage: Stage, status: int | None) -> bool:
    """Whether the plan goes on to the next stage after ``stage`` ended with ``status`` (None: ring timeout)."""
    if not stage.failover:
        return True
    return status is None or status in FAILOVER


def order_members(
    members: Sequence[Mapping[str, Any]],
    strategy: str,
    *,
    rotation: int = 0,
    idle_since: Mapping[str, float] | None = None,
    rng: random.Random | None = None,
) -> list[Mapping[str, Any]]:
    """Ring-group members in the order a hunting strategy offers them (``rotation``: round robin's start)."""
    items = list(members)
    if strategy == "round_robin" and items:
        start = rotation % len(items)
        return items[start:] + items[:start]
    if strategy == "random":
        (rng or random.Random()).shuffle(items)  # noqa: S311 (not for security)
        return items
    if strategy == "longest_idle":
        idle = idle_since or {}
        return sorted(items, key=lambda m: idle.get(str(m.get("extension_id") or m.get("number")), 0.0))
    return items


def group_stages(
    members: Sequence[Mapping[str, Any]],
    strategy: str,
    targets_of: Mapping[int, list[Target]],
    ring_time: float | None,
) -> list[Stage]:
    """Stages of a ring group: ``targets_of[i]`` are the targets of ``members[i]`` (already ordered by strategy).
    Members without any target (not registered, no route) are skipped; ``ring_all`` rings for the longest member
    ring time (or the group's)."""
    if strategy in ("ring_all", "simultaneous"):
        everyone = [t for i in range(len(members)) for t in targets_of.get(i, [])]
        if not everyone:
            return []
        longest = max((float(m.get("ring_time") or ring_time or DEFAULT_RING) for m in members), default=DEFAULT_RING)
        return [Stage(everyone, longest)]
    stages = []
    for i, member in enumerate(members):
        targets = targets_of.get(i, [])
        if targets:
            stages.append(Stage(targets, float(member.get("ring_time") or ring_time or DEFAULT_RING)))
    return stages


def trunk_stages(trunks: Sequence[Mapping[str, Any]], number_label: str) -> list[Stage]:
    """One failover stage per trunk of an ``external`` step (``trunks``: the step's ``trunk_id``/``dial`` list)."""
    return [
        Stage(
            [Target("trunk", number_label, trunk_id=str(t["trunk_id"]), number=str(t["dial"]))],
            None,
            failover=True,
        )
        for t in trunks
    ]
