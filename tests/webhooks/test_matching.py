"""Which subscriptions receive which events, and the body they get."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from centrex.webhooks.matching import Event, Subscription, body, receives, type_matches, valid_pattern

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "call.answered", True),
        (["call.*"], "call.answered", True),
        (["call.*"], "callback.created", False),
        (["call.*"], "call", False),
        (["extension.created"], "extension.created", True),
        (["extension.created"], "extension.updated", False),
        (["queue.agent.*"], "queue.agent.paused", True),
        (["extension.*", "call.*"], "registration.created", False),
        ([], "call.answered", False),
    ],
)
def test_type_patterns(patterns: list[str], event_type: str, expected: bool) -> None:
    assert type_matches(patterns, event_type) is expected


@pytest.mark.parametrize("pattern", ["*", "call.*", "call.answered", "queue.agent.*", "voicemail_box.updated"])
def test_valid_patterns(pattern: str) -> None:
    assert valid_pattern(pattern)


@pytest.mark.parametrize("pattern", ["", "Call.*", "call.", "*.answered", "call.**", "call answered", "call.*.x"])
def test_invalid_patterns(pattern: str) -> None:
    assert not valid_pattern(pattern)


def sub(**kw: object) -> Subscription:
    base: dict[str, object] = {
        "id": "whk_1",
        "tenant_id": "ten_r",
        "tenant_path": "/ten_p/ten_r/",
        "patterns": ("*",),
        "include_children": False,
        "system": False,
        "created_at": T0,
    }
    base.update(kw)
    return Subscription(**base)  # type: ignore[arg-type]


def event(
    type_: str = "extension.created", tenant: str = "ten_r", path: str = "/ten_p/ten_r/", at: datetime = T0
) -> Event:
    return Event(1, "evt_1", type_, tenant, path, at + timedelta(seconds=1))


def test_tenant_scope() -> None:
    assert receives(sub(), event())
    assert not receives(sub(), event(tenant="ten_a", path="/ten_p/ten_r/ten_a/"))
    assert receives(sub(include_children=True), event(tenant="ten_a", path="/ten_p/ten_r/ten_a/"))
    assert not receives(sub(include_children=True), event(tenant="ten_x", path="/ten_p/ten_x/"))
    # A sibling whose id starts like ours is not below us (paths end with a slash).
    assert not receives(sub(include_children=True), event(tenant="ten_rr", path="/ten_p/ten_rr/"))


def test_system_webhooks_get_tenant_lifecycle_of_every_tenant() -> None:
    system = sub(system=True, tenant_id="ten_p", tenant_path="/ten_p/")
    assert receives(system, event("tenant.created", tenant="ten_z", path="/ten_p/ten_q/ten_z/"))
    assert receives(system, event("tenant.suspended", tenant="ten_z", path="/ten_p/ten_z/"))
    assert not receives(system, event("extension.created", tenant="ten_p", path="/ten_p/"))
    assert not receives(sub(system=True, patterns=("tenant.deleted",)), event("tenant.created"))


def test_events_before_the_subscription_are_not_delivered() -> None:
    assert not receives(sub(created_at=T0 + timedelta(seconds=5)), event())


def test_body_wraps_the_event_envelope() -> None:
    envelope = {
        "id": "evt_9",
        "seq": 12,
        "type": "extension.created",
        "version": 1,
        "tenant_id": "ten_r",
        "resource_type": "extension",
        "resource_id": "ext_1",
        "occurred_at": "2026-01-01T00:00:00Z",
        "data": {"id": "ext_1", "object": {"number": "201"}},
        "request_id": "req_1",
    }
    assert orjson.loads(body(envelope)) == {
        "id": "evt_9",
        "type": "extension.created",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": envelope,
    }
