"""Devices: provisionable phones (MAC, model, line keys), optionally bound to an extension."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class Device(TenantOwned, Base):
    __tablename__ = "devices"
    __resource__ = "device"
    __id_prefix__ = "dev"
    __ref_fields__ = {"extension_id": "extension"}
    __ref_dict_lists__ = {"line_keys": ("extension_id", "extension")}

    mac: Mapped[str] = mapped_column(String(12), unique=True)
    model: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    extension_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("extensions.id", ondelete="SET NULL"), index=True
    )
    line_keys: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
