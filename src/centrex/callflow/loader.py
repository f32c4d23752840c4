"""Reads one tenant's routing configuration from the database into a ``TenantSnapshot`` (one query per table, Core
rows, no ORM objects), and the save-time loop check that services call after flushing their change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.callflow.guard import find_static_loop
from centrex.callflow.snapshot import Row, TenantSnapshot
from centrex.db.models import (
    CallerIdBlock,
    Conference,
    Extension,
    InboundRoute,
    Ivr,
    MediaFile,
    OutboundRoute,
    PhoneNumber,
    Queue,
    QueueAgent,
    RingGroup,
    Tenant,
    TimeCondition,
    Trunk,
    VoicemailBox,
)
from centrex.domain.errors import InvalidInput
from centrex.domain.tenancy import TenantScope

_SKIP = frozenset(
    {
        "created_at",
        "updated_at",
        "version",
        "tenant_id",
        "sip_password_enc",
        "voicemail_pin_hash",
        "pin_hash",
        "password_enc",
        "participant_pin_enc",
        "moderator_pin_enc",
    }
)


async def _rows(session: AsyncSession, model: Any, *where: Any, keep: frozenset[str] = frozenset()) -> list[Row]:
    table: Table = model.__table__
    cols = [c for c in table.columns if c.name not in _SKIP or c.name in keep]
    result = await session.execute(select(*cols).where(*where))
    return [dict(r._mapping) for r in result]


async def load(session: AsyncSession, tenant_id: str) -> TenantSnapshot | None:
    tenant = (await session.execute(select(Tenant).where(Tenant.id == tenant_id))).scalar_one_or_none()
    if tenant is None:
        return None
    ancestors = [p for p in tenant.path.strip("/").split("/") if p and p != tenant_id]
    status = tenant.status
    if ancestors and status == "active":
        suspended = await session.scalar(
            select(Tenant.id).where(Tenant.id.in_(ancestors), Tenant.status == "suspended").limit(1)
        )
        status = "suspended" if suspended else status
    snap = TenantSnapshot(
        tenant_id=tenant.id,
        tenant_code=tenant.code,
        status=status,
        timezone=tenant.timezone,
        language=tenant.language,
        extension_length=tenant.extension_length,
        allowed_classes=frozenset(tenant.allowed_destination_classes or ()),
        emergency_location=tenant.emergency_location,
        max_concurrent_calls=tenant.max_concurrent_calls,
        max_calls_per_second=tenant.max_calls_per_second,
    )
    mine = tenant_id

    def own(model: Any) -> Any:
        return model.tenant_id == mine

    for row in await _rows(session, Extension, own(Extension)):
        snap.extensions[row["id"]] = row
        snap.dial_plan[row["number"]] = ("extension", row["id"])
    for kind, model, target in (
        ("ring_group", RingGroup, snap.ring_groups),
        ("queue", Queue, snap.queues),
        ("ivr", Ivr, snap.ivrs),
        ("conference", Conference, snap.conferences),
    ):
        for row in await _rows(session, model, own(model)):
            target[row["id"]] = row
            if row.get("number"):
                snap.dial_plan.setdefault(row["number"], (kind, row["id"]))
    pins = await session.execute(
        select(
            Conference.id, Conference.participant_pin_enc.is_not(None), Conference.moderator_pin_enc.is_not(None)
        ).where(own(Conference))
    )
    for conf_id, participant, moderator in pins:
        snap.conferences[conf_id]["has_pin"] = bool(participant or moderator)
    for row in await _rows(session, QueueAgent, own(QueueAgent)):
        snap.queue_agents.setdefault(row["queue_id"], []).append(row)
    for agents in snap.queue_agents.values():
        agents.sort(key=lambda a: (a["position"], a["penalty"], a["id"]))
    for row in await _rows(session, TimeCondition, own(TimeCondition)):
        snap.time_conditions[row["id"]] = row
    for row in await _rows(session, VoicemailBox, own(VoicemailBox)):
        snap.voicemail_boxes[row["id"]] = row
        snap.boxes_by_number[row["number"]] = row["id"]
        if row.get("owner_extension_id"):
            snap.personal_box[row["owner_extension_id"]] = row["id"]
    for row in await _rows(session, MediaFile, own(MediaFile)):
        snap.media[row["id"]] = row
    trunk_where = or_(own(Trunk), Trunk.tenant_id.in_(ancestors) & Trunk.shared.is_(True)) if ancestors else own(Trunk)
    # Trunks keep their owner: shared trunks of the tenants above come after the tenant's own (emergency route).
    for row in await _rows(session, Trunk, trunk_where, keep=frozenset({"tenant_id"})):
        snap.trunks[row["id"]] = row
    numbers = {r["id"]: r for r in await _rows(session, PhoneNumber, own(PhoneNumber))}
    snap.numbers = {r["number"]: r for r in numbers.values()}
    for row in sorted(await _rows(session, InboundRoute, own(InboundRoute)), key=lambda r: (r["priority"], r["id"])):
        if not row["enabled"]:
            continue
        number = numbers.get(row["number_id"] or "")
        if number is not None:
            snap.inbound_by_number[number["number"]] = row
        elif row.get("pattern"):
            snap.inbound_patterns.append(row)
    snap.outbound_routes = sorted(
        (r for r in await _rows(session, OutboundRoute, own(OutboundRoute)) if r["enabled"]),
        key=lambda r: (not r["emergency"], r["priority"], r["id"]),
    )
    snap.caller_id_blocks = await _rows(session, CallerIdBlock, own(CallerIdBlock))
    return snap


async def ensure_no_static_loop(session: AsyncSession, scope: TenantScope) -> None:
    """Call after flushing a change to anything with destinations: refuses (422 ``static_loop``) a configuration in
    which calls would go round forever without any caller action."""
    snap = await load(session, scope.tenant_id)
    if snap is None:
        return
    loop = find_static_loop(snap)
    if loop:
        raise StaticLoop("This change makes calls loop forever without any caller action: " + " ".join(loop), loop=loop)


class StaticLoop(InvalidInput):
    code = "static_loop"
    title = "Call-flow loop"
