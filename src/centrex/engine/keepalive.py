"""NAT keep-alive of registered contacts (docs/sip.md "Keep-alive"): every ``interval`` seconds (setting
``sip_keepalive_seconds``; 0 = off) each live binding gets an OPTIONS at the address its REGISTER came from
(source ip/port/transport; Request-URI = the Contact URI), spread evenly over the interval rather than in a burst.

Any response, even 4xx/5xx, proves the contact alive (and keeps the NAT pinhole open). A ping that is still
unanswered when the binding's next one is due, or that ends in a timeout or transport error, is a failure; after
``failures`` (3) consecutive failures the binding is deleted (``Registrar.drop_binding``, which leaves it alone when
a REGISTER refreshed it meanwhile). A late response still counts: it resets the count.

Bindings of every transport the engine's ``Wire`` sends on are pinged (UDP; TCP, TLS and WebSocket over the phone's
open connection: one that is gone fails like silence). The OPTIONS go through the B2BUA's client transactions
(``send_request``)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select

from centrex.db.models.sip import SipRegistration
from centrex.engine.registrar import Registrar
from centrex.sip.message import Request, Response
from centrex.sip.transport import Source

log = logging.getLogger("centrex.engine.keepalive")
FAILURES = 3
TRANSPORTS = ("udp", "tcp", "tls", "ws", "wss")  # those the engine's Wire sends on

ResponseHandler = Callable[[Response | None], None]


class Sender(Protocol):
    """What the keep-alive needs from the engine: a client transaction per request (``B2bua.send_request``)."""

    def send_request(self, request: Request, dest: Source, handler: ResponseHandler | None = None) -> None: ...


class Addresses(Protocol):
    """The engine's own Via/Contact/host for a destination (``centrex.engine.b2bua.Wire``)."""

    def via(self, dest: Source) -> str: ...

    def contact(self, dest: Source) -> str: ...

    def host_for(self, dest: Source) -> str: ...


@dataclass(frozen=True, slots=True)
class Binding:
    id: str
    aor: str
    contact_uri: str
    dest: Source
    call_id: str  # with cseq: which REGISTER made it (a refresh changes them)
    cseq: int


@dataclass(slots=True)
class _State:
    failures: int = 0
    outstanding: str | None = None  # token of the ping not answered yet
    binding: Binding | None = None
    dropping: bool = False
    seen: int = 0  # the round that last listed the binding


def options_request(binding: Binding, addresses: Addresses) -> Request:
    """The OPTIONS ping for a binding (a new dialog-less request, §11)."""
    dest = binding.dest
    request = Request(method="OPTIONS", uri=binding.contact_uri)
    headers = request.headers
    headers.add("Via", addresses.via(dest))
    headers.add("Max-Forwards", "70")
    host = addresses.host_for(dest)
    host = f"[{host}]" if ":" in host else host
    headers.add("From", f"<sip:keepalive@{host}>;tag={secrets.token_hex(6)}")
    headers.add("To", f"<{binding.aor}>")
    headers.add("Call-ID", f"{secrets.token_hex(12)}@centrex")
    headers.add("CSeq", "1 OPTIONS")
    headers.add("Contact", addresses.contact(dest))
    headers.add("Accept", "application/sdp")
    headers.add("Content-Length", "0")
    return request


