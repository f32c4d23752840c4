"""SIP engine state kept in the database: registered contacts of extensions, and bans at the SIP edge.

Neither is a configuration resource: the engine writes them at call/registration speed, so they are plain tables
(no audit entry or outbox event per refresh; registration changes are published by the engine itself)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base
from centrex.db.types import utcnow


class SipRegistration(Base):
    """One registered contact of an extension (RFC 3261 §10): several per extension are allowed."""

    __tablename__ = "sip_registrations"
    __table_args__ = (
        UniqueConstraint("extension_id", "contact_uri"),
        Index("ix_sip_registrations_tenant_expires", "tenant_id", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    extension_id: Mapped[str] = mapped_column(String(40), ForeignKey("extensions.id", ondelete="CASCADE"), index=True)
    aor: Mapped[str] = mapped_column(String(255))  # sip:1001@acme.example
    contact: Mapped[str] = mapped_column(String(1000))  # the Contact header value as registered
    contact_uri: Mapped[str] = mapped_column(String(1000))  # its URI, the binding's identity
    source_ip: Mapped[str] = mapped_column(String(64))
    source_port: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(8))  # udp | tcp | tls | ws | wss
    user_agent: Mapped[str | None] = mapped_column(String(255))
    call_id: Mapped[str] = mapped_column(String(255))
    cseq: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[str | None] = mapped_column(String(255))  # +sip.instance (RFC 5626)
    reg_id: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(String(1000))  # Path header (RFC 3327), if a proxy added one
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SipBan(Base):
    """A source address refused at the SIP edge (flood, password guessing, scanner), until ``expires_at``."""

    __tablename__ = "sip_bans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_ip: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(64), default="engine")  # "engine" or the API actor
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)  # None: until lifted
