"""The durable webhook dispatcher: outbox → deliveries (fan-out) → HTTP attempts with retries → delivery log.

Everything lives in the database, so a restart or a crash loses nothing:

- **Fan-out** reads ``outbox_events`` after the cursor row (``webhook_cursors``), in ``seq`` order, and writes one
  ``webhook_deliveries`` row per matching enabled subscription, in the same transaction as the cursor advance. A
  gap in ``seq`` (on PostgreSQL a transaction that has not committed yet, or one that rolled back) stops the batch
  until the gap is ``GAP_WAIT`` old, so that a late commit is not skipped.
- **Delivery** claims due deliveries with a lease (``lease_until``; PostgreSQL ``FOR UPDATE SKIP LOCKED``, SQLite
  one ``UPDATE … RETURNING`` under the process write lock), sends them without holding a database session, and
  records each attempt. A worker that dies leaves a lease that expires; the delivery is then claimed again.
  Endpoints with ``ordered`` get one delivery at a time, in event order (a later event waits for the earlier one to
  succeed or fail for good).
- **Retries**: exponential backoff with full jitter (``backoff``) up to ``webhook_max_attempts``.
- **Disabling**: after ``webhook_disable_after_failures`` consecutive failed deliveries, or when every attempt has
  failed for ``webhook_disable_after_seconds``, the endpoint is disabled and a ``webhook.disabled`` event written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from centrex.config import Settings
from centrex.db.engine import Database
from centrex.db.models.outbox import OutboxEvent
from centrex.db.models.tenant import Tenant
from centrex.db.models.webhooks import Webhook, WebhookAttempt, WebhookCursor, WebhookDelivery
from centrex.db.tracking import Changes
from centrex.db.types import utcnow
from centrex.domain.ids import new_id
from centrex.events.bus import Event as BusEvent
from centrex.events.outbox import emit
from centrex.security.secrets import default_box
from centrex.webhooks import backoff, matching
from centrex.webhooks.sender import AttemptResult, new_client, send

log = logging.getLogger("centrex.webhooks")

CURSOR_ID = "fanout"
FANOUT_BATCH = 500
CLAIM_BATCH = 50
GAP_WAIT = timedelta(seconds=10)
IDLE_RECHECK_SECONDS = 300.0
# Health columns are updated with plain SQL (no audit entry or event per attempt).
WEBHOOKS = cast(Table, Webhook.__table__)


@contextlib.asynccontextmanager
async def write_session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session for one write transaction (on SQLite under the process write lock, like a unit of work)."""
    lock = db.write_lock
    if lock is not None:
        await lock.acquire()
    try:
        async with db.session() as session:
            yield session
    finally:
        if lock is not None:
            lock.release()


def webhook_secrets(webhook: Webhook, now: datetime | None = None) -> list[str]:
    """The secrets to sign with: the current one, and the previous one while its overlap lasts."""
    box = default_box()
    out = [box.decrypt(webhook.secret_enc)]
    now = now or utcnow()
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret_enc and expires is not None and expires > now:
        out.append(box.decrypt(webhook.previous_secret_enc))
    return out


