"""Music-on-hold class schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from centrex.resources.fields import StrictModel

MohName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]+$"),
    Field(examples=["default"]),
]
MediaId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
MEDIA_IDS = "Ordered playlist: ids of the tenant's media files of kind `moh` or `prompt` (each at most once)."


def _unique(ids: list[str] | None) -> list[str] | None:
    if ids is not None and len(ids) != len(set(ids)):
        raise ValueError("a media file may appear only once in a playlist")
    return ids


class MohClassCreate(StrictModel):
    name: MohName
    media_ids: list[MediaId] = Field(default_factory=list, max_length=100, description=MEDIA_IDS)
    random: bool = Field(default=False, description="Play the playlist in random order.")
    is_default: bool = Field(
        default=False, description="The tenant's default class (at most one: setting it clears the previous one)."
    )

    _ids = field_validator("media_ids")(_unique)


class MohClassUpdate(StrictModel):
    name: MohName | None = None
    media_ids: list[MediaId] | None = Field(default=None, max_length=100, description=MEDIA_IDS)
    random: bool | None = None
    is_default: bool | None = None

    _ids = field_validator("media_ids")(_unique)

    @model_validator(mode="after")
    def _no_nulls(self) -> MohClassUpdate:
        for name in ("name", "media_ids", "random", "is_default"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class MohClassFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(default=None, description="Search in name.")
    is_default: bool | None = None
    media_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Only classes that play this media file."
    )


class MohClassOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    media_ids: list[str]
    random: bool
    is_default: bool
    created_at: datetime
    updated_at: datetime
