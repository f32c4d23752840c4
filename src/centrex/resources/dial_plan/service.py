"""The tenant's one number space as a whole: what every used number dials, and the free extension numbers
(of the tenant's extension length, never an emergency number)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.models.tenant import Tenant
from centrex.domain.tenancy import TenantScope
from centrex.resources.dial_plan.schemas import FreeNumbers, UsedNumber, UsedNumbers
from centrex.resources.dialplan import DIALABLE, RESERVED_NUMBERS, used_numbers


def _order(number: str) -> tuple[int, str]:
    return len(number), number  # numeric order: numbers never start with 0


async def numbers(session: AsyncSession, scope: TenantScope) -> UsedNumbers:
    items: list[UsedNumber] = []
    for model, _label in DIALABLE:
        model_: Any = model
        rows = await session.execute(
            select(model_.id, model_.number, model_.name).where(
                model_.tenant_id == scope.tenant_id, model_.number.is_not(None)
            )
        )
        items += [UsedNumber(number=r.number, type=model_.__resource__, id=r.id, name=r.name) for r in rows]
    items.sort(key=lambda u: (_order(u.number), u.type))
    return UsedNumbers(count=len(items), items=items)


async def free(session: AsyncSession, scope: TenantScope, limit: int, start: int | None) -> FreeNumbers:
    length = (await session.execute(select(Tenant.extension_length).where(Tenant.id == scope.tenant_id))).scalar_one()
    used = await used_numbers(session, scope.tenant_id)
    low, high = 10 ** (length - 1), 10**length - 1
    found: list[str] = []
    candidate = max(low, start or low)
    while candidate <= high and len(found) < limit:
        text = str(candidate)
        if text not in used and text not in RESERVED_NUMBERS:
            found.append(text)
        candidate += 1
    return FreeNumbers(extension_length=length, count=len(found), items=found)