# ------------------------------------------------------------------------------------------------------ fan-out
async def fan_out(db: Database, batch: int = FANOUT_BATCH) -> int:
    """Turn the next outbox events into deliveries; the number of events consumed (0: nothing new)."""
    async with write_session(db) as session:
        cursor = await session.get(WebhookCursor, CURSOR_ID, with_for_update=True)
        if cursor is None:
            cursor = WebhookCursor(id=CURSOR_ID, last_seq=0)
            session.add(cursor)
        last = cursor.last_seq
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.seq > last).order_by(OutboxEvent.seq).limit(batch)
            )
        ).all()
        if not events:
            return 0
        rows = await session.execute(
            select(Webhook, Tenant.path).join(Tenant, Tenant.id == Webhook.tenant_id).where(Webhook.enabled.is_(True))
        )
        subs = [
            matching.Subscription(
                id=wh.id,
                tenant_id=wh.tenant_id,
                tenant_path=path,
                patterns=tuple(wh.event_types or ()),
                include_children=wh.include_children,
                system=wh.system,
                created_at=wh.created_at,
            )
            for wh, path in rows.all()
        ]
        now = utcnow()
        consumed = 0
        due = now
        for ev in events:
            if ev.seq != last + 1 and now - ev.occurred_at < GAP_WAIT:
                break  # an earlier seq may still commit: wait for it (or for the gap to age)
            event = matching.Event(ev.seq, ev.id, ev.type, ev.tenant_id, ev.tenant_path, ev.occurred_at)
            targets = [s for s in subs if matching.receives(s, event)]
            if targets:
                payload = matching.body(BusEvent.of(ev).envelope())
                for sub in targets:
                    session.add(
                        WebhookDelivery(
                            id=new_id("whd"),
                            webhook_id=sub.id,
                            tenant_id=sub.tenant_id,
                            event_id=ev.id,
                            event_seq=ev.seq,
                            event_type=ev.type,
                            body=payload,
                            status="pending",
                            attempts=0,
                            next_attempt_at=due,
                        )
                    )
            last = ev.seq
            consumed += 1
        if consumed:
            cursor.last_seq = last
            await session.commit()
        return consumed


async def skip_to_end(db: Database) -> None:
    """With no enabled webhook, nothing in the outbox is due to anyone: move the cursor to its end (so that the
    first webhook created later does not make the fan-out scan a long history it would skip anyway)."""
    async with write_session(db) as session:
        cursor = await session.get(WebhookCursor, CURSOR_ID, with_for_update=True)
        top = await session.scalar(select(func.max(OutboxEvent.seq)))
        # Checked after reading ``top`` (in this transaction): a webhook committed before any event up to ``top``
        # is seen here, and then nothing is skipped.
        if await session.scalar(select(Webhook.id).where(Webhook.enabled.is_(True)).limit(1)) is not None:
            return
        if cursor is None:
            session.add(WebhookCursor(id=CURSOR_ID, last_seq=int(top or 0)))
        elif top is not None and top > cursor.last_seq:
            cursor.last_seq = int(top)
        else:
            return
        await session.commit()


# ------------------------------------------------------------------------------------------------------ claims
@dataclass
class Claimed:
    delivery_id: str
    webhook_id: str
    event_id: str
    body: str
    attempt: int
    url: str
    secrets: list[str]


def _claimable(now: datetime, postgres: bool, limit: int) -> Any:
    """The ids of due, unleased deliveries of enabled endpoints (ordered endpoints: only their oldest pending)."""
    d = aliased(WebhookDelivery, name="d")
    earlier = aliased(WebhookDelivery, name="earlier")
    w = aliased(Webhook, name="w")
    blocked = exists().where(
        earlier.webhook_id == d.webhook_id,
        earlier.status == "pending",
        earlier.id != d.id,
        or_(
            earlier.event_seq < d.event_seq,
            and_(earlier.event_seq == d.event_seq, earlier.created_at < d.created_at),
        ),
    )
    stmt = (
        select(d.id)
        .join(w, w.id == d.webhook_id)
        .where(
            d.status == "pending",
            d.next_attempt_at <= now,
            or_(d.lease_until.is_(None), d.lease_until < now),
            w.enabled.is_(True),
            or_(w.ordered.is_(False), ~blocked),
        )
        .order_by(d.next_attempt_at, d.event_seq)
        .limit(limit)
    )
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True, of=d)
    return stmt


