"""Voicemail boxes and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned
from centrex.db.models.ivr import remap_id


class VoicemailBox(TenantOwned, Base):
    """A mailbox: personal (``owner_extension_id``; its PIN is the extension's voicemail PIN unless set here) or
    shared."""

    __tablename__ = "voicemail_boxes"
    __resource__ = "voicemail_box"
    __id_prefix__ = "vmb"
    __template_copy__ = "optional"
    __secret_fields__ = frozenset({"pin_hash"})
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    __ref_fields__ = {"owner_extension_id": "extension"}

    number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    owner_extension_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("extensions.id", ondelete="CASCADE"), unique=True
    )
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    greetings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # unavailable|busy|temporary|name → media id
    active_greeting: Mapped[str] = mapped_column(String(16), default="unavailable")
    max_message_seconds: Mapped[int] = mapped_column(Integer, default=180)
    max_messages: Mapped[int] = mapped_column(Integer, default=100)
    email: Mapped[str | None] = mapped_column(String(254))
    email_attach: Mapped[bool] = mapped_column(Boolean, default=True)
    email_delete: Mapped[bool] = mapped_column(Boolean, default=False)
    transcription: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    play_caller_id: Mapped[bool] = mapped_column(Boolean, default=True)
    play_datetime: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(16))

    @property
    def pin_set(self) -> bool:
        return self.pin_hash is not None

    def on_template_copy(self) -> None:
        # A copied box never inherits the template's PIN.
        self.pin_hash = None

    def remap_references(self, id_map: dict[str, str]) -> None:
        # Greetings are media ids inside JSON; greetings whose media were not copied are dropped.
        super().remap_references(id_map)
        greetings = {kind: remap_id(media_id, id_map) for kind, media_id in (self.greetings or {}).items()}
        self.greetings = {kind: media_id for kind, media_id in greetings.items() if media_id}

    def outgoing_references(self) -> list[tuple[str, str, str]]:
        # A personal box belongs to its extension and is deleted with it.
        refs = super().outgoing_references()
        refs = [r for r in refs if r[0] != "owner_extension_id"]
        refs += [(f"greetings.{k}", "media", v) for k, v in (self.greetings or {}).items() if v]
        return refs


class VoicemailMessage(TenantOwned, Base):
    __tablename__ = "voicemail_messages"
    __resource__ = "voicemail_message"
    __id_prefix__ = "vmm"
    __hidden_fields__ = frozenset({"transcript"})

    box_id: Mapped[str] = mapped_column(String(40), ForeignKey("voicemail_boxes.id", ondelete="CASCADE"), index=True)
    folder: Mapped[str] = mapped_column(String(16), default="inbox")  # inbox | old | saved | work | family | friends
    heard: Mapped[bool] = mapped_column(Boolean, default=False)
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(100))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column()
    blob_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    call_id: Mapped[str | None] = mapped_column(String(100))
    transcript: Mapped[str | None] = mapped_column(String(10000))
    transcript_status: Mapped[str] = mapped_column(String(16), default="none")  # none | pending | done | failed
