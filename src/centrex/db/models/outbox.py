"""Outbox: one row per event, written in the same transaction as the change; a relay publishes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base
from centrex.db.types import utcnow


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    tenant_path: Mapped[str] = mapped_column(String(1000))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
