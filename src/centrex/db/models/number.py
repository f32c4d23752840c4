"""Phone numbers (DIDs) assigned to a tenant, in E.164, with caller-ID name (CNAM) and SMS target."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class PhoneNumber(TenantOwned, Base):
    __tablename__ = "phone_numbers"
    __resource__ = "number"
    __id_prefix__ = "num"
    # ``sms_target`` is shaped like a destination: ``{"type": "extension", "id": …}`` is indexed as a reference (the
    # extension cannot be deleted while it receives a number's SMS); email/webhook/sip targets hold no reference.
    __destination_fields__ = ("sms_target",)

    number: Mapped[str] = mapped_column(String(20), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    cnam_name: Mapped[str | None] = mapped_column(String(15))
    inbound_cnam_lookup: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_target: Mapped[dict[str, Any] | None] = (
        mapped_column()
    )  # where inbound SMS go: extension | email | webhook | sip
