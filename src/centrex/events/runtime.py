"""The event machinery of one process: the bus (in-process or NATS JetStream) and the outbox relay.

``create_app`` builds one ``EventRuntime``, starts it in the lifespan (after migrations) and stops it before the
database is closed; the stream endpoints reach it as ``request.app.state.events``.
"""

from __future__ import annotations

from typing import Any

from centrex.config import Settings
from centrex.db.engine import Database
from centrex.events.bus import Bus, InProcessBus
from centrex.events.relay import Relay


class EventRuntime:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        retention = settings.events_retention_days * 86400.0
        self.bus: Bus
        if settings.nats_url:
            from centrex.events.natsbus import NatsBus

            self.bus = NatsBus(
                settings.nats_url,
                stream=settings.nats_stream,
                prefix=settings.nats_subject_prefix,
                retention_seconds=retention,
                maxsize=settings.events_subscriber_queue,
            )
        else:
            self.bus = InProcessBus(settings.events_subscriber_queue)
        self.relay = Relay(db, self.bus, poll_interval=settings.events_relay_poll_seconds, retention_seconds=retention)
        self.keepalive = settings.events_keepalive_seconds
        self.queue_size = settings.events_subscriber_queue
        self.started = False

    async def start(self) -> None:
        await self.bus.start()
        self.relay.start()
        self.started = True

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        await self.relay.stop()
        await self.bus.stop()

    async def prune(self) -> None:
        await self.relay.prune()


def runtime_of(app_state: Any) -> EventRuntime:
    runtime = getattr(app_state, "events", None)
    if not isinstance(runtime, EventRuntime):
        raise RuntimeError("the event runtime is not installed (create_app sets app.state.events)")
    return runtime
