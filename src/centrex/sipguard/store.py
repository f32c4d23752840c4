"""Persistence of bans in the ``sip_bans`` table, through an ``AsyncSession`` the caller owns (and commits).

``BanEntry`` times are POSIX seconds; the table holds aware UTC datetimes. ``sip_bans`` is a plain table (not a
``Resource``): writes here are not audited and emit no events — the engine writes at attack speed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.db.models.sip import SipBan
from centrex.domain.ids import new_id
from centrex.sipguard.bans import BanEntry


def to_datetime(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _ts(dt: datetime | float) -> float:
    return dt if isinstance(dt, float | int) else dt.timestamp()


def entry_of(row: SipBan) -> BanEntry:
    return BanEntry(
        source=row.source_ip,
        reason=row.reason,
        created_at=row.created_at.timestamp(),
        expires_at=row.expires_at.timestamp() if row.expires_at else None,
        created_by=row.created_by,
        id=row.id,
    )


async def load_active_bans(session: AsyncSession, now: datetime | float) -> list[BanEntry]:
    """Every ban in force at ``now`` (aware datetime or POSIX seconds), oldest first."""
    at = to_datetime(_ts(now))
    rows = await session.scalars(
        select(SipBan).where(or_(SipBan.expires_at.is_(None), SipBan.expires_at > at)).order_by(SipBan.created_at)
    )
    return [entry_of(row) for row in rows]


async def persist_ban(session: AsyncSession, ban: BanEntry) -> BanEntry:
    """Store ``ban`` (insert; or update the row ``ban.id`` when it exists) and return it with its row id.

    The caller commits. An engine ban of a source that already has an active engine ban row updates that row
    instead of adding another (an IP re-banned after expiry gets a new row; history stays)."""
    row: SipBan | None = None
    if ban.id is not None:
        row = await session.get(SipBan, ban.id)
    if row is None and ban.created_by == "engine":
        row = await session.scalar(
            select(SipBan)
            .where(SipBan.source_ip == ban.source, SipBan.created_by == "engine")
            .where(or_(SipBan.expires_at.is_(None), SipBan.expires_at > to_datetime(ban.created_at)))
            .limit(1)
        )
    if row is None:
        row = SipBan(id=ban.id or new_id("ban"), source_ip=ban.source, created_at=to_datetime(ban.created_at))
        session.add(row)
    row.reason = ban.reason[:200]
    row.created_by = ban.created_by[:64]
    row.expires_at = to_datetime(ban.expires_at)
    await session.flush()
    return ban.with_id(row.id)


async def delete_expired(session: AsyncSession, before: datetime | float) -> int:
    """Delete ban rows that expired before ``before``; returns how many (housekeeping)."""
    result = await session.execute(
        delete(SipBan).where(SipBan.expires_at.is_not(None), SipBan.expires_at <= to_datetime(_ts(before)))
    )
    return int(getattr(result, "rowcount", 0) or 0)
