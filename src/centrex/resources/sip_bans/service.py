"""SIP bans: list, create (manual), lift. The ``sip_bans`` table is a plain table, not a change-tracked resource,
so this service writes the audit entry of each manual ban and lift itself (engine bans are not audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select

from centrex.api.pagination import PageParams, PageResult, paginate
from centrex.db.models.audit import AuditEntry
from centrex.db.models.sip import SipBan
from centrex.db.types import jsonable, utcnow
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import Conflict, InvalidInput, NotFound
from centrex.domain.ids import new_id
from centrex.domain.tenancy import Principal
from centrex.resources.sip_bans.schemas import SipBanCreate, SipBanFilters, SipBanOut

SORTABLE = {"id": SipBan.id, "created_at": SipBan.created_at, "expires_at": SipBan.expires_at}


def present(row: SipBan) -> SipBanOut:
    now = utcnow()
    return SipBanOut(
        id=row.id,
        source_ip=row.source_ip,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        active=row.expires_at is None or row.expires_at > now,
    )


def _snapshot(row: SipBan) -> dict[str, Any]:
    return {
        k: jsonable(getattr(row, k)) for k in ("id", "source_ip", "reason", "created_by", "created_at", "expires_at")
    }


class SipBanService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.session = uow.session

    async def list(self, filters: SipBanFilters, page: PageParams) -> PageResult[SipBan]:
        now = utcnow()
        where: list[ColumnElement[bool]] = []
        if filters.source_ip:
            where.append(SipBan.source_ip == filters.source_ip)
        if filters.created_by:
            where.append(SipBan.created_by == filters.created_by)
        if filters.active is True:
            where.append(or_(SipBan.expires_at.is_(None), SipBan.expires_at > now))
        elif filters.active is False:
            where.append(SipBan.expires_at.is_not(None))
            where.append(SipBan.expires_at <= now)
        return await paginate(self.session, select(SipBan).where(*where), SipBan.id, page, SORTABLE, "-created_at")

    async def get(self, ban_id: str) -> SipBan:
        row = await self.session.get(SipBan, ban_id)
        if row is None:
            raise NotFound.of("SIP ban", ban_id)
        return row

    async def create(self, principal: Principal, data: SipBanCreate) -> SipBan:
        now = utcnow()
        if data.expires_at is not None and data.expires_at <= now:
            raise InvalidInput.field("expires_at", "must be in the future")
        existing = await self.session.scalar(
            select(SipBan)
            .where(SipBan.source_ip == data.source_ip)
            .where(or_(SipBan.expires_at.is_(None), SipBan.expires_at > now))
            .limit(1)
        )
        if existing is not None:
            raise Conflict(f"{data.source_ip} is already banned (ban {existing.id}); lift it first to change it")
        row = SipBan(
            id=new_id("ban"),
            source_ip=data.source_ip,
            reason=data.reason,
            created_by=principal.actor[:64],
            created_at=now,
            expires_at=data.expires_at,
        )
        self.session.add(row)
        self._audit(principal, "create", row, None, _snapshot(row))
        await self.session.flush()
        return row

    async def lift(self, principal: Principal, ban_id: str) -> None:
        row = await self.get(ban_id)
        self._audit(principal, "delete", row, _snapshot(row), None)
        await self.session.delete(row)
        await self.session.flush()

    def _audit(
        self,
        principal: Principal,
        action: str,
        row: SipBan,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        ctx = self.uow.ctx
        self.session.add(
            AuditEntry(
                id=new_id("aud"),
                tenant_id=None,
                tenant_path=principal.tenant_path,
                actor=ctx.actor,
                actor_name=ctx.actor_name,
                action=action,
                resource_type="sip_ban",
                resource_id=row.id,
                before=before,
                after=after,
                request_id=ctx.request_id,
                ip=ctx.ip,
            )
        )
