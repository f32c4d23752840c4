"""Extension membership shared by the group-like slices (ring groups, pickup groups, extension groups, queues).

- ``check_extensions``: every listed extension id is an extension of the tenant (one query; 422
  ``invalid_reference`` naming the first bad item);
- ``check_exists``: a single referenced object (MOH class, media file) is in the tenant;
- ``resolve``: a 3CX-style member list (``["101", "ext_…", "+12125550100"]``: extension ids, extension numbers
  or, where allowed, outside telephone numbers) turned into extensions and E.164 numbers, duplicates refused;
- ``MemberSet``, ``AgentSet``, ``ManagerSet``: the bodies of the "replace the set" endpoints (an object with the
  list, or the bare JSON array);
- ``referencing``: the list filter "groups this extension is in", from the reference index;
- ``ExtensionRef``/``Listing``: members shown with their numbers and names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.models.extension import Extension
from centrex.db.models.refs import ObjectRef
from centrex.domain.e164 import InvalidNumber, normalize
from centrex.domain.errors import InvalidInput, InvalidReference
from centrex.domain.ids import looks_like_id
from centrex.domain.tenancy import TenantScope
from centrex.resources.fields import StrictModel

MemberKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, strip_whitespace=True),
]
DialNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{1,7}$"),
    Field(description="2–8 digits, not starting with 0; shares the tenant's one number space.", examples=["600"]),
]
T = TypeVar("T")


def no_duplicates(values: Sequence[Any] | None, what: str = "members") -> None:
    """Raise ``ValueError`` (a schema error) when a list repeats an item."""
    if values is None:
        return
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value} is listed twice; {what} must be unique")
        seen.add(value)


async def check_extensions(
    session: AsyncSession, scope: TenantScope, ids: Sequence[str], field: str, fields: Sequence[str] | None = None
) -> dict[str, Extension]:
    """The extensions named by ``ids`` (all must be in this tenant), by id. An unknown one is reported as
    ``fields[i]`` when given, else as ``<field>.<i>``."""
    if not ids:
        return {}
    rows = await session.execute(select(Extension).where(Extension.tenant_id == scope.tenant_id, Extension.id.in_(ids)))
    found = {ext.id: ext for ext in rows.scalars()}
    for i, ext_id in enumerate(ids):
        if ext_id not in found:
            where = fields[i] if fields is not None else f"{field}.{i}"
            raise InvalidReference.field(where, f"no extension {ext_id!r} in this tenant", "invalid_reference")
    return found


async def check_exists(session: AsyncSession, scope: TenantScope, model: Any, obj_id: str | None, field: str) -> None:
    """``obj_id`` (when given) is an object of ``model`` in this tenant (else 422 ``invalid_reference``)."""
    if obj_id is None:
        return
    found = await session.scalar(
        select(model.id).where(model.id == obj_id, model.tenant_id == scope.tenant_id).limit(1)
    )
    if found is None:
        raise InvalidReference.field(field, f"no {model.__resource__} {obj_id!r} in this tenant", "invalid_reference")


def referencing(scope: TenantScope, from_type: str, field_prefix: str, extension_id: str) -> Any:
    """Sub-query: ids of ``from_type`` objects whose ``field_prefix.…`` fields point at the extension (from the
    reference index, so list filters stay one statement)."""
    return select(ObjectRef.from_id).where(
        ObjectRef.tenant_id == scope.tenant_id,
        ObjectRef.from_type == from_type,
        ObjectRef.to_id == extension_id,
        ObjectRef.field.like(f"{field_prefix}.%"),
    )


@dataclass(frozen=True)
class Resolved:
    """One resolved member: an extension of the tenant, or an outside number (E.164)."""

    extension: Extension | None = None
    external_number: str | None = None

    @property
    def key(self) -> str:
        return self.extension.id if self.extension is not None else str(self.external_number)


async def resolve(
    session: AsyncSession, scope: TenantScope, keys: Sequence[str], field: str, *, external: bool
) -> list[Resolved]:
    """Resolve ids, extension numbers and (when ``external``) telephone numbers; refuse unknowns and duplicates."""
    ids = [k for k in keys if looks_like_id(k)]
    numbers = [k for k in keys if not looks_like_id(k) and k.isdigit() and len(k) <= 8]
    by_id: dict[str, Extension] = {}
    by_number: dict[str, Extension] = {}
    if ids or numbers:
        stmt = select(Extension).where(
            Extension.tenant_id == scope.tenant_id, or_(Extension.id.in_(ids), Extension.number.in_(numbers))
        )
        for ext in (await session.execute(stmt)).scalars():
            by_id[ext.id] = ext
            by_number[ext.number] = ext
    out: list[Resolved] = []
    seen: set[str] = set()
    for i, key in enumerate(keys):
        where = f"{field}.{i}"
        if key in ids:
            if key not in by_id:
                raise InvalidReference.field(where, f"no extension {key!r} in this tenant", "invalid_reference")
            item = Resolved(extension=by_id[key])
        elif key in numbers and key in by_number:
            item = Resolved(extension=by_number[key])
        elif external:
            try:
                item = Resolved(external_number=normalize(key))
            except InvalidNumber:
                raise InvalidReference.field(
                    where,
                    f"{key!r} is neither an extension (id or number) of this tenant nor a telephone number",
                    "invalid_reference",
                ) from None
        else:
            raise InvalidReference.field(
                where, f"{key!r} is not an extension (id or number) of this tenant", "invalid_reference"
            )
        if item.key in seen:
            raise InvalidInput.field(where, f"{key!r} is listed twice", "duplicate")
        seen.add(item.key)
        out.append(item)
    return out


class ExtensionRef(BaseModel):
    """An extension as a member: its id, number and name."""

    extension_id: str
    number: str
    name: str


class Listing(BaseModel, Generic[T]):
    """A complete (unpaged) list with its length (3CX ``{"count", "members"}`` shape, as ``count``/``items``)."""

    count: int
    items: list[T]


async def extension_refs(session: AsyncSession, scope: TenantScope, ids: Sequence[str]) -> list[ExtensionRef]:
    """The extensions ``ids`` in that order (ids no longer in the tenant are left out)."""
    if not ids:
        return []
    rows = await session.execute(
        select(Extension.id, Extension.number, Extension.name).where(
            Extension.tenant_id == scope.tenant_id, Extension.id.in_(ids)
        )
    )
    found = {r.id: ExtensionRef(extension_id=r.id, number=r.number, name=r.name) for r in rows}
    return [found[i] for i in ids if i in found]


class _ListBody(StrictModel):
    """Base of the "replace the set" bodies: ``{"<key>": [...]}`` or the bare JSON array."""

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        if isinstance(data, list):
            (name,) = cls.model_fields
            return {name: data}
        return data


class MemberSet(_ListBody):
    """The new members: extension ids, extension numbers or outside numbers (E.164); a bare array works too."""

    members: list[MemberKey] = Field(min_length=1, max_length=100)


class AgentSet(_ListBody):
    """The new agents: extension ids, extension numbers or outside numbers (E.164); a bare array works too."""

    agents: list[MemberKey] = Field(max_length=500)


class ManagerSet(_ListBody):
    """The new managers: extension ids or extension numbers; a bare array works too."""

    managers: list[MemberKey] = Field(max_length=100)
