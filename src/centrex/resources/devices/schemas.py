"""Device schemas."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from centrex.resources.fields import StrictModel

_MAC_SEP = re.compile(r"[:\-.\s]")


def _mac(value: Any) -> Any:
    if isinstance(value, str):
        return _MAC_SEP.sub("", value).lower()
    return value


Mac = Annotated[
    str,
    BeforeValidator(_mac),
    StringConstraints(pattern=r"^[0-9a-f]{12}$"),
    Field(
        description="MAC address in any common notation; stored as 12 lower-case hex digits.",
        examples=["00:15:65:aa:bb:cc"],
    ),
]


class LineKey(StrictModel):
    index: int = Field(ge=1, le=200)
    type: Literal["line", "blf", "speed_dial", "park", "none"]
    label: Annotated[str, StringConstraints(max_length=32)] = ""
    value: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="Number to dial (speed_dial) or park slot (park)."
    )
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Watched extension (blf)."
    )


def _check_keys(keys: list[LineKey] | None) -> list[LineKey] | None:
    if keys is None:
        return None
    indexes = [k.index for k in keys]
    if len(indexes) != len(set(indexes)):
        raise ValueError("line key indexes must be unique")
    for k in keys:
        if k.type == "blf" and not k.extension_id:
            raise ValueError(f"key {k.index}: blf needs extension_id")
        if k.type in ("speed_dial", "park") and not k.value:
            raise ValueError(f"key {k.index}: {k.type} needs value")
    return keys


class DeviceCreate(StrictModel):
    mac: Mac
    model: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    line_keys: list[LineKey] = Field(default_factory=list, max_length=200)
    enabled: bool = True

    _keys = field_validator("line_keys")(_check_keys)


class DeviceUpdate(StrictModel):
    model: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    line_keys: list[LineKey] | None = Field(default=None, max_length=200)
    enabled: bool | None = None

    _keys = field_validator("line_keys")(_check_keys)


class DeviceFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    mac: Annotated[str, StringConstraints(max_length=20)] | None = None


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    mac: str
    model: str
    name: str
    extension_id: str | None
    line_keys: list[dict[str, Any]]
    enabled: bool
    created_at: datetime
    updated_at: datetime
