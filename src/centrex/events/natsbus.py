"""The NATS JetStream bus (``CENTREX_NATS_URL``): events shared by every ``centrex serve`` process.

- The stream (``CENTREX_EVENTS`` by default) holds subjects ``<prefix>.<tenant_id>.<type>`` (``platform`` for
  events without a tenant), kept for the retention window; it is created when missing.
- ``publish`` waits for the JetStream acknowledgement and sets ``Nats-Msg-Id`` to the event id, so a republished
  event (at-least-once relay) is dropped by the server inside its duplicate window.
- Local subscribers (SSE/WebSocket clients of this process) are fed by one ordered push consumer per process that
  starts at the newest message: events published by any process's relay reach every process's clients.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from centrex.events.bus import Event, InProcessBus, Match, Subscription

log = logging.getLogger("centrex.events")


def subject_token(value: str) -> str:
    """A subject token: NATS separates on ``.`` and reserves ``*``, ``>`` and whitespace."""
    return "".join("_" if ch in ".*> \t\r\n" else ch for ch in value) or "_"


class NatsBus:
    def __init__(
        self,
        url: str,
        *,
        stream: str = "CENTREX_EVENTS",
        prefix: str = "centrex.events",
        retention_seconds: float = 7 * 86400.0,
        maxsize: int = 1000,
        duplicate_window: float = 120.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.prefix = prefix.rstrip(".")
        self.retention_seconds = retention_seconds
        self.duplicate_window = min(duplicate_window, retention_seconds)
        self.local = InProcessBus(maxsize)
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self.published = 0
        self.received = 0

    def subject(self, event: Event) -> str:
        tenant = subject_token(event.tenant_id or "platform")
        kind = ".".join(subject_token(part) for part in event.type.split("."))
        return f"{self.prefix}.{tenant}.{kind}"

    async def start(self) -> None:
        import nats
        from nats.js.api import DeliverPolicy, StreamConfig
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(
            self.url, name="centrex", max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=5
        )
        self._js = self._nc.jetstream()
        config = StreamConfig(
            name=self.stream,
            subjects=[f"{self.prefix}.>"],
            max_age=self.retention_seconds,
            duplicate_window=self.duplicate_window,
        )
        try:
            await self._js.stream_info(self.stream)
            await self._js.update_stream(config)
        except NotFoundError:
            await self._js.add_stream(config)
        self._sub = await self._js.subscribe(
            f"{self.prefix}.>",
            stream=self.stream,
            cb=self._received,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
            idle_heartbeat=5.0,
        )
        log.info("event bus: NATS JetStream %s stream %s", self.url, self.stream)

    async def _received(self, msg: Any) -> None:
        try:
            event = Event.from_json(msg.data)
        except Exception:
            log.warning("ignored a malformed message on %s", getattr(msg, "subject", "?"))
            return
        self.received += 1
        self.local.deliver(event)

    async def stop(self) -> None:
        await self.local.stop()
        nc, self._nc = self._nc, None
        if nc is not None:
            try:
                if self._sub is not None:
                    await self._sub.unsubscribe()
                await asyncio.wait_for(nc.drain(), 5.0)
            except Exception:
                await nc.close()

    async def publish(self, event: Event) -> None:
        if self._js is None:
            raise RuntimeError("NATS bus not started")
        await self._js.publish(
            self.subject(event), event.to_json(), stream=self.stream, headers={"Nats-Msg-Id": event.id}, timeout=5.0
        )
        self.published += 1

    def subscribe(self, match: Match | None = None, maxsize: int | None = None) -> Subscription:
        return self.local.subscribe(match, maxsize)
