"""Registration events into the outbox (``centrex.events.outbox``), in the registrar's transaction
(docs/events.md; ``resource_type`` ``registration``): ``registration.created`` (a new binding),
``registration.removed`` (un-REGISTER, or dropped by the keep-alive) and ``registration.expired`` (purged).
Refreshes of a binding are not events: every phone refreshes every few minutes, and they change nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.models.sip import SipRegistration
from centrex.events.outbox import emit_for_tenant


def registration_data(row: SipRegistration) -> dict[str, Any]:
    return {
        "registration_id": row.id,
        "extension_id": row.extension_id,
        "aor": row.aor,
        "contact": row.contact_uri,
        "source": f"{row.source_ip}:{row.source_port}",
        "transport": row.transport,
        "user_agent": row.user_agent,
        "expires_at": row.expires_at.isoformat().replace("+00:00", "Z") if row.expires_at else None,
    }


async def emit_registration(session: AsyncSession, row: SipRegistration, type_: str) -> None:
    await emit_for_tenant(
        session,
        type_,
        tenant_id=row.tenant_id,
        resource_type="registration",
        resource_id=row.id,
        data=registration_data(row),
    )
