"""Outbound route schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from centrex.domain.dialpatterns import PatternError, compile_pattern
from centrex.resources.destinations import ObjId
from centrex.resources.fields import E164, Name, StrictModel

RouteClass = Literal["local", "national", "mobile", "toll_free", "international", "premium", "emergency"]


def _dial_pattern(value: str) -> str:
    try:
        compile_pattern(value)
    except PatternError as exc:
        raise ValueError(f"not a dial pattern: {exc}") from None
    return value


Match = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_dial_pattern),
    Field(
        description="What the extension dials: digits, + * #, X (0-9), Z (1-9), N (2-9), [1-5], trailing . or !",
        examples=["1NXXNXXXXXX"],
    ),
]
Priority = Annotated[int, Field(ge=0, le=10_000, description="Lower first (default 100).")]


class RoutePattern(StrictModel):
    match: Match
    strip: int = Field(default=0, ge=0, le=20, description="Leading characters removed before the trunk.")
    prepend: Annotated[str, StringConstraints(max_length=20, pattern=r"^\+?[0-9]*$")] = Field(
        default="", description="Put in front after stripping: digits, optionally a leading +."
    )


def _patterns(patterns: list[RoutePattern] | None) -> list[RoutePattern] | None:
    if patterns is not None:
        matches = [p.match.removeprefix("_") for p in patterns]
        if len(matches) != len(set(matches)):
            raise ValueError("each match may appear once")
    return patterns


def _trunks(trunk_ids: list[str] | None) -> list[str] | None:
    if trunk_ids is not None and len(trunk_ids) != len(set(trunk_ids)):
        raise ValueError("a trunk may appear once")
    return trunk_ids


class OutboundRouteCreate(StrictModel):
    name: Name
    priority: Priority = 100
    patterns: list[RoutePattern] = Field(min_length=1, max_length=50)
    destination_class: RouteClass
    trunk_ids: list[ObjId] = Field(
        min_length=1,
        max_length=20,
        description="Tried in order (failover): own trunks or shared trunks of the tenants above.",
    )
    time_condition_id: ObjId | None = Field(default=None, description="The route applies only while it is open.")
    caller_id_number: E164 | None = Field(default=None, description="Caller ID presented on this route.")
    enabled: bool = True

    _p = field_validator("patterns")(_patterns)
    _t = field_validator("trunk_ids")(_trunks)


class OutboundRouteUpdate(StrictModel):
    name: Name | None = None
    priority: Priority | None = None
    patterns: list[RoutePattern] | None = Field(default=None, min_length=1, max_length=50)
    destination_class: RouteClass | None = None
    trunk_ids: list[ObjId] | None = Field(
        default=None, max_length=20, description="Empty only on the emergency route (any usable trunk)."
    )
    time_condition_id: ObjId | None = None
    caller_id_number: E164 | None = None
    enabled: bool | None = None

    _p = field_validator("patterns")(_patterns)
    _t = field_validator("trunk_ids")(_trunks)

    @model_validator(mode="after")
    def _no_null_required(self) -> OutboundRouteUpdate:
        for name in ("name", "priority", "patterns", "destination_class", "trunk_ids", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class OutboundRouteFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    destination_class: RouteClass | None = None
    trunk_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Only routes that use this trunk."
    )
    emergency: bool | None = None
    enabled: bool | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(default=None, description="Search in name.")


class OutboundRouteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    priority: int
    patterns: list[dict[str, Any]]
    destination_class: str
    trunk_ids: list[str]
    time_condition_id: str | None
    emergency: bool = Field(description="The tenant's emergency route: cannot be deleted or disabled.")
    caller_id_number: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
