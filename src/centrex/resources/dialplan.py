"""One number space per tenant: extensions, ring groups, queues, IVRs and conferences are all dialled by number,
so a number may belong to only one of them. Emergency numbers are never assignable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.models.conference import Conference
from centrex.db.models.extension import Extension
from centrex.db.models.groups import RingGroup
from centrex.db.models.ivr import Ivr
from centrex.db.models.queues import Queue
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope

# Numbers that must always reach emergency services.
RESERVED_NUMBERS = frozenset({"911", "933", "112", "999", "000", "110", "118", "119"})
DIALABLE: tuple[tuple[Any, str], ...] = (
    (Extension, "extension"),
    (RingGroup, "ring group"),
    (Queue, "queue"),
    (Ivr, "IVR"),
    (Conference, "conference"),
)


async def ensure_free(
    session: AsyncSession, scope: TenantScope, number: str, current_id: str | None = None, field: str = "number"
) -> None:
    """Refuse a number that is reserved or already dialled to something else in this tenant (409 ``duplicate``)."""
    if number in RESERVED_NUMBERS:
        raise InvalidInput.field(field, f"{number} is reserved for emergency services", "reserved")
    for model, label in DIALABLE:
        owner = await session.scalar(
            select(model.id).where(model.tenant_id == scope.tenant_id, model.number == number).limit(1)
        )
        if owner is not None and owner != current_id:
            raise Duplicate(f"{number} is already the number of {label} {owner}", field=field, owner=owner)


async def used_numbers(session: AsyncSession, tenant_id: str) -> set[str]:
    """Every number dialled to something in this tenant."""
    used: set[str] = set()
    for model, _label in DIALABLE:
        rows = await session.execute(select(model.number).where(model.tenant_id == tenant_id))
        used.update(n for (n,) in rows if n)
    return used
