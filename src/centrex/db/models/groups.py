"""Ring groups (hunt lists), pickup groups and extension groups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class RingGroup(TenantOwned, Base):
    """Rings members (extensions or external numbers) by a strategy; no answer → a destination."""

    __tablename__ = "ring_groups"
    __resource__ = "ring_group"
    __id_prefix__ = "rgp"
    __template_copy__ = "optional"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    __ref_fields__ = {"moh_class_id": "moh_class"}
    __ref_dict_lists__ = {"members": ("extension_id", "extension")}
    __destination_fields__ = ("no_answer_destination",)

    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(32), default="ring_all")
    ring_time: Mapped[int] = mapped_column(Integer, default=20)
    members: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    no_answer_destination: Mapped[dict[str, Any] | None] = mapped_column()
    caller_id_prefix: Mapped[str] = mapped_column(String(32), default="")
    confirm_external: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_busy: Mapped[bool] = mapped_column(Boolean, default=True)
    moh_class_id: Mapped[str | None] = mapped_column(String(40))


class PickupGroup(TenantOwned, Base):
    """Extensions that may pick up each other's ringing calls."""

    __tablename__ = "pickup_groups"
    __resource__ = "pickup_group"
    __id_prefix__ = "pkg"
    __template_copy__ = "optional"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __ref_lists__ = {"member_ids": "extension"}

    name: Mapped[str] = mapped_column(String(200))
    member_ids: Mapped[list[str]] = mapped_column(default=list)


class ExtensionGroup(TenantOwned, Base):
    """A named set of extensions (3CX "ext groups": directory views, permissions, presence lists)."""

    __tablename__ = "extension_groups"
    __resource__ = "extension_group"
    __id_prefix__ = "exg"
    __template_copy__ = "optional"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __ref_lists__ = {"member_ids": "extension"}

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    member_ids: Mapped[list[str]] = mapped_column(default=list)