class KeepAlive:
    def __init__(
        self,
        registrar: Registrar,
        sender: Sender,
        addresses: Addresses,
        interval: float,
        *,
        failures: int = FAILURES,
        bindings: Callable[[], Awaitable[list[Binding]]] | None = None,
        drop: Callable[[Binding], Awaitable[bool]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.registrar = registrar
        self.sender = sender
        self.addresses = addresses
        self.interval = interval
        self.failures = failures
        self._bindings = bindings or self._load
        self._drop = drop or self._drop_binding
        self._sleep = sleep
        self._states: dict[str, _State] = {}
        self._round = 0
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.pings = 0
        self.dropped = 0

    # ------------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._tasks) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self) -> None:
        await self._sleep(self.interval)  # the first round one interval after start (bindings are fresh then)
        while True:
            try:
                await self.run_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("keep-alive round failed")
                await self._sleep(self.interval)

    # ------------------------------------------------------------------------------------------------ rounds
    async def run_round(self) -> None:
        """Ping every live binding once, spread over one interval (returns after about ``interval`` seconds)."""
        self._round += 1
        bindings = await self._bindings()
        for binding in bindings:
            state = self._states.setdefault(binding.id, _State())
            state.seen = self._round
        for key in [k for k, s in self._states.items() if s.seen != self._round and not s.dropping]:
            del self._states[key]  # gone (expired, unregistered, deleted)
        if not bindings:
            await self._sleep(self.interval)
            return
        step = self.interval / len(bindings)
        for binding in bindings:
            self.ping(binding)
            await self._sleep(step)

    def ping(self, binding: Binding) -> None:
        """Send one OPTIONS; the previous one still unanswered counts as a failure."""
        state = self._states.setdefault(binding.id, _State(seen=self._round))
        if state.dropping:
            return
        if binding != state.binding:  # new, or refreshed by a REGISTER from elsewhere: start counting afresh
            state.binding, state.failures, state.outstanding = binding, 0, None
        if state.outstanding is not None:
            state.outstanding = None
            if self._failed(binding.id, state):
                return
        token = secrets.token_hex(4)
        state.outstanding = token
        self.pings += 1
        self.sender.send_request(
            options_request(binding, self.addresses),
            binding.dest,
            lambda response: self._answered(binding.id, token, response),
        )

    def _answered(self, key: str, token: str, response: Response | None) -> None:
        state = self._states.get(key)
        if state is None or state.dropping:
            return
        if response is not None:
            if response.status < 200:
                return  # wait for the final response
            state.failures = 0
            if state.outstanding == token:
                state.outstanding = None
            return
        if state.outstanding != token:
            return  # already counted when the next ping was due
        state.outstanding = None
        self._failed(key, state)

    def _failed(self, key: str, state: _State) -> bool:
        """Count one failure; True when the binding is now being dropped."""
        state.failures += 1
        binding = state.binding
        if state.failures < self.failures or binding is None:
            return False
        state.dropping = True
        task = asyncio.get_running_loop().create_task(self._remove(key, binding))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _remove(self, key: str, binding: Binding) -> None:
        try:
            dropped = await self._drop(binding)
        except Exception:
            log.exception("could not remove the dead binding %s", binding.contact_uri)
            dropped = False
        finally:
            self._states.pop(key, None)
        if dropped:
            self.dropped += 1
            log.info(
                "removed binding %s of %s: no answer to %d keep-alive pings",
                binding.contact_uri,
                binding.aor,
                self.failures,
            )

    # ------------------------------------------------------------------------------------------------ database
    async def _load(self) -> list[Binding]:
        async with self.registrar.db.session() as session:
            rows = (
                await session.execute(
                    select(
                        SipRegistration.id,
                        SipRegistration.aor,
                        SipRegistration.contact_uri,
                        SipRegistration.source_ip,
                        SipRegistration.source_port,
                        SipRegistration.transport,
                        SipRegistration.call_id,
                        SipRegistration.cseq,
                    )
                    .where(SipRegistration.expires_at > datetime.now(UTC), SipRegistration.transport.in_(TRANSPORTS))
                    .order_by(SipRegistration.id)
                )
            ).all()
        return [
            Binding(r.id, r.aor, r.contact_uri, Source(r.transport, r.source_ip, int(r.source_port)), r.call_id, r.cseq)
            for r in rows
        ]

    async def _drop_binding(self, binding: Binding) -> bool:
        return await self.registrar.drop_binding(binding.id, binding.call_id, binding.cseq)
