"""IVR API schemas: the menu (greeting, digit options, directory, timeout/invalid exits) in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from centrex.resources.destinations import Destination, ObjId
from centrex.resources.fields import Language, StrictModel

IvrName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]([A-Za-z0-9 _-]*[A-Za-z0-9_-])?$"
    ),
    Field(
        description="Unique in the tenant: letters, digits, spaces, `_` and `-` (3CX-style ids such as `HOL`).",
        examples=["Main menu"],
    ),
]
DialNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{1,7}$"),
    Field(description="Internal number that reaches the menu (the tenant's shared number space).", examples=["800"]),
]
OptionKey = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
GreetingText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
MediaId = Annotated[ObjId, Field(description="A media file of this tenant.")]
Options = Annotated[
    dict[OptionKey, Destination],
    Field(
        max_length=12,
        description="Digit → destination for the keys 0–9, `*` and `#`. A nested menu is a destination of type `ivr`.",
        examples=[{"1": {"type": "queue", "id": "que_01m8…"}, "0": {"type": "extension", "id": "ext_01m8…"}}],
    ),
]
Timeout = Annotated[int, Field(ge=1, le=60, description="Seconds to wait for a key after the greeting.")]
Retries = Annotated[int, Field(ge=1, le=10, description="Times the greeting is played before the exits apply.")]


class IvrCreate(StrictModel):
    """A menu; it needs a greeting: ``greeting_media_id``, ``greeting_text`` or both (media wins when both)."""

    name: IvrName
    number: DialNumber | None = None
    greeting_media_id: MediaId | None = None
    greeting_text: GreetingText | None = Field(default=None, description="Spoken by text-to-speech (≤1000 chars).")
    options: Options = Field(default_factory=dict)
    dial_by_extension: bool = Field(default=False, description="Callers may dial an extension number directly.")
    dial_by_name: bool = Field(default=False, description="A key-press directory of the tenant's extensions.")
    timeout: Timeout = 5
    max_retries: Retries = 3
    invalid_media_id: MediaId | None = Field(default=None, description="Played on an invalid key.")
    timeout_destination: Destination | None = Field(default=None, description="After the retries: default hang up.")
    invalid_destination: Destination | None = Field(default=None, description="After the retries: default hang up.")
    language: Language | None = None


class IvrUpdate(StrictModel):
    name: IvrName | None = None
    number: DialNumber | None = None
    greeting_media_id: MediaId | None = None
    greeting_text: GreetingText | None = None
    options: Options | None = None
    dial_by_extension: bool | None = None
    dial_by_name: bool | None = None
    timeout: Timeout | None = None
    max_retries: Retries | None = None
    invalid_media_id: MediaId | None = None
    timeout_destination: Destination | None = None
    invalid_destination: Destination | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> IvrUpdate:
        for name in ("name", "options", "dial_by_extension", "dial_by_name", "timeout", "max_retries"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class IvrFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    name: Annotated[str, StringConstraints(max_length=64)] | None = Field(default=None, description="Exact name.")
    number: Annotated[str, StringConstraints(max_length=16)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in name and number."
    )


class IvrOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    number: str | None
    greeting_media_id: str | None
    greeting_text: str | None
    options: dict[str, dict[str, Any]]
    dial_by_extension: bool
    dial_by_name: bool
    timeout: int
    max_retries: int
    invalid_media_id: str | None
    timeout_destination: dict[str, Any] | None
    invalid_destination: dict[str, Any] | None
    language: str | None
    created_at: datetime
    updated_at: datetime
