"""Change tracking on every flush: audit entries, outbox events and the reference index.

For each inserted, updated or deleted ``Resource`` the tracker writes, in the same transaction:
- an ``AuditEntry`` (actor, action, before/after snapshots with secrets redacted);
- an ``OutboxEvent`` ``<resource>.created|updated|deleted``;
- the ``ObjectRef`` rows of the object's outgoing references.
Before a delete it checks ``object_refs`` and raises ``InUse`` listing whatever still points at the object.
Bulk SQL statements bypass it, so services change resources through the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from centrex.db.base import Resource, TenantOwned
from centrex.db.models.audit import AuditEntry
from centrex.db.models.refs import ObjectRef
from centrex.db.models.tenant import Tenant
from centrex.db.types import jsonable
from centrex.domain.errors import InUse, Reference
from centrex.domain.ids import new_id
from centrex.events.outbox import emit

_IGNORED_CHANGES = frozenset({"updated_at", "version"})


@dataclass
class ChangeContext:
    """Who is making the changes of this session (set by the unit of work)."""

    actor: str = "system"
    actor_name: str = "system"
    request_id: str | None = None
    ip: str | None = None
    actions: dict[int, str] = field(default_factory=dict)  # id(obj) -> action label ("suspend")


SYSTEM = ChangeContext()


@dataclass
class _Change:
    obj: Resource
    op: str  # created | updated | deleted
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changes: list[str]


class TrackedSession(Session):
    """The sync session class behind every ``AsyncSession``: carries the change tracker."""


@dataclass(frozen=True)
class Changes:
    """What a committed transaction changed: table names, and the tenants whose rows changed."""

    tables: frozenset[str]
    tenants: frozenset[str]


CommitHook = Callable[[Changes], None]


@event.listens_for(TrackedSession, "after_commit")
def _after_commit(session: Session) -> None:
    """Tell the database's commit hooks what the transaction changed (cache invalidation)."""
    touched = frozenset(session.info.pop("touched", ()))
    tenants = frozenset(session.info.pop("touched_tenants", ()))
    if touched:
        changes = Changes(touched, tenants)
        for hook in session.info.get("commit_hooks", ()):
            hook(changes)


