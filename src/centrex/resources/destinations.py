"""The typed destination in API schemas, and the check that what it points at exists in the same tenant.

One reference type is used everywhere a call goes next: inbound routes, IVR options and timeouts, time conditions,
ring-group and queue overflows, extension forwarding, announcements. See ``centrex.domain.destinations``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.base import resource_models
from centrex.domain import destinations
from centrex.domain.errors import InvalidInput, InvalidReference
from centrex.domain.tenancy import TenantScope
from centrex.resources.fields import E164, StrictModel

ObjId = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z]{2,5}_[0-9a-z]{1,34}$")]
MAX_NESTING = 5


class ToExtension(StrictModel):
    type: Literal["extension"]
    id: ObjId


class ToRingGroup(StrictModel):
    type: Literal["ring_group"]
    id: ObjId


class ToQueue(StrictModel):
    type: Literal["queue"]
    id: ObjId


class ToIvr(StrictModel):
    type: Literal["ivr"]
    id: ObjId


class ToVoicemail(StrictModel):
    type: Literal["voicemail"]
    id: ObjId | None = Field(
        default=None, description="Voicemail box; omitted in an extension's forwarding: the extension's own box."
    )
    greeting: Literal["unavailable", "busy", "temporary"] | None = None


class ToConference(StrictModel):
    type: Literal["conference"]
    id: ObjId


class ToTimeCondition(StrictModel):
    type: Literal["time_condition"]
    id: ObjId


class ToAnnouncement(StrictModel):
    """Play a media file, then go on to ``next``."""

    type: Literal["announcement"]
    media_id: ObjId
    next: Destination


class ToExternal(StrictModel):
    type: Literal["external"]
    number: E164


class ToHangup(StrictModel):
    type: Literal["hangup"]


Destination = Annotated[
    ToExtension
    | ToRingGroup
    | ToQueue
    | ToIvr
    | ToVoicemail
    | ToConference
    | ToTimeCondition
    | ToAnnouncement
    | ToExternal
    | ToHangup,
    Field(discriminator="type", description="Where the call goes next."),
]
ToAnnouncement.model_rebuild()


def _depth(dest: dict[str, Any]) -> int:
    depth = 0
    while dest.get("type") == "announcement":
        depth += 1
        dest = dest.get("next") or {}
    return depth


async def check(
    session: AsyncSession,
    scope: TenantScope,
    dest: BaseModel | dict[str, Any] | None,
    field: str,
    *,
    own_voicemail: bool = False,
) -> dict[str, Any] | None:
    """Validate a destination for this tenant and return its JSON form (what is stored).

    Every object it points at must exist in the same tenant (else 422 ``invalid_reference`` naming the field).
    ``own_voicemail``: ``{"type": "voicemail"}`` without an id is allowed (an extension's own box).
    """
    if dest is None:
        return None
    data = dest.model_dump(mode="json", exclude_none=True) if isinstance(dest, BaseModel) else dict(dest)
    if _depth(data) > MAX_NESTING:
        raise InvalidInput.field(field, f"announcements may be nested {MAX_NESTING} deep at most")
    node: dict[str, Any] | None = data
    path = field
    while node:
        if node.get("type") == "voicemail" and not node.get("id") and not own_voicemail:
            raise InvalidInput.field(f"{path}.id", "a voicemail destination needs the box id", "missing")
        if node.get("type") != "announcement":
            break
        node, path = node.get("next"), f"{path}.next"
    models = resource_models()
    for ref_field, resource, obj_id in destinations.references(data, field):
        model: Any = models[resource]
        found = await session.scalar(
            select(model.id).where(model.id == obj_id, model.tenant_id == scope.tenant_id).limit(1)
        )
        if found is None:
            raise InvalidReference.field(ref_field, f"no {resource} {obj_id!r} in this tenant", "invalid_reference")
    return data
