"""Writing events: every state change becomes an ``outbox_events`` row in the transaction that made it.

The relay (a later component) reads unpublished rows in ``seq`` order and publishes them at least once; consumers
deduplicate by event ``id``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from centrex.db.models.outbox import OutboxEvent
from centrex.domain.ids import new_id


def emit(
    session: Session,
    type_: str,
    *,
    resource_type: str,
    resource_id: str,
    data: dict[str, Any],
    tenant_id: str | None,
    tenant_path: str,
    request_id: str | None = None,
) -> OutboxEvent:
    event = OutboxEvent(
        id=new_id("evt"),
        type=type_,
        tenant_id=tenant_id,
        tenant_path=tenant_path,
        resource_type=resource_type,
        resource_id=resource_id,
        data=data,
        request_id=request_id,
    )
    session.add(event)
    return event