@event.listens_for(TrackedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("touched", None)
    session.info.pop("touched_tenants", None)
    session.info.pop("tracked", None)


def _ctx(session: Session) -> ChangeContext:
    ctx = session.info.get("ctx")
    return ctx if isinstance(ctx, ChangeContext) else SYSTEM


def _before_snapshot(obj: Resource) -> dict[str, Any]:
    snap = obj.snapshot()
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key not in snap:
            continue
        hist = state.attrs[key].history
        if hist.deleted:
            old = hist.deleted[0]
            snap[key] = ("***" if old else None) if key in obj.__secret_fields__ else jsonable(old)
    return snap


@event.listens_for(TrackedSession, "before_flush")
def _check_deletes(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    deleted = [o for o in session.deleted if isinstance(o, Resource)]
    if not deleted:
        return
    ids = {o.id for o in deleted}
    rows = session.execute(select(ObjectRef).where(ObjectRef.to_id.in_(ids), ObjectRef.from_id.not_in(ids))).scalars()
    refs: dict[str, list[Reference]] = {}
    for r in rows:
        refs.setdefault(r.to_id, []).append(Reference(r.from_type, r.from_id, r.field, r.label or None))
    if refs:
        target = next(o for o in deleted if o.id in refs)
        found = refs[target.id]
        listing = ", ".join(f"{r.resource} {r.label or r.id}" for r in found[:10])
        raise InUse(
            f"{target.__resource__} {target.label()!r} is still referenced by {listing}",
            references=found,
        )


@event.listens_for(TrackedSession, "after_flush")
def _collect(session: Session, flush_context: UOWTransaction) -> None:
    pending: list[_Change] = session.info.setdefault("tracked", [])
    touched: set[str] = session.info.setdefault("touched", set())
    tenants: set[str] = session.info.setdefault("touched_tenants", set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        touched.add(type(obj).__tablename__)
        tenant_id = obj.id if isinstance(obj, Tenant) else getattr(obj, "tenant_id", None)
        if isinstance(tenant_id, str):
            tenants.add(tenant_id)
    for obj in session.new:
        if isinstance(obj, Resource):
            pending.append(_Change(obj, "created", None, obj.snapshot(), []))
    for obj in session.dirty:
        if isinstance(obj, Resource) and session.is_modified(obj, include_collections=False):
            before, after = _before_snapshot(obj), obj.snapshot()
            changes = [k for k in after if k not in _IGNORED_CHANGES and before.get(k) != after.get(k)]
            if changes:
                pending.append(_Change(obj, "updated", before, after, changes))
    for obj in session.deleted:
        if isinstance(obj, Resource):
            pending.append(_Change(obj, "deleted", obj.snapshot(), None, []))


def _tenant_of(session: Session, obj: Resource, cache: dict[str, tuple[str | None, str]]) -> tuple[str | None, str]:
    if isinstance(obj, Tenant):
        return obj.id, obj.path
    tenant_id = getattr(obj, "tenant_id", None)
    if tenant_id is None:
        return None, "/"
    if tenant_id not in cache:
        tenant = session.get(Tenant, tenant_id)
        cache[tenant_id] = (tenant_id, tenant.path if tenant else "/")
    return cache[tenant_id]


@event.listens_for(TrackedSession, "after_flush_postexec")
def _write(session: Session, flush_context: UOWTransaction) -> None:
    pending: list[_Change] = session.info.pop("tracked", [])
    if not pending:
        return
    ctx = _ctx(session)
    paths: dict[str, tuple[str | None, str]] = session.info.setdefault("tenant_paths", {})
    for ch in pending:
        obj = ch.obj
        tenant_id, tenant_path = _tenant_of(session, obj, paths)
        action = ctx.actions.pop(id(obj), None) or {"created": "create", "updated": "update"}.get(ch.op, "delete")
        session.add(
            AuditEntry(
                id=new_id("aud"),
                tenant_id=tenant_id,
                tenant_path=tenant_path,
                actor=ctx.actor,
                actor_name=ctx.actor_name,
                action=action,
                resource_type=obj.__resource__,
                resource_id=obj.id,
                before=ch.before,
                after=ch.after,
                request_id=ctx.request_id,
                ip=ctx.ip,
            )
        )
        data: dict[str, Any] = {"id": obj.id, "object": ch.after if ch.after is not None else ch.before}
        if ch.op == "updated":
            data["changes"] = ch.changes
        emit(
            session,
            f"{obj.__resource__}.{ch.op}",
            resource_type=obj.__resource__,
            resource_id=obj.id,
            data=data,
            tenant_id=tenant_id,
            tenant_path=tenant_path,
            request_id=ctx.request_id,
        )
        _index_references(session, ch, tenant_id)


def _index_references(session: Session, ch: _Change, tenant_id: str | None) -> None:
    obj = ch.obj
    if not isinstance(obj, TenantOwned) or tenant_id is None:
        return
    if ch.op != "created":
        session.execute(delete(ObjectRef).where(ObjectRef.from_id == obj.id))
    if ch.op == "deleted":
        return
    label = obj.label()
    for field_name, to_type, to_id in obj.outgoing_references():
        session.add(
            ObjectRef(
                tenant_id=tenant_id,
                from_type=obj.__resource__,
                from_id=obj.id,
                field=field_name,
                to_type=to_type,
                to_id=to_id,
                label=label,
            )
        )


def mark_action(session: Session, obj: Resource, action: str) -> None:
    """Label the next audit entry of ``obj`` (e.g. ``suspend``) instead of the generic ``update``."""
    _ctx(session).actions[id(obj)] = action