async def claim(db: Database, lease_seconds: float, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to this worker."""
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    async with write_session(db) as session:
        ids = list(
            await session.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(_claimable(now, not db.is_sqlite, limit).scalar_subquery()))
                .values(lease_until=until)
                .returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not ids:
            await session.rollback()
            return []
        rows = (
            await session.execute(
                select(WebhookDelivery, Webhook)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.id.in_(ids))
            )
        ).all()
        out = []
        for delivery, webhook in rows:
            try:
                keys = webhook_secrets(webhook, now)
            except Exception:  # a secret that cannot be decrypted (key changed): fail the attempt, don't crash
                log.exception("cannot decrypt the secret of webhook %s", webhook.id)
                keys = []
            out.append(
                Claimed(
                    delivery.id,
                    webhook.id,
                    delivery.event_id,
                    delivery.body,
                    delivery.attempts + 1,
                    webhook.url,
                    keys,
                )
            )
        await session.commit()
    out.sort(key=lambda c: c.delivery_id)
    return out


# ------------------------------------------------------------------------------------------------------ recording
def attempt_row(delivery_id: str, attempt: int, result: AttemptResult) -> WebhookAttempt:
    return WebhookAttempt(
        id=new_id("wha"),
        delivery_id=delivery_id,
        attempt=attempt,
        started_at=datetime.fromtimestamp(result.started_at, UTC),
        url=result.url,
        request_headers=result.request_headers,
        request_body=result.request_body,
        response_status=result.status,
        response_body=result.response_body,
        latency_ms=result.latency_ms,
        error=result.error,
        success=result.success,
    )


async def record(db: Database, settings: Settings, outcomes: Sequence[tuple[Claimed, AttemptResult]]) -> None:
    """Store the attempts and their consequences (done, retry later, failed for good, endpoint disabled)."""
    if not outcomes:
        return
    now = utcnow()
    async with write_session(db) as session:
        for claimed, result in outcomes:
            session.add(attempt_row(claimed.delivery_id, claimed.attempt, result))
            values: dict[str, Any] = {
                "attempts": claimed.attempt,
                "lease_until": None,
                "last_status_code": result.status,
                "last_error": result.error,
                "updated_at": now,
            }
            final_failure = False
            if result.success:
                values.update(status="succeeded", completed_at=now, next_attempt_at=None)
            elif claimed.attempt >= settings.webhook_max_attempts:
                values.update(status="failed", completed_at=now, next_attempt_at=None)
                final_failure = True
            else:
                wait = backoff.delay(
                    claimed.attempt, settings.webhook_backoff_base_seconds, settings.webhook_backoff_max_seconds
                )
                values.update(next_attempt_at=now + timedelta(seconds=wait))
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == claimed.delivery_id, WebhookDelivery.status == "pending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await _endpoint_health(session, settings, claimed.webhook_id, result.success, final_failure, now)
        await session.commit()


async def _endpoint_health(
    session: AsyncSession, settings: Settings, webhook_id: str, success: bool, final_failure: bool, now: datetime
) -> None:
    table = WEBHOOKS
    if success:
        await session.execute(
            update(table)
            .where(table.c.id == webhook_id)
            .values(consecutive_failures=0, failing_since=None, last_success_at=now, updated_at=table.c.updated_at)
        )
        return
    await session.execute(
        update(table)
        .where(table.c.id == webhook_id)
        .values(
            consecutive_failures=table.c.consecutive_failures + (1 if final_failure else 0),
            failing_since=func.coalesce(table.c.failing_since, now),
            last_failure_at=now,
            updated_at=table.c.updated_at,
        )
    )
    row = (
        await session.execute(
            select(table.c.enabled, table.c.consecutive_failures, table.c.failing_since, table.c.tenant_id).where(
                table.c.id == webhook_id
            )
        )
    ).first()
    if row is None or not row.enabled:
        return
    since = row.failing_since
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    reason = None
    if row.consecutive_failures >= settings.webhook_disable_after_failures:
        reason = f"{row.consecutive_failures} consecutive deliveries failed"
    elif since is not None and (now - since).total_seconds() >= settings.webhook_disable_after_seconds:
        reason = f"every delivery attempt failed since {since.isoformat()}"
    if reason:
        await disable(session, webhook_id, row.tenant_id, reason, now, row.consecutive_failures)


async def disable(
    session: AsyncSession, webhook_id: str, tenant_id: str, reason: str, now: datetime, failures: int = 0
) -> None:
    """Disable an endpoint that keeps failing and write the ``webhook.disabled`` event."""
    table = WEBHOOKS
    await session.execute(
        update(table)
        .where(table.c.id == webhook_id)
        .values(enabled=False, disabled_reason=reason[:300], disabled_at=now, updated_at=now)
    )
    path = await session.scalar(select(Tenant.path).where(Tenant.id == tenant_id))
    url = await session.scalar(select(table.c.url).where(table.c.id == webhook_id))
    emit(
        session.sync_session,
        "webhook.disabled",
        resource_type="webhook",
        resource_id=webhook_id,
        data={
            "id": webhook_id,
            "url": url,
            "reason": reason,
            "consecutive_failures": failures,
            "disabled_at": now.isoformat().replace("+00:00", "Z"),
        },
        tenant_id=tenant_id,
        tenant_path=str(path or ""),
    )
    log.warning("webhook %s disabled: %s", webhook_id, reason)


# ------------------------------------------------------------------------------------------------------ worker
async def deliver(client: httpx.AsyncClient, settings: Settings, claimed: Claimed) -> AttemptResult:
    if not claimed.secrets:
        return AttemptResult(
            url=claimed.url, request_headers={}, request_body="", error="the endpoint's secret cannot be decrypted"
        )
    try:
        return await send(
            client,
            claimed.url,
            claimed.event_id,
            claimed.body,
            claimed.secrets,
            allow_private=settings.webhook_allow_private,
            timeout_seconds=settings.webhook_timeout_seconds,
        )
    except Exception as exc:  # one odd delivery must not stop the batch (its lease would keep coming back)
        log.exception("webhook delivery %s failed unexpectedly", claimed.delivery_id)
        return AttemptResult(url=claimed.url, request_headers={}, request_body="", error=f"internal error: {exc}"[:500])


async def deliver_due(db: Database, settings: Settings, client: httpx.AsyncClient) -> int:
    """Claim, send and record one batch of due deliveries; the number sent."""
    batch = await claim(db, settings.webhook_lease_seconds)
    if not batch:
        return 0
    results = await asyncio.gather(*(deliver(client, settings, c) for c in batch))
    await record(db, settings, list(zip(batch, results, strict=True)))
    return len(batch)


async def run_once(db: Database, settings: Settings, client: httpx.AsyncClient | None = None) -> tuple[int, int]:
    """Fan out everything new, then send everything due (tests and tools): ``(events, attempts)``."""
    own = client is None
    http = client or new_client()
    try:
        events = 0
        while True:
            n = await fan_out(db)
            events += n
            if n < FANOUT_BATCH:
                break
        sent = 0
        while True:
            n = await deliver_due(db, settings, http)
            sent += n
            if n < CLAIM_BATCH:
                break
        return events, sent
    finally:
        if own:
            await http.aclose()


class WebhookWorker:
    """The background task of ``centrex serve``: fan-out and delivery, woken by commits, polling for retries.

    While no enabled webhook exists it runs no query at all (a commit touching ``webhooks`` wakes it up).
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.active = False
        self._recheck = True
        self._wake = asyncio.Event()
        self._client: httpx.AsyncClient | None = None

    def on_commit(self, changes: Changes) -> None:
        """Commit hook: new events or deliveries wake the worker; webhook changes make it re-check."""
        if "webhooks" in changes.tables:
            self._recheck = True
            self._wake.set()
        elif self.active and ("outbox_events" in changes.tables or "webhook_deliveries" in changes.tables):
            self._wake.set()

    async def _any_enabled(self) -> bool:
        async with self.db.session() as session:
            found = await session.scalar(select(Webhook.id).where(Webhook.enabled.is_(True)).limit(1))
        return found is not None

    async def step(self) -> int:
        """One round: the number of events fanned out plus attempts made."""
        if self._recheck:
            self._recheck = False
            self.active = await self._any_enabled()
            if not self.active:
                await skip_to_end(self.db)
        if not self.active:
            return 0
        assert self._client is not None
        done = await fan_out(self.db)
        done += await deliver_due(self.db, self.settings, self._client)
        return done

    async def run(self) -> None:
        self._client = new_client()
        try:
            while True:
                self._wake.clear()
                busy = 0
                try:
                    busy = await self.step()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("webhook dispatcher round failed")
                if busy:
                    await asyncio.sleep(0)
                    continue
                timeout = self.settings.webhook_poll_seconds if self.active else IDLE_RECHECK_SECONDS
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    if not self.active:
                        self._recheck = True
        finally:
            await self._client.aclose()
