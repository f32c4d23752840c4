"""The B2BUA's ringing plans (``centrex.engine.b2bua.plan``): which status a forked call reports, what a failure
means for forwarding, when a trunk fails over, and how ring-group strategies order and stage the members."""

from __future__ import annotations

import random

import pytest

from centrex.engine.b2bua.plan import (
    Stage,
    Target,
    best_status,
    group_stages,
    may_continue,
    order_members,
    outcome_of,
    trunk_stages,
)

MEMBERS = [
    {"type": "extension", "extension_id": "ext_a", "number": "101", "ring_time": 10},
    {"type": "extension", "extension_id": "ext_b", "number": "102", "ring_time": None},
    {"type": "external", "number": "+12125550100", "ring_time": 30},
]


def _targets(n: int) -> dict[int, list[Target]]:
    return {i: [Target("extension", str(100 + i), extension_id=f"ext_{i}")] for i in range(n)}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], 480),
        ([487, 603], 603),  # a 6xx wins
        ([404, 486, 480], 486),  # then busy
        ([480, 404], 404),  # then the lowest 4xx
        ([401, 503], 503),  # an unanswered challenge is not the callee's answer
        ([503, 500], 500),
    ],
)
def test_best_status_of_forked_branches(statuses: list[int], expected: int) -> None:
    assert best_status(statuses) == expected


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(None, "no_answer"), (486, "busy"), (600, "busy"), (603, "busy"), (404, "unreachable"), (503, "unreachable"),
     (480, "unreachable"), (488, "failed")],
)  # fmt: skip
def test_outcome_decides_which_forwarding_applies(status: int | None, outcome: str) -> None:
    assert outcome_of(status) == outcome


def test_trunks_fail_over_only_on_trunk_errors() -> None:
    stage = Stage([], None, failover=True)
    assert may_continue(stage, 503) and may_continue(stage, 408) and may_continue(stage, 403)
    assert may_continue(stage, None)  # the trunk never answered
    assert not may_continue(stage, 486)  # the callee is busy: another carrier would not change that
    assert not may_continue(stage, 404) and not may_continue(stage, 603)
    hunting = Stage([], 20.0)
    assert may_continue(hunting, 486) and may_continue(hunting, None)


def test_trunk_stages_keep_the_route_order() -> None:
    stages = trunk_stages([{"trunk_id": "trk_1", "dial": "+1312"}, {"trunk_id": "trk_2", "dial": "1312"}], "1312")
    assert [(s.targets[0].trunk_id, s.targets[0].number, s.failover) for s in stages] == [
        ("trk_1", "+1312", True),
        ("trk_2", "1312", True),
    ]


def test_round_robin_starts_after_the_last_first_member() -> None:
    first = [m["number"] for m in order_members(MEMBERS, "round_robin", rotation=0)]
    second = [m["number"] for m in order_members(MEMBERS, "round_robin", rotation=1)]
    fourth = [m["number"] for m in order_members(MEMBERS, "round_robin", rotation=3)]
    assert first == ["101", "102", "+12125550100"]
    assert second == ["102", "+12125550100", "101"]
    assert fourth == first


def test_longest_idle_first_and_random_is_a_permutation() -> None:
    ordered = order_members(MEMBERS, "longest_idle", idle_since={"ext_a": 50.0, "ext_b": 10.0})
    assert [m["number"] for m in ordered][:2] == ["+12125550100", "102"]  # never busy, then idle since 10
    shuffled = order_members(MEMBERS, "random", rng=random.Random(7))
    assert sorted(m["number"] for m in shuffled) == sorted(m["number"] for m in MEMBERS)
    assert [m["number"] for m in order_members(MEMBERS, "sequential")] == ["101", "102", "+12125550100"]


def test_ring_all_is_one_stage_for_the_longest_ring_time() -> None:
    stages = group_stages(MEMBERS, "ring_all", _targets(3), 20)
    assert len(stages) == 1 and len(stages[0].targets) == 3 and stages[0].timeout == 30


def test_hunting_stages_skip_members_without_targets() -> None:
    targets = _targets(3)
    del targets[1]  # not registered
    stages = group_stages(MEMBERS, "sequential", targets, 20)
    assert [(s.targets[0].label, s.timeout) for s in stages] == [("100", 10.0), ("102", 30.0)]
    assert group_stages(MEMBERS, "ring_all", {}, 20) == []
