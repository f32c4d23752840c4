"""Call queues (ACD) and their agents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class Queue(TenantOwned, Base):
    __tablename__ = "queues"
    __resource__ = "queue"
    __id_prefix__ = "que"
    __template_copy__ = "default"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    __ref_fields__ = {"intro_media_id": "media", "moh_class_id": "moh_class"}
    __ref_lists__ = {"manager_ids": "extension"}
    __destination_fields__ = ("timeout_destination", "full_destination", "empty_destination")

    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(32), default="ring_all")
    agent_ring_time: Mapped[int] = mapped_column(Integer, default=20)
    max_wait: Mapped[int] = mapped_column(Integer, default=300)
    max_callers: Mapped[int | None] = mapped_column(Integer)
    wrap_up: Mapped[int] = mapped_column(Integer, default=0)
    announce_position: Mapped[bool] = mapped_column(Boolean, default=False)
    announce_hold_time: Mapped[bool] = mapped_column(Boolean, default=False)
    announce_interval: Mapped[int] = mapped_column(Integer, default=60)
    intro_media_id: Mapped[str | None] = mapped_column(String(40))
    moh_class_id: Mapped[str | None] = mapped_column(String(40))
    join_empty: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout_destination: Mapped[dict[str, Any] | None] = mapped_column()
    full_destination: Mapped[dict[str, Any] | None] = mapped_column()
    empty_destination: Mapped[dict[str, Any] | None] = mapped_column()
    manager_ids: Mapped[list[str]] = mapped_column(default=list)
    sla_seconds: Mapped[int] = mapped_column(Integer, default=20)
    callback_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    record: Mapped[bool] = mapped_column(Boolean, default=False)


class QueueAgent(TenantOwned, Base):
    """An agent of a queue: an extension (or an external number), static or dynamic, with penalty and state."""

    __tablename__ = "queue_agents"
    __resource__ = "queue_agent"
    __id_prefix__ = "qag"
    __template_copy__ = "optional"
    __table_args__ = (UniqueConstraint("queue_id", "extension_id"),)
    __ref_fields__ = {"queue_id": "queue", "extension_id": "extension"}

    queue_id: Mapped[str] = mapped_column(String(40), ForeignKey("queues.id", ondelete="CASCADE"), index=True)
    extension_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("extensions.id", ondelete="CASCADE"), index=True
    )
    external_number: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="static")  # static | dynamic
    agent_type: Mapped[str] = mapped_column(String(8), default="NF")  # MiRTA agent types
    penalty: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    logged_in: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str | None] = mapped_column(String(100))
    state_changed_at: Mapped[datetime | None] = mapped_column()

    def keep_template_copy(self) -> bool:
        # An extension agent copied without its extension has nothing left to ring.
        return self.extension_id is not None or self.external_number is not None

    def outgoing_references(self) -> list[tuple[str, str, str]]:
        # The agent row goes with its queue (the queue service deletes it first), but an extension that is an agent
        # cannot be deleted (409 in_use, as for ring-group members) until it is removed from its queues.
        return [("extension_id", "extension", self.extension_id)] if self.extension_id else []
