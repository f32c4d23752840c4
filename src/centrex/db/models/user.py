"""Users: administrators and end users who log in (HTTP Basic, session cookie)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class User(TenantOwned, Base):
    __tablename__ = "users"
    __resource__ = "user"
    __id_prefix__ = "usr"
    __secret_fields__ = frozenset({"password_hash"})
    __ref_fields__ = {"extension_id": "extension"}

    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(32))
    extension_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("extensions.id", ondelete="SET NULL"), index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
