"""Extension group API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from centrex.resources.destinations import ObjId
from centrex.resources.extension_groups.members import no_duplicates
from centrex.resources.fields import Name, StrictModel

Description = Annotated[str, StringConstraints(max_length=500)]
MemberIds = Annotated[
    list[ObjId],
    Field(max_length=1000, description="Extension ids of this tenant, each at most once."),
]


def _unique(ids: list[str] | None) -> list[str] | None:
    no_duplicates(ids)
    return ids


class ExtensionGroupCreate(StrictModel):
    name: Name = Field(description="Unique in the tenant.")
    description: Description = ""
    member_ids: MemberIds = Field(default_factory=list)

    _members = field_validator("member_ids")(_unique)


class ExtensionGroupUpdate(StrictModel):
    name: Name | None = None
    description: Description | None = None
    member_ids: MemberIds | None = None

    _members = field_validator("member_ids")(_unique)


class ExtensionGroupFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    name: Annotated[str, StringConstraints(max_length=200)] | None = Field(default=None, description="Exact name.")
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(default=None, description="Search in names.")
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Only groups with this extension as a member."
    )


class ExtensionGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    description: str
    member_ids: list[str]
    created_at: datetime
    updated_at: datetime
