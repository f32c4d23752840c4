"""Declarative base and the mixins every resource model uses.

- ``Resource``: an audited object with an opaque string id, timestamps and an optimistic-concurrency ``version``.
  Each concrete model names itself (``__resource__``) and its id prefix; the change tracker writes an audit entry
  and an outbox event for every insert, update and delete of a ``Resource``.
- ``TenantOwned``: a resource that belongs to one tenant (``tenant_id``). Repositories filter by it; a tenant created
  from a template gets copies of every ``TenantOwned`` model whose ``__template_copy__`` is ``"default"`` (or
  ``"optional"`` and named by the caller), with ids and internal references remapped — the copier is generic over
  models, not a hand-written list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Integer, MetaData, String, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from centrex.db.types import JSONType, UTCDateTime, jsonable, utcnow
from centrex.domain import destinations
from centrex.domain.ids import new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        list[str]: JSONType,
        list[dict[str, Any]]: JSONType,
    }


class Resource:
    """Mixin: id, timestamps, version; audited and evented by the change tracker."""

    __resource__: ClassVar[str]  # singular name used in events and audit ("extension")
    __id_prefix__: ClassVar[str]  # "ext"
    __secret_fields__: ClassVar[frozenset[str]] = frozenset()  # redacted in audit and events
    __hidden_fields__: ClassVar[frozenset[str]] = frozenset()  # never in audit/event snapshots

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        table = cls.__table__  # type: ignore[attr-defined]
        return {"version_id_col": table.c.version}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not getattr(self, "id", None):
            self.id = new_id(self.__id_prefix__)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def snapshot(self) -> dict[str, Any]:
        """Column values for audit/events, secrets redacted, hidden fields dropped."""
        out: dict[str, Any] = {}
        for attr in inspect(type(self)).column_attrs:
            key = attr.key
            if key in self.__hidden_fields__:
                continue
            value = getattr(self, key)
            if key in self.__secret_fields__:
                out[key] = "***" if value else None
            else:
                out[key] = jsonable(value)
        return out

    def label(self) -> str:
        """A short human label for listings of references ("101 Alice")."""
        for name in ("number", "name", "code", "username", "mac"):
            value = getattr(self, name, None)
            if value:
                return str(value)
        return self.id

    def outgoing_references(self) -> list[tuple[str, str, str]]:
        """References this object holds to other objects: ``(field, resource_type, id)``.

        The change tracker stores them in ``object_refs`` so that a delete of the target is refused with a 409 that
        lists them, whatever kind of object points at it.
        """
        return []


class TenantOwned(Resource):
    """Mixin: a resource inside one tenant.

    References to other objects are declared, and the generic ``outgoing_references`` / ``remap_references`` use
    the declarations (reference index, delete guards, template copies):

    - ``__ref_fields__``: column holding one id → resource name (``{"extension_id": "extension"}``);
    - ``__ref_lists__``: JSON list of ids → resource name (``{"member_ids": "extension"}``);
    - ``__ref_dict_lists__``: JSON list of objects → (key holding an id, resource name);
    - ``__destination_fields__``: JSON columns holding one typed destination;
    - ``__destination_maps__``: JSON columns holding ``{key: destination}`` (IVR options).
    """

    __ref_fields__: ClassVar[dict[str, str]] = {}
    __ref_lists__: ClassVar[dict[str, str]] = {}
    __ref_dict_lists__: ClassVar[dict[str, tuple[str, str]]] = {}
    __destination_fields__: ClassVar[tuple[str, ...]] = ()
    __destination_maps__: ClassVar[tuple[str, ...]] = ()

    # "default": copied from a template unless the caller says otherwise; "optional": copied when asked;
    # "never": not copyable (credentials, numbers, devices with globally unique MACs).
    __template_copy__: ClassVar[str] = "never"

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:
        return mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True)

    def on_template_copy(self) -> None:
        """Hook for copies made from a template tenant: reset secrets, counters, per-tenant identifiers."""

    def keep_template_copy(self) -> bool:
        """Hook: False drops a copy that lost what it needs with its references remapped (e.g. a queue agent whose
        extension was not copied)."""
        return True

    def outgoing_references(self) -> list[tuple[str, str, str]]:
        refs: list[tuple[str, str, str]] = []
        for name, resource in self.__ref_fields__.items():
            value = getattr(self, name)
            if value:
                refs.append((name, resource, value))
        for name, resource in self.__ref_lists__.items():
            refs += [(f"{name}.{i}", resource, v) for i, v in enumerate(getattr(self, name) or []) if v]
        for name, (key, resource) in self.__ref_dict_lists__.items():
            for i, item in enumerate(getattr(self, name) or []):
                if isinstance(item, dict) and item.get(key):
                    refs.append((f"{name}.{i}.{key}", resource, item[key]))
        for name in self.__destination_fields__:
            refs += list(destinations.references(getattr(self, name), name))
        for name in self.__destination_maps__:
            for key, dest in (getattr(self, name) or {}).items():
                refs += list(destinations.references(dest, f"{name}.{key}"))
        return refs

    def remap_references(self, id_map: dict[str, str]) -> None:
        """Rewrite references held in JSON fields after a template copy (``old id → new id``); references to
        objects that were not copied are dropped. (Foreign-key columns are remapped by the copier.)"""
        for name in self.__ref_lists__:
            setattr(self, name, [id_map[v] for v in getattr(self, name) or [] if v in id_map])
        for name, (key, _resource) in self.__ref_dict_lists__.items():
            items = []
            for item in getattr(self, name) or []:
                if isinstance(item, dict) and item.get(key):
                    if item[key] not in id_map:
                        continue
                    item = {**item, key: id_map[item[key]]}
                items.append(item)
            setattr(self, name, items)
        for name in self.__destination_fields__:
            setattr(self, name, destinations.remap(getattr(self, name), id_map))
        for name in self.__destination_maps__:
            setattr(self, name, {k: destinations.remap(d, id_map) for k, d in (getattr(self, name) or {}).items()})


def tenant_owned_models() -> list[type[TenantOwned]]:
    """Every mapped ``TenantOwned`` model, parents before children (by foreign keys)."""
    by_table: dict[str, type[TenantOwned]] = {
        str(mapper.local_table.description): mapper.class_
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    }
    order = [t.name for t in Base.metadata.sorted_tables]
    return [by_table[name] for name in order if name in by_table]


def resource_models() -> dict[str, type[Resource]]:
    """``__resource__`` name → model, for every mapped resource."""
    return {
        mapper.class_.__resource__: mapper.class_
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, Resource)
    }
