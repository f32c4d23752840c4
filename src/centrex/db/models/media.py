"""Media files (prompts, greetings, music on hold) and music-on-hold classes.

Audio lives in a content-addressed blob store (``<data dir>/blobs/<sha256>.wav``, 8 kHz mono 16-bit PCM); rows point
at blobs by digest, so template copies share audio and a blob is removed only when nothing points at it.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class MediaFile(TenantOwned, Base):
    __tablename__ = "media_files"
    __resource__ = "media"
    __id_prefix__ = "med"
    __template_copy__ = "default"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="prompt")  # prompt | greeting | moh | system
    language: Mapped[str | None] = mapped_column(String(16))
    prompt_key: Mapped[str | None] = mapped_column(String(64), index=True)
    blob_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    sample_rate: Mapped[int] = mapped_column(Integer, default=8000)
    original_filename: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | tts | system
    tts_text: Mapped[str | None] = mapped_column(String(2000))
    tts_voice: Mapped[str | None] = mapped_column(String(32))


class MohClass(TenantOwned, Base):
    __tablename__ = "moh_classes"
    __resource__ = "moh_class"
    __id_prefix__ = "moh"
    __template_copy__ = "default"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __ref_lists__ = {"media_ids": "media"}

    name: Mapped[str] = mapped_column(String(100))
    media_ids: Mapped[list[str]] = mapped_column(default=list)
    random: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
