"""A tenant's routing configuration as plain, immutable-by-convention Python data (no I/O).

Built once per tenant by the loader and kept by the cache until something it depends on changes; the resolver
only does dictionary lookups over it, which is what makes resolving a call cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]


@dataclass
class TenantSnapshot:
    tenant_id: str
    tenant_code: str
    status: str
    timezone: str
    language: str
    extension_length: int
    allowed_classes: frozenset[str]
    emergency_location: dict[str, Any] | None
    max_concurrent_calls: int | None = None
    max_calls_per_second: float | None = None
    # objects by id (rows as dicts, JSON columns decoded)
    extensions: dict[str, Row] = field(default_factory=dict)
    ring_groups: dict[str, Row] = field(default_factory=dict)
    queues: dict[str, Row] = field(default_factory=dict)
    queue_agents: dict[str, list[Row]] = field(default_factory=dict)  # queue id → agents
    ivrs: dict[str, Row] = field(default_factory=dict)
    time_conditions: dict[str, Row] = field(default_factory=dict)
    voicemail_boxes: dict[str, Row] = field(default_factory=dict)
    conferences: dict[str, Row] = field(default_factory=dict)
    media: dict[str, Row] = field(default_factory=dict)
    trunks: dict[str, Row] = field(default_factory=dict)  # own trunks and shared trunks of ancestors
    # indexes
    dial_plan: dict[str, tuple[str, str]] = field(default_factory=dict)  # number → (destination type, id)
    boxes_by_number: dict[str, str] = field(default_factory=dict)
    personal_box: dict[str, str] = field(default_factory=dict)  # extension id → box id
    inbound_by_number: dict[str, Row] = field(default_factory=dict)  # E.164 DID → inbound route
    inbound_patterns: list[Row] = field(default_factory=list)  # pattern routes by priority
    outbound_routes: list[Row] = field(default_factory=list)  # by priority
    caller_id_blocks: list[Row] = field(default_factory=list)
    numbers: dict[str, Row] = field(default_factory=dict)  # E.164 → number row (CNAM, SMS target)

    def name_of(self, kind: str, obj_id: str | None) -> str:
        """A human label for traces ("extension 101 Alice")."""
        table = {
            "extension": self.extensions,
            "ring_group": self.ring_groups,
            "queue": self.queues,
            "ivr": self.ivrs,
            "time_condition": self.time_conditions,
            "voicemail": self.voicemail_boxes,
            "conference": self.conferences,
        }.get(kind)
        row = table.get(obj_id or "") if table is not None else None
        if row is None:
            return f"{kind} {obj_id}"
        label = " ".join(str(p) for p in (row.get("number"), row.get("name")) if p)
        return f"{kind.replace('_', ' ')} {label}".strip()
