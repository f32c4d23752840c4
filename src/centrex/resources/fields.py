"""Reusable, validated Pydantic field types for API schemas (E.164, time zones, languages, locations)."""

from __future__ import annotations

import re
import zoneinfo
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from centrex.domain.e164 import InvalidNumber, normalize


def _e164(value: str) -> str:
    try:
        return normalize(value)
    except InvalidNumber as exc:
        raise ValueError(f"not a valid telephone number ({exc})") from None


_ZONES = zoneinfo.available_timezones()


def _timezone(value: str) -> str:
    if value not in _ZONES and value != "UTC":
        raise ValueError("not an IANA time zone (e.g. America/New_York)")
    return value


def _iso_only(value: object) -> object:
    """Refuse Unix timestamps (pydantic would accept ``0.5``): the API speaks ISO-8601 only."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"[-+]?[0-9.eE+-]+", value)):
        raise ValueError("expected an ISO-8601 date-time with a time zone, e.g. 2026-11-23T10:00:00Z")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
E164 = Annotated[
    str,
    StringConstraints(min_length=2, max_length=32, strip_whitespace=True),
    AfterValidator(_e164),
    Field(
        description="Telephone number; normalised to E.164 (national numbers are read as US/NANP).",
        examples=["+12125551234"],
    ),
]
TimeZone = Annotated[
    str, StringConstraints(max_length=64), AfterValidator(_timezone), Field(examples=["America/New_York"])
]
Language = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=16),
    Field(examples=["en-US"]),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(max_length=1000)]
Email = Annotated[
    str,
    StringConstraints(max_length=254, strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    Field(examples=["alice@example.com"]),
]
Hostname = Annotated[
    str,
    StringConstraints(
        max_length=253,
        to_lower=True,
        pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$",
    ),
]
Digits = re.compile(r"^[0-9]+$")


_SCALARS: dict[type, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (int, float)}


def _scalar(annotation: Any) -> type | None:
    """The bool/int/float a field holds (through ``Optional``/``Annotated``), or None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar(get_args(annotation)[0])
    if origin in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _scalar(args[0]) if len(args) == 1 else None
    return annotation if annotation in _SCALARS else None


class _NotAScalar:
    """Stands in for a value of the wrong JSON type so that the field's own validator reports it."""


class StrictModel(BaseModel):
    """Input schemas refuse unknown fields (a typo is an error, not silently ignored) and take booleans and numbers
    only as JSON booleans and numbers (``"enabled": 0`` or ``"ring_timeout": "20"`` is a 422, as the OpenAPI
    document says), while strings still parse into enums and date-times."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _strict_scalars(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fixed = None
        for name, field in cls.model_fields.items():
            key = field.alias or name
            value = data.get(key)
            if value is None:
                continue
            kind = _scalar(field.annotation)
            if kind is None:
                continue
            if not isinstance(value, _SCALARS[kind]) or (kind is not bool and isinstance(value, bool)):
                fixed = fixed if fixed is not None else dict(data)
                fixed[key] = _NotAScalar()
        return fixed if fixed is not None else data


class EmergencyLocation(StrictModel):
    """A dispatchable location (RAY BAUM's Act): civic address plus floor/room detail."""

    address_line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    address_line2: Annotated[str | None, StringConstraints(max_length=200)] = None
    location_detail: Annotated[str | None, StringConstraints(max_length=100)] = Field(
        default=None, description="Floor, suite or room that makes the address dispatchable."
    )
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    state: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"
    callback_number: E164 | None = None
