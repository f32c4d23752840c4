"""Tenants: the platform root, resellers and tenants, as one tree with a materialised path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, Resource


class Tenant(Resource, Base):
    __tablename__ = "tenants"
    __resource__ = "tenant"
    __id_prefix__ = "ten"

    parent_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    # "/<root id>/<...>/<own id>/" — sub-tree tests are prefix tests.
    path: Mapped[str] = mapped_column(String(1000), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    is_template: Mapped[bool] = mapped_column(Boolean, default=False)
    template_id: Mapped[str | None] = mapped_column(String(40))
    sip_domain: Mapped[str] = mapped_column(String(253), unique=True)
    extension_length: Mapped[int] = mapped_column(Integer, default=3)
    # Limits (None = unlimited).
    max_extensions: Mapped[int | None] = mapped_column(Integer)
    max_concurrent_calls: Mapped[int | None] = mapped_column(Integer)
    max_calls_per_second: Mapped[float | None] = mapped_column(Float)
    allowed_destination_classes: Mapped[list[str]] = mapped_column(default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(16), default="en")
    emergency_location: Mapped[dict[str, Any] | None] = mapped_column()
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
