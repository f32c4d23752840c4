"""IVRs / auto attendants: a greeting, a digit map to destinations, directory options, timeout and retries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class Ivr(TenantOwned, Base):
    __tablename__ = "ivrs"
    __resource__ = "ivr"
    __id_prefix__ = "ivr"
    __template_copy__ = "default"
    __table_args__ = (UniqueConstraint("tenant_id", "number"), UniqueConstraint("tenant_id", "name"))
    __ref_fields__ = {"greeting_media_id": "media", "invalid_media_id": "media"}
    __destination_fields__ = ("timeout_destination", "invalid_destination")
    __destination_maps__ = ("options",)

    name: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(16))
    greeting_media_id: Mapped[str | None] = mapped_column(String(40))
    greeting_text: Mapped[str | None] = mapped_column(String(1000))
    invalid_media_id: Mapped[str | None] = mapped_column(String(40))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dial_by_extension: Mapped[bool] = mapped_column(Boolean, default=False)
    dial_by_name: Mapped[bool] = mapped_column(Boolean, default=False)
    timeout: Mapped[int] = mapped_column(Integer, default=5)
    max_retries: Mapped[int] = mapped_column(Integer, default=3)
    timeout_destination: Mapped[dict[str, Any] | None] = mapped_column()
    invalid_destination: Mapped[dict[str, Any] | None] = mapped_column()
    language: Mapped[str | None] = mapped_column(String(16))

    def remap_references(self, id_map: dict[str, str]) -> None:
        # The prompt columns hold media ids without a foreign key, so the copier does not remap them.
        super().remap_references(id_map)
        self.greeting_media_id = remap_id(self.greeting_media_id, id_map)
        self.invalid_media_id = remap_id(self.invalid_media_id, id_map)


def remap_id(value: str | None, id_map: dict[str, str]) -> str | None:
    """A copied object's reference: the copy's id; None when the target was not copied (idempotent)."""
    if not value:
        return None
    if value in id_map:
        return id_map[value]
    return value if value in id_map.values() else None
