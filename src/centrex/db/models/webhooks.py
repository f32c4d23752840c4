"""Webhooks: subscriptions (a tenant resource), their deliveries and delivery attempts, and the fan-out cursor.

``Webhook`` is an audited resource (``webhook.created|updated|deleted``); its delivery health (failure streak, last
success) is written by the dispatcher with plain SQL updates, so it produces no event per attempt. Deliveries and
attempts are a log, not resources: plain tables, written at delivery speed. ``WebhookCursor`` holds the last
``outbox_events.seq`` the fan-out has turned into deliveries (its own cursor: ``published_at`` belongs to the relay).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned
from centrex.db.types import utcnow


class Webhook(TenantOwned, Base):
    """An endpoint that receives this tenant's events (or, ``system``: tenant lifecycle events of every tenant)."""

    __tablename__ = "webhooks"
    __resource__ = "webhook"
    __id_prefix__ = "whk"
    __hidden_fields__: ClassVar[frozenset[str]] = frozenset({"secret_enc", "previous_secret_enc"})

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    ordered: Mapped[bool] = mapped_column(Boolean, default=False)
    include_children: Mapped[bool] = mapped_column(Boolean, default=False)
    system: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    secret_enc: Mapped[str] = mapped_column(String(400))
    previous_secret_enc: Mapped[str | None] = mapped_column(String(400))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    disabled_at: Mapped[datetime | None] = mapped_column()
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_failure_at: Mapped[datetime | None] = mapped_column()

    def label(self) -> str:
        return self.url


class WebhookDelivery(Base):
    """One event to deliver to one endpoint; retried until it succeeds or runs out of attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_order", "webhook_id", "status", "event_seq"),
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(40), ForeignKey("webhooks.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)  # the ``webhook-id`` header
    event_seq: Mapped[int | None] = mapped_column(Integer)  # outbox order (None: test deliveries)
    event_type: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent on every attempt
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()  # claimed by a worker until then
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    replay_of: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()


class WebhookAttempt(Base):
    """One HTTP request of a delivery and what came back (or why none did)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    url: Mapped[str] = mapped_column(String(2000))
    request_headers: Mapped[dict[str, Any]] = mapped_column()
    request_body: Mapped[str] = mapped_column(Text)  # an excerpt (≤ 2 KB)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # an excerpt (≤ 2 KB)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class WebhookCursor(Base):
    """How far the fan-out has read the outbox (one row, ``id = "fanout"``)."""

    __tablename__ = "webhook_cursors"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
