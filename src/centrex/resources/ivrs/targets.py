"""What call-flow objects point at: the media check for prompt/greeting fields, and the readable list of an
object's destinations with each target's name and number (MiRTA ``getdestinations`` for IVRs and conditions)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.base import resource_models
from centrex.db.models.media import MediaFile
from centrex.domain import destinations
from centrex.domain.errors import InvalidReference
from centrex.domain.tenancy import TenantScope


async def check_media(session: AsyncSession, scope: TenantScope, media_id: str | None, field: str) -> None:
    """A media file id given in ``field`` must be one of this tenant's media files (else 422 invalid_reference)."""
    if media_id is None:
        return
    found = await session.scalar(
        select(MediaFile.id).where(MediaFile.id == media_id, MediaFile.tenant_id == scope.tenant_id).limit(1)
    )
    if found is None:
        raise InvalidReference.field(field, f"no media file {media_id!r} in this tenant", "invalid_reference")


class DestinationTarget(BaseModel):
    field: str = Field(description="Where the reference sits, e.g. `options.1` or `options.1.next`.")
    resource: str = Field(description="Kind of object: extension, ring_group, queue, ivr, voicemail_box, media…")
    id: str
    name: str | None = None
    number: str | None = None


class DestinationEntry(BaseModel):
    field: str = Field(description="The field holding the destination, e.g. `options.1` or `timeout_destination`.")
    key: str | None = Field(default=None, description="The digit of an IVR option; null for other exits.")
    type: str = Field(description="Destination type (extension, ivr, voicemail, external, hangup…).")
    destination: dict[str, Any]
    is_default: bool = Field(default=False, description="Not configured: the built-in default (hang up) applies.")
    summary: str = Field(description='Readable form, e.g. "queue 600 Support" or "external +14155550100".')
    targets: list[DestinationTarget] = Field(description="Every object the destination points at, in order.")


class DestinationList(BaseModel):
    id: str
    name: str
    number: str | None = None
    items: list[DestinationEntry]


def _summary(dest: dict[str, Any], targets: dict[str, DestinationTarget]) -> str:
    kind = str(dest.get("type"))
    if kind == "external":
        return f"external {dest.get('number')}"
    if kind == "hangup":
        return "hang up"
    if kind == "announcement":
        media = targets.get(str(dest.get("media_id")))
        prompt = media.name if media and media.name else dest.get("media_id")
        return f"announcement {prompt}, then {_summary(dest.get('next') or {'type': 'hangup'}, targets)}"
    target = targets.get(str(dest.get("id")))
    label = " ".join(p for p in (target.number, target.name) if p) if target else ""
    text = f"{kind.replace('_', ' ')} {label or dest.get('id') or '(own box)'}"
    if kind == "voicemail" and dest.get("greeting"):
        text += f" ({dest['greeting']} greeting)"
    return text


async def describe(
    session: AsyncSession,
    scope: TenantScope,
    entries: list[tuple[str, str | None, dict[str, Any] | None]],
) -> list[DestinationEntry]:
    """``entries`` are ``(field, key, destination)``; a missing destination is shown as the default hang-up.

    One query per kind of target object, whatever the number of destinations."""
    wanted: dict[str, set[str]] = {}
    refs_of: list[list[tuple[str, str, str]]] = []
    for field, _key, dest in entries:
        refs = list(destinations.references(dest, field)) if dest else []
        refs_of.append(refs)
        for _f, resource, obj_id in refs:
            wanted.setdefault(resource, set()).add(obj_id)
    models = resource_models()
    found: dict[str, DestinationTarget] = {}
    for resource, ids in wanted.items():
        model: Any = models[resource]
        rows = await session.execute(select(model).where(model.tenant_id == scope.tenant_id, model.id.in_(ids)))
        for obj in rows.scalars():
            name = getattr(obj, "name", None)
            number = getattr(obj, "number", None)
            found[obj.id] = DestinationTarget(
                field="",
                resource=resource,
                id=obj.id,
                name=str(name) if name else None,
                number=str(number) if number else None,
            )
    out = []
    for (field, key, dest), refs in zip(entries, refs_of, strict=True):
        effective = dest or {"type": "hangup"}
        targets = [
            found[obj_id].model_copy(update={"field": ref_field})
            if obj_id in found
            else DestinationTarget(field=ref_field, resource=resource, id=obj_id)
            for ref_field, resource, obj_id in refs
        ]
        out.append(
            DestinationEntry(
                field=field,
                key=key,
                type=str(effective.get("type")),
                destination=effective,
                is_default=dest is None,
                summary=_summary(effective, found),
                targets=targets,
            )
        )
    return out
