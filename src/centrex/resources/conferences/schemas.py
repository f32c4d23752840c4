"""Conference room API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from centrex.resources.destinations import ObjId
from centrex.resources.extension_groups.members import DialNumber
from centrex.resources.fields import Language, Name, StrictModel

Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{3,10}$"), Field(description="3–10 digits.", examples=["4321"])]
MaxMembers = Annotated[int, Field(ge=2, le=500, description="Participants at most (2–500).")]


class ConferenceCreate(StrictModel):
    name: Name
    number: DialNumber
    participant_pin: Pin | None = Field(default=None, description="PIN asked of participants; none: open room.")
    moderator_pin: Pin | None = Field(default=None, description="PIN that joins as moderator; differs from the other.")
    max_members: MaxMembers = 50
    record: bool = False
    wait_for_moderator: bool = Field(
        default=False, description="Participants hear music until a moderator joins (needs a `moderator_pin`)."
    )
    announce_join_leave: bool = True
    mute_on_join: bool = False
    moh_class_id: ObjId | None = None
    language: Language | None = None


class ConferenceUpdate(StrictModel):
    name: Name | None = None
    number: DialNumber | None = None
    participant_pin: Pin | None = Field(default=None, description="null removes the PIN.")
    moderator_pin: Pin | None = Field(default=None, description="null removes the PIN.")
    max_members: MaxMembers | None = None
    record: bool | None = None
    wait_for_moderator: bool | None = None
    announce_join_leave: bool | None = None
    mute_on_join: bool | None = None
    moh_class_id: ObjId | None = None
    language: Language | None = None


NOT_NULL = ("name", "number", "max_members", "record", "wait_for_moderator", "announce_join_leave", "mute_on_join")


class ConferenceFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    number: Annotated[str, StringConstraints(max_length=16)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in number and name."
    )


class ConferenceOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    number: str | None
    participant_pin: str | None = Field(description="Shown to callers allowed to read conferences.")
    moderator_pin: str | None
    max_members: int
    record: bool
    wait_for_moderator: bool
    announce_join_leave: bool
    mute_on_join: bool
    moh_class_id: str | None
    language: str | None
    created_at: datetime
    updated_at: datetime
