"""A short-lived in-process cache of the tenant tree (id/code → path, kind, status) for scope checks.

Entries live ``ttl`` seconds and are dropped at once when a transaction in this process changes ``tenants``; the TTL
bounds staleness when other processes make the change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.models.tenant import Tenant
from centrex.domain.tenancy import TenantKind, TenantStatus


@dataclass(frozen=True)
class TenantInfo:
    id: str
    code: str
    path: str
    kind: TenantKind
    status: TenantStatus

    @property
    def ancestor_ids(self) -> list[str]:
        return [p for p in self.path.strip("/").split("/") if p]


class TenantDirectory:
    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._by_key: dict[str, tuple[float, TenantInfo]] = {}

    def invalidate(self, touched: frozenset[str] | None = None) -> None:
        if touched is None or "tenants" in touched:
            self._by_key.clear()

    async def get(self, session: AsyncSession, key: str) -> TenantInfo | None:
        now = time.monotonic()
        hit = self._by_key.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = (
            await session.execute(
                select(Tenant.id, Tenant.code, Tenant.path, Tenant.kind, Tenant.status).where(
                    or_(Tenant.id == key, Tenant.code == key)
                )
            )
        ).first()
        if row is None:
            return None
        info = TenantInfo(row.id, row.code, row.path, TenantKind(row.kind), TenantStatus(row.status))
        if len(self._by_key) > 50_000:
            self._by_key.clear()
        self._by_key[info.id] = self._by_key[info.code] = (now + self.ttl, info)
        return info

    async def suspended_root(self, session: AsyncSession, info: TenantInfo) -> str | None:
        """Path of the highest suspended tenant on the way from the root to ``info`` (itself included), if any.

        Suspending a reseller suspends its whole sub-tree.
        """
        ids = info.ancestor_ids
        for i, ancestor in enumerate(ids):
            anc = info if ancestor == info.id else await self.get(session, ancestor)
            if anc is not None and anc.status is TenantStatus.SUSPENDED:
                return "/" + "/".join(ids[: i + 1]) + "/"
        return None
