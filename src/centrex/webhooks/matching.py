"""Which subscriptions receive which events, and the JSON body they receive.

Event types are open-ended dotted strings grouped by their first part (``call.answered`` is in the ``call`` group).
A subscription lists patterns: an exact type (``extension.created``), a group (``call.*``, also ``a.b.*``) or ``*``.
A tenant webhook receives its own tenant's events, and with ``include_children`` those of every tenant below it; a
system webhook receives the tenant lifecycle events (``tenant.*``) of every tenant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$")
SYSTEM_GROUP = "tenant."


def valid_pattern(pattern: str) -> bool:
    return bool(PATTERN.fullmatch(pattern))


def type_matches(patterns: Iterable[str], event_type: str) -> bool:
    """Does ``event_type`` match any of ``patterns`` (exact, ``group.*`` or ``*``)?"""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


@dataclass(frozen=True)
class Subscription:
    """What the fan-out needs to know of one enabled webhook."""

    id: str
    tenant_id: str
    tenant_path: str
    patterns: tuple[str, ...]
    include_children: bool
    system: bool
    created_at: datetime


@dataclass(frozen=True)
class Event:
    """What the fan-out needs to know of one outbox event."""

    seq: int
    id: str
    type: str
    tenant_id: str | None
    tenant_path: str
    occurred_at: datetime


def receives(sub: Subscription, event: Event) -> bool:
    """Does ``sub`` get ``event``? Never events older than the subscription itself."""
    if event.occurred_at < sub.created_at:
        return False
    if not type_matches(sub.patterns, event.type):
        return False
    if sub.system:
        return event.type.startswith(SYSTEM_GROUP)
    if event.tenant_id == sub.tenant_id:
        return True
    return sub.include_children and bool(event.tenant_path) and event.tenant_path.startswith(sub.tenant_path)


def body(envelope: dict[str, Any]) -> str:
    """The JSON body of a delivery: the Standard Webhooks shape (``type``, ``timestamp``, ``data``) around the event
    envelope that the event stream also delivers (``centrex.events.catalogue.EventEnvelope``), plus its ``id``."""
    payload = {
        "id": envelope["id"],
        "type": envelope["type"],
        "timestamp": envelope["occurred_at"],
        "data": envelope,
    }
    return orjson.dumps(payload).decode()
