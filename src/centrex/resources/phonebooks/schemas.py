"""Phonebook API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from centrex.resources.fields import StrictModel

PhonebookName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]+$"),
    Field(examples=["Company directory"]),
]
Scope = Literal["company", "personal"]
Source = Literal["manual", "csv", "crm", "api"]
Description = Annotated[str, StringConstraints(max_length=500)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
SCOPE_DESCRIPTION = "`company`: every user of the tenant sees it; `personal`: only its owner (and administrators)."


class PhonebookCreate(StrictModel):
    name: PhonebookName
    scope: Scope = Field(default="company", description=SCOPE_DESCRIPTION)
    owner_user_id: UserId | None = Field(
        default=None,
        description="The owner of a personal phonebook (a user of the tenant; end users: themselves). "
        "A company phonebook has none.",
    )
    source: Source = Field(default="manual", description="Where the contacts come from.")
    description: Description = ""


class PhonebookUpdate(StrictModel):
    name: PhonebookName | None = None
    scope: Scope | None = Field(default=None, description=SCOPE_DESCRIPTION)
    owner_user_id: UserId | None = None
    source: Source | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> PhonebookUpdate:
        for name in ("name", "scope", "source", "description"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PhonebookFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    scope: Scope | None = None
    owner_user_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    source: Source | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(default=None, description="Search in name.")


class PhonebookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    scope: str
    owner_user_id: str | None
    source: str
    description: str
    created_at: datetime
    updated_at: datetime
