"""Unit of work: one session and one transaction per request (or job), committed once at the end."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.base import Resource
from centrex.db.engine import Database
from centrex.db.tracking import ChangeContext, mark_action
from centrex.events.outbox import emit


class UnitOfWork:
    def __init__(self, db: Database, ctx: ChangeContext | None = None, *, write: bool = True) -> None:
        self.db = db
        self.ctx = ctx or ChangeContext()
        self.write = write
        self._session: AsyncSession | None = None
        self._locked = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work not entered")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        if self.write and self.db.write_lock is not None:
            await self.db.write_lock.acquire()
            self._locked = True
        self._session = self.db.session()
        self._session.info["ctx"] = self.ctx
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._session is not None:
                if self._session.in_transaction():
                    await self._session.rollback()
                await self._session.close()
        finally:
            self._session = None
            if self._locked and self.db.write_lock is not None:
                self.db.write_lock.release()
                self._locked = False

    async def commit(self) -> None:
        await self.session.commit()

    def mark(self, obj: Resource, action: str) -> None:
        mark_action(self.session.sync_session, obj, action)

    def emit(
        self,
        type_: str,
        *,
        resource_type: str,
        resource_id: str,
        data: dict[str, Any],
        tenant_id: str | None,
        tenant_path: str,
    ) -> None:
        """Add an explicit (semantic) event besides the generic created/updated/deleted ones."""
        emit(
            self.session.sync_session,
            type_,
            resource_type=resource_type,
            resource_id=resource_id,
            data=data,
            tenant_id=tenant_id,
            tenant_path=tenant_path,
            request_id=self.ctx.request_id,
        )
