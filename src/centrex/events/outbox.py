"""Writing events: every state change becomes an ``outbox_events`` row in the transaction that made it.

The relay (a later component) reads unpublished rows in ``seq`` order and publishes them at least once; consumers
deduplicate by event ``id``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from centrex.db.models.outbox import OutboxEvent
from centrex.db.models.tenant import Tenant
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


async def emit_for_tenant(
    session: AsyncSession,
    type_: str,
    *,
    tenant_id: str,
    resource_type: str,
    resource_id: str,
    data: dict[str, Any],
) -> OutboxEvent:
    """``emit`` from async code that knows only the tenant id (its path is read in the same transaction): events
    written outside the change tracker, e.g. by the SIP engine (calls, registrations)."""
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    return emit(
        session.sync_session,
        type_,
        resource_type=resource_type,
        resource_id=resource_id,
        data=data,
        tenant_id=tenant_id,
        tenant_path=str(path or ""),
    )
