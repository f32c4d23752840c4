"""Call detail records: one row per call, with its legs, written durably by the engine as the call progresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base
from centrex.db.types import utcnow


class Cdr(Base):
    """A call. ``disposition`` is ``in_progress`` until the call ends (a restart marks leftovers ``interrupted``)."""

    __tablename__ = "cdrs"
    __table_args__ = (
        Index("ix_cdrs_tenant_started", "tenant_id", "started_at"),
        Index("ix_cdrs_tenant_extension", "tenant_id", "extension_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(String(255), index=True)  # SIP Call-ID of the first leg
    direction: Mapped[str] = mapped_column(String(16))  # internal | inbound | outbound
    caller_number: Mapped[str] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(100))
    callee_number: Mapped[str] = mapped_column(String(64))
    did: Mapped[str | None] = mapped_column(String(32))
    extension_id: Mapped[str | None] = mapped_column(String(40))  # the tenant's extension involved (no FK: history)
    trunk_id: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)
    billable_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # answered | busy | no_answer | failed | cancelled | in_progress | interrupted
    disposition: Mapped[str] = mapped_column(String(16), index=True, default="in_progress")
    hangup_cause: Mapped[int | None] = mapped_column(Integer)  # SIP status of the end (e.g. 486), or None for BYE
    hangup_by: Mapped[str | None] = mapped_column(String(16))  # caller | callee | system
    legs: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
