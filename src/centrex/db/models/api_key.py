"""API keys: per tenant, stored as SHA-256 digests, shown once; rotation with overlap, revocation, expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class ApiKey(TenantOwned, Base):
    __tablename__ = "api_keys"
    __resource__ = "api_key"
    __id_prefix__ = "key"
    __hidden_fields__ = frozenset({"key_hash", "last_used_at"})

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(80))
    replaced_by_id: Mapped[str | None] = mapped_column(String(40))
