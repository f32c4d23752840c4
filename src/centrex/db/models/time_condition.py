"""Time conditions (schedules): weekly hours in a time zone, holidays, a manual override (office mode)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from centrex.db.base import Base, TenantOwned


class TimeCondition(TenantOwned, Base):
    __tablename__ = "time_conditions"
    __resource__ = "time_condition"
    __id_prefix__ = "tmc"
    __template_copy__ = "default"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "flow_number"))
    __destination_fields__ = ("open_destination", "closed_destination", "holiday_destination")

    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64))  # default: the tenant's
    weekly: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    holidays: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    mode: Mapped[str] = mapped_column(String(16), default="auto")  # auto | open | closed | holiday
    mode_until: Mapped[datetime | None] = mapped_column()
    flow_number: Mapped[str | None] = mapped_column(String(16))
    open_destination: Mapped[dict[str, Any] | None] = mapped_column()
    closed_destination: Mapped[dict[str, Any] | None] = mapped_column()
    holiday_destination: Mapped[dict[str, Any] | None] = mapped_column()

    def on_template_copy(self) -> None:
        # An office-mode override is the template's own state, not configuration: copies follow their schedule.
        self.mode = "auto"
        self.mode_until = None
