"""Ring group (hunt list) API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from centrex.resources.destinations import Destination, ObjId
from centrex.resources.extension_groups.members import DialNumber
from centrex.resources.fields import E164, Name, StrictModel

RingStrategy = Literal["ring_all", "sequential", "round_robin", "random", "longest_idle"]
RingTime = Annotated[int, Field(ge=5, le=300, description="Seconds to ring (5–300).")]
CallerIdPrefix = Annotated[
    str,
    StringConstraints(max_length=20),
    Field(description="Put in front of the caller's name while the call rings members (e.g. `Sales: `)."),
]


class ExtensionMember(StrictModel):
    type: Literal["extension"]
    extension_id: ObjId
    ring_time: RingTime | None = Field(default=None, description="Default: the group's `ring_time`.")
    delay: int = Field(default=0, ge=0, le=300, description="Seconds to wait before ringing this member.")


class ExternalMember(StrictModel):
    type: Literal["external"]
    number: E164
    ring_time: RingTime | None = Field(default=None, description="Default: the group's `ring_time`.")


Member = Annotated[ExtensionMember | ExternalMember, Field(discriminator="type")]


def _unique_members(members: list[Member] | None) -> list[Member] | None:
    if members is not None:
        seen: set[str] = set()
        for m in members:
            key = m.extension_id if isinstance(m, ExtensionMember) else m.number
            if key in seen:
                raise ValueError(f"{key} is a member twice")
            seen.add(key)
    return members


class RingGroupCreate(StrictModel):
    name: Name
    number: DialNumber | None = None
    strategy: RingStrategy = "ring_all"
    ring_time: RingTime = 20
    members: list[Member] = Field(min_length=1, max_length=100)
    no_answer_destination: Destination | None = Field(default=None, description="Where unanswered calls go.")
    caller_id_prefix: CallerIdPrefix = ""
    confirm_external: bool = Field(
        default=False, description="External members must press 1 to accept the call (not picked up by voicemail)."
    )
    skip_busy: bool = Field(default=True, description="Do not ring members who are already on a call.")
    moh_class_id: ObjId | None = Field(default=None, description="Music on hold while waiting (sequential hunts).")

    _members = field_validator("members")(_unique_members)


class RingGroupUpdate(StrictModel):
    name: Name | None = None
    number: DialNumber | None = Field(default=None, description="null removes the number.")
    strategy: RingStrategy | None = None
    ring_time: RingTime | None = None
    members: list[Member] | None = Field(default=None, min_length=1, max_length=100)
    no_answer_destination: Destination | None = None
    caller_id_prefix: CallerIdPrefix | None = None
    confirm_external: bool | None = None
    skip_busy: bool | None = None
    moh_class_id: ObjId | None = None

    _members = field_validator("members")(_unique_members)


NOT_NULL = ("name", "strategy", "ring_time", "members", "caller_id_prefix", "confirm_external", "skip_busy")


class RingGroupFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    number: Annotated[str, StringConstraints(max_length=16)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in number and name."
    )
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Only groups that ring this extension."
    )


class RingGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    number: str | None
    strategy: str
    ring_time: int
    members: list[dict[str, Any]]
    no_answer_destination: dict[str, Any] | None
    caller_id_prefix: str
    confirm_external: bool
    skip_busy: bool
    moh_class_id: str | None
    created_at: datetime
    updated_at: datetime


class RingGroupMember(BaseModel):
    """A member as listed by ``GET …/members``: extensions with their number and name."""

    type: Literal["extension", "external"]
    extension_id: str | None = None
    number: str
    name: str | None = None
    ring_time: int | None = None
    delay: int = 0
