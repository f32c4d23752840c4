"""Phonebooks (contact sources) and contacts: company-wide or personal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class Phonebook(TenantOwned, Base):
    """A contact source (Thirdlane) / phonebook (MiRTA): company-wide, or personal to one user."""

    __tablename__ = "phonebooks"
    __resource__ = "phonebook"
    __id_prefix__ = "pbk"
    __template_copy__ = "optional"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(16), default="company")  # company | personal
    owner_user_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | csv | crm | api
    description: Mapped[str] = mapped_column(String(500), default="")

    def keep_template_copy(self) -> bool:
        # Users are not copied from a template: a personal phonebook (and its contacts) stays with its owner.
        return self.scope != "personal"


class Contact(TenantOwned, Base):
    __tablename__ = "contacts"
    __resource__ = "contact"
    __id_prefix__ = "con"
    __template_copy__ = "optional"

    phonebook_id: Mapped[str] = mapped_column(String(40), ForeignKey("phonebooks.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    numbers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)  # [{type, number, e164}]
    emails: Mapped[list[dict[str, Any]]] = mapped_column(default=list)  # [{type, email}]
    # " 14155550100 4155550100 … " — every number's digits, for exact and ends-with search
    search_digits: Mapped[str] = mapped_column(String(2000), default="")
    search_name: Mapped[str] = mapped_column(String(400), default="", index=True)
    speed_dial: Mapped[str | None] = mapped_column(String(8))
    tags: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(String(2000), default="")
    legacy_id: Mapped[int | None] = mapped_column(index=True)  # small integer id for integer-id clients (3CX)

    def label(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.company or self.id
