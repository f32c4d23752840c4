"""Generic template copy: clone every selected tenant-owned model from one tenant into another.

Models are visited parents-first (foreign-key order). Each copy gets a new id; foreign keys to other copied rows are
remapped, foreign keys to rows that were not copied (or whose copy was dropped) become NULL (or the row is skipped
when the column is required); references kept inside JSON fields are remapped by the model's ``remap_references``;
``on_template_copy`` resets secrets and per-tenant state.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.base import TenantOwned, tenant_owned_models
from centrex.domain.errors import InvalidInput
from centrex.domain.ids import new_id

_SKIP = frozenset({"id", "tenant_id", "created_at", "updated_at", "version"})


def copyable() -> dict[str, str]:
    """Resource name → copy policy ("default" or "optional") of every copyable tenant-owned model."""
    return {m.__resource__: m.__template_copy__ for m in tenant_owned_models() if m.__template_copy__ != "never"}


def select_resources(requested: list[str] | None) -> set[str]:
    policies = copyable()
    if requested is None:
        return {name for name, policy in policies.items() if policy == "default"}
    plural = {f"{name}s": name for name in policies}
    requested = [plural.get(name, name) for name in requested]  # "extensions" and "extension" both work
    unknown = sorted(set(requested) - set(policies))
    if unknown:
        raise InvalidInput.field(
            "copy_resources", f"not copyable: {', '.join(unknown)}; copyable: {', '.join(sorted(policies))}"
        )
    return set(requested)


async def copy_resources(session: AsyncSession, template_id: str, tenant_id: str, names: set[str]) -> dict[str, int]:
    models = [m for m in tenant_owned_models() if m.__resource__ in names]
    sources: list[tuple[type[TenantOwned], list[Any]]] = []
    id_map: dict[str, str] = {template_id: tenant_id}
    for model in models:
        rows = (
            (await session.execute(select(model).where(model.tenant_id == template_id).order_by(model.id)))
            .scalars()
            .all()
        )
        for row in rows:
            id_map[row.id] = new_id(model.__id_prefix__)
        sources.append((model, list(rows)))

    counts: dict[str, int] = {}
    for model, rows in sources:
        mapper = inspect(model)
        fk_attrs = {
            mapper.get_property_by_column(col).key: col.nullable
            for col in mapper.local_table.columns
            if col.foreign_keys and col.name != "tenant_id"
        }
        made = 0
        for row in rows:
            data = {a.key: copy.deepcopy(getattr(row, a.key)) for a in mapper.column_attrs if a.key not in _SKIP}
            skip = False
            for key, nullable in fk_attrs.items():
                if data.get(key) is None:
                    continue
                data[key] = id_map.get(data[key])
                if data[key] is None and not nullable:
                    skip = True
            if skip:
                id_map.pop(row.id, None)  # rows that need this one are left out too
                continue
            clone = model(id=id_map[row.id], tenant_id=tenant_id, **data)
            clone.remap_references(id_map)
            if not clone.keep_template_copy():
                id_map.pop(row.id, None)
                continue
            clone.on_template_copy()
            session.add(clone)
            made += 1
        counts[model.__resource__] = made
        # Flush per model: the unit of work orders inserts by relationships only, and these are plain foreign keys.
        await session.flush()
    return counts
