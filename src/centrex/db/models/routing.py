"""Inbound routes, trunks, outbound routes and caller-ID blocks: how calls enter and leave a tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class InboundRoute(TenantOwned, Base):
    """A DID (or a DID pattern, optionally a caller-ID pattern) → a destination."""

    __tablename__ = "inbound_routes"
    __resource__ = "inbound_route"
    __id_prefix__ = "inr"
    __template_copy__ = "optional"
    __ref_fields__ = {"number_id": "number"}
    __destination_fields__ = ("destination",)

    name: Mapped[str] = mapped_column(String(200))
    number_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("phone_numbers.id", ondelete="CASCADE"), unique=True
    )
    pattern: Mapped[str | None] = mapped_column(String(64))
    caller_id_pattern: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    destination: Mapped[dict[str, Any]] = mapped_column()
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Trunk(TenantOwned, Base):
    """A SIP trunk to an upstream carrier: registration-based or IP-authenticated. A platform or reseller trunk
    marked ``shared`` may be used by the outbound routes of every tenant below its owner."""

    __tablename__ = "trunks"
    __resource__ = "trunk"
    __id_prefix__ = "trk"
    __secret_fields__ = frozenset({"password_enc"})
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # registration | ip
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer, default=5060)
    transport: Mapped[str] = mapped_column(String(8), default="udp")
    username: Mapped[str | None] = mapped_column(String(128))
    auth_username: Mapped[str | None] = mapped_column(String(128))
    password_enc: Mapped[str | None] = mapped_column(String(255))
    register: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_expiry: Mapped[int] = mapped_column(Integer, default=3600)
    from_domain: Mapped[str | None] = mapped_column(String(253))
    allowed_ips: Mapped[list[str]] = mapped_column(default=list)
    codecs: Mapped[list[str]] = mapped_column(default=list)
    max_channels: Mapped[int | None] = mapped_column(Integer)
    caller_id_mode: Mapped[str] = mapped_column(String(16), default="passthrough")
    caller_id_number: Mapped[str | None] = mapped_column(String(32))
    number_format: Mapped[str] = mapped_column(String(16), default="e164")
    dial_prefix: Mapped[str] = mapped_column(String(16), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboundRoute(TenantOwned, Base):
    """Dial patterns (with strip/prepend) of one destination class → an ordered list of trunks (failover)."""

    __tablename__ = "outbound_routes"
    __resource__ = "outbound_route"
    __id_prefix__ = "obr"
    __template_copy__ = "default"
    __ref_fields__ = {"time_condition_id": "time_condition"}
    __ref_lists__ = {"trunk_ids": "trunk"}

    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    patterns: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    destination_class: Mapped[str] = mapped_column(String(32))
    trunk_ids: Mapped[list[str]] = mapped_column(default=list)
    time_condition_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("time_conditions.id", ondelete="RESTRICT")
    )
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    caller_id_number: Mapped[str | None] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    def remap_references(self, id_map: dict[str, str]) -> None:
        # Trunks are never copied: a copy keeps pointing at the same trunks (shared platform/reseller trunks are
        # the usual case); trunks a tenant may not use are skipped by the resolver.
        trunks = list(self.trunk_ids or [])
        super().remap_references(id_map)
        self.trunk_ids = trunks


class CallerIdBlock(TenantOwned, Base):
    """An inbound caller-ID (exact number or prefix pattern) that is refused (MiRTA ``calleridblacklist``)."""

    __tablename__ = "caller_id_blocks"
    __resource__ = "caller_id_block"
    __id_prefix__ = "cib"
    __template_copy__ = "optional"
    __table_args__ = (UniqueConstraint("tenant_id", "pattern"),)

    pattern: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(16), default="reject")  # reject | hangup | voicemail
