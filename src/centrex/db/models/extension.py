"""Extensions: a number in a tenant with SIP credentials, caller ID, forwarding, voicemail and policies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned
from centrex.domain import destinations


class Extension(TenantOwned, Base):
    __tablename__ = "extensions"
    __resource__ = "extension"
    __id_prefix__ = "ext"
    __template_copy__ = "optional"
    __secret_fields__ = frozenset({"sip_password_enc", "voicemail_pin_hash"})
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "sip_username"),
    )

    number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sip_username: Mapped[str] = mapped_column(String(64))
    sip_password_enc: Mapped[str] = mapped_column(String(255))
    caller_id_name: Mapped[str | None] = mapped_column(String(64))
    caller_id_number: Mapped[str | None] = mapped_column(String(32))
    external_caller_id_name: Mapped[str | None] = mapped_column(String(64))
    external_caller_id_number: Mapped[str | None] = mapped_column(String(32))
    outbound_level: Mapped[str] = mapped_column(String(32), default="national")
    dnd: Mapped[bool] = mapped_column(Boolean, default=False)
    ring_timeout: Mapped[int] = mapped_column(Integer, default=20)
    forwarding: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    voicemail_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    voicemail_pin_hash: Mapped[str | None] = mapped_column(String(255))
    recording_policy: Mapped[str] = mapped_column(String(16), default="never")
    emergency_location: Mapped[dict[str, Any] | None] = mapped_column()
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))

    @property
    def voicemail_pin_set(self) -> bool:
        return self.voicemail_pin_hash is not None

    def outgoing_references(self) -> list[tuple[str, str, str]]:
        refs = []
        for i, rule in enumerate(self.forwarding or []):
            refs += list(destinations.references(rule.get("destination"), f"forwarding.{i}.destination"))
        return refs

    def remap_references(self, id_map: dict[str, str]) -> None:
        self.forwarding = [
            {**rule, "destination": destinations.remap(rule.get("destination"), id_map)}
            for rule in self.forwarding or []
        ]

    def on_template_copy(self) -> None:
        from centrex.security.secrets import default_box, generate_password

        self.sip_password_enc = default_box().encrypt(generate_password())
        self.voicemail_pin_hash = None
