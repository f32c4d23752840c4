"""Conference rooms."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class Conference(TenantOwned, Base):
    __tablename__ = "conferences"
    __resource__ = "conference"
    __id_prefix__ = "cnf"
    __template_copy__ = "optional"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    __secret_fields__ = frozenset({"participant_pin_enc", "moderator_pin_enc"})
    __ref_fields__ = {"moh_class_id": "moh_class"}

    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(16))
    participant_pin_enc: Mapped[str | None] = mapped_column(String(255))
    moderator_pin_enc: Mapped[str | None] = mapped_column(String(255))
    max_members: Mapped[int] = mapped_column(Integer, default=50)
    record: Mapped[bool] = mapped_column(Boolean, default=False)
    wait_for_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    announce_join_leave: Mapped[bool] = mapped_column(Boolean, default=True)
    mute_on_join: Mapped[bool] = mapped_column(Boolean, default=False)
    moh_class_id: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(16))
