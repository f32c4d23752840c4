"""Inbound route schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from centrex.domain.dialpatterns import PatternError, compile_pattern
from centrex.resources.destinations import Destination, ObjId
from centrex.resources.fields import Name, StrictModel


def _dial_pattern(value: str) -> str:
    try:
        compile_pattern(value)
    except PatternError as exc:
        raise ValueError(f"not a dial pattern: {exc}") from None
    return value


def _did_pattern(value: str) -> str:
    _dial_pattern(value)
    if not value.removeprefix("_").startswith("+"):
        raise ValueError("a DID pattern is over E.164 numbers and starts with + (e.g. +1415555XXXX)")
    return value


DidPattern = Annotated[
    str,
    StringConstraints(min_length=2, max_length=64),
    AfterValidator(_did_pattern),
    Field(
        description="Dial pattern over E.164 DIDs: X any digit, Z 1-9, N 2-9, [1-5] a class, trailing . or !",
        examples=["+1415555XXXX"],
    ),
]
CallerIdPattern = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_dial_pattern),
    Field(description="Dial pattern the caller's number must match.", examples=["+1212NXXXXXX"]),
]
Priority = Annotated[int, Field(ge=0, le=10_000, description="Lower first (default 100).")]


class InboundRouteCreate(StrictModel):
    name: Name
    number_id: ObjId | None = Field(default=None, description="A number of this tenant (one route per number).")
    pattern: DidPattern | None = None
    caller_id_pattern: CallerIdPattern | None = None
    priority: Priority = 100
    destination: Destination
    enabled: bool = True

    @model_validator(mode="after")
    def _number_or_pattern(self) -> InboundRouteCreate:
        if (self.number_id is None) == (self.pattern is None):
            raise ValueError("give exactly one of number_id and pattern")
        return self


class InboundRouteUpdate(StrictModel):
    name: Name | None = None
    number_id: ObjId | None = None
    pattern: DidPattern | None = None
    caller_id_pattern: CallerIdPattern | None = None
    priority: Priority | None = None
    destination: Destination | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> InboundRouteUpdate:
        for name in ("name", "priority", "destination", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class InboundRouteFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    number_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in name and pattern."
    )
    enabled: bool | None = None


class InboundRouteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    number_id: str | None
    pattern: str | None
    caller_id_pattern: str | None
    priority: int
    destination: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime
