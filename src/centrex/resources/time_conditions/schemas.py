"""Time-condition API schemas: weekly ranges and holidays (the formats of ``centrex.domain.schedule``), the office
mode, the destinations per state, and the answers of the state and mode endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from centrex.domain.schedule import DAYS, parse_hhmm, validate_weekly
from centrex.resources.destinations import Destination
from centrex.resources.fields import IsoDateTime, StrictModel, TimeZone

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Mode = Literal["auto", "open", "closed", "holiday"]
OverrideMode = Literal["open", "closed", "holiday"]
TcName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
FlowNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,16}$"),
    Field(description="Flow number (MiRTA SETFLOW/FLOWS, BLF); digits, unique in the tenant.", examples=["1"]),
]
HHMM = Annotated[str, Field(description="HH:MM, 00:00–24:00.", examples=["09:00"])]


def _bounded(value: datetime) -> datetime:
    if not 1900 <= value.year <= 9000:
        raise ValueError("the year must be between 1900 and 9000")
    return value


Instant = Annotated[IsoDateTime, AfterValidator(_bounded)]


def _iso_date(value: Any) -> Any:
    if not isinstance(value, (str, date)):
        raise ValueError("expected an ISO-8601 date, e.g. 2026-12-25")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class WeeklyRange(StrictModel):
    """Open hours on some days of the week; ``end`` before ``start`` runs past midnight, 24:00 ends the day."""

    days: list[Day] = Field(min_length=1, max_length=7, examples=[["mon", "tue", "wed", "thu", "fri"]])
    start: HHMM
    end: HHMM

    @field_validator("days")
    @classmethod
    def _unique_days(cls, days: list[str]) -> list[str]:
        if len(days) != len(set(days)):
            raise ValueError("each day at most once")
        return sorted(days, key=DAYS.index)

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)  # raises ValueError with a readable message
        return value


class Holiday(StrictModel):
    """A closed day or range of days; ``recurring`` repeats it every year."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        examples=["Christmas"]
    )
    date: IsoDate
    end_date: IsoDate | None = Field(default=None, description="Last day of a range (inclusive).")
    recurring: bool = False

    @model_validator(mode="after")
    def _range(self) -> Holiday:
        if self.end_date is not None:
            if self.end_date < self.date:
                raise ValueError("end_date must not be before date")
            if self.recurring and (self.end_date - self.date).days >= 365:
                raise ValueError("a recurring holiday must last less than a year")
        return self


Weekly = Annotated[list[WeeklyRange], Field(max_length=100, description="Open hours (at most 100 ranges).")]
Holidays = Annotated[list[Holiday], Field(max_length=366, description="Holidays (at most 366).")]


def _weekly(ranges: list[WeeklyRange] | None) -> list[WeeklyRange] | None:
    if ranges is not None:
        validate_weekly([r.model_dump() for r in ranges])
    return ranges


class TimeConditionCreate(StrictModel):
    name: TcName
    timezone: TimeZone | None = Field(default=None, description="IANA time zone; null: the tenant's time zone.")
    weekly: Weekly = Field(default_factory=list)
    holidays: Holidays = Field(default_factory=list)
    mode: Mode = Field(default="auto", description="`auto` follows the schedule; the others force a state.")
    mode_until: Instant | None = Field(default=None, description="End of a forced mode (then back to auto).")
    flow_number: FlowNumber | None = None
    open_destination: Destination
    closed_destination: Destination
    holiday_destination: Destination | None = Field(default=None, description="Default: the closed destination.")

    _w = field_validator("weekly")(_weekly)


class TimeConditionUpdate(StrictModel):
    name: TcName | None = None
    timezone: TimeZone | None = None
    weekly: Weekly | None = None
    holidays: Holidays | None = None
    mode: Mode | None = None
    mode_until: Instant | None = None
    flow_number: FlowNumber | None = None
    open_destination: Destination | None = None
    closed_destination: Destination | None = None
    holiday_destination: Destination | None = None

    _w = field_validator("weekly")(_weekly)

    @model_validator(mode="after")
    def _no_null_required(self) -> TimeConditionUpdate:
        for name in ("name", "weekly", "holidays", "mode", "open_destination", "closed_destination"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ModeChange(StrictModel):
    """An office-mode override: force a state (optionally until a time), or go back to ``auto``."""

    mode: Mode
    until: Instant | None = Field(default=None, description="When the override ends (future; not with auto).")


class TimeConditionFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    name: Annotated[str, StringConstraints(max_length=100)] | None = Field(default=None, description="Exact name.")
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(default=None, description="Search in name.")
    mode: Mode | None = None
    flow_number: Annotated[str, StringConstraints(max_length=16)] | None = None


class TimeConditionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    timezone: str | None = Field(description="null: the tenant's time zone applies.")
    weekly: list[dict[str, Any]]
    holidays: list[dict[str, Any]]
    mode: str
    mode_until: datetime | None
    flow_number: str | None
    open_destination: dict[str, Any] | None
    closed_destination: dict[str, Any] | None
    holiday_destination: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class TimeConditionState(BaseModel):
    """The state of a time condition at an instant, and where calls go in that state."""

    id: str
    at: datetime = Field(description="The instant evaluated (UTC).")
    state: Literal["open", "closed", "holiday"]
    reason: str = Field(examples=["open hours: mon 09:00–17:00"])
    timezone: str = Field(description="The time zone used (the condition's, or the tenant's).")
    local_time: datetime = Field(description="The instant in that time zone (with its offset).")
    override: bool = Field(description="True while a manual mode forces the state.")
    next_change: datetime | None = Field(description="When the state next changes (UTC), within about a week.")
    destination: dict[str, Any] = Field(description="Where calls go now (holiday falls back to closed).")
