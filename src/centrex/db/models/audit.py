"""Audit log: who changed what, when, with before/after snapshots. Kept after its tenant is deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base
from centrex.db.types import utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    tenant_path: Mapped[str] = mapped_column(String(1000), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64), index=True)
    resource_id: Mapped[str] = mapped_column(String(40), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
