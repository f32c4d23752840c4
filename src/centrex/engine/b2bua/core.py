"""``B2bua``: drives the transactions of both sides of a call (``centrex.sip.transaction``), the dialogs
(``centrex.sip.dialog``), the call flow (``centrex.callflow.resolver``) and the CDR of each call.

- New INVITE from a trunk address (``trunks.TrunkIndex``): the dialled number must be the trunk tenant's DID; the
  inbound route decides. From anyone else: proxy digest auth (407) as an extension, then the dialled number is
  resolved (internal numbers, outbound routes with permissions, emergency numbers).
- A resolver step is rung by a plan of stages (``plan``): every binding of an extension at once (forking); ring group
  members by strategy; trunks in failover order (digest answered with the trunk's credentials). When a plan fails,
  the step's fallback (busy / no answer / unreachable forwarding, a group's no-answer destination) is followed, up to
  ``MAX_STEPS`` steps. Steps that need media answer 480 with a Warning.
- B responses: the first 180/183 relayed (one branch's early media), the first 2xx wins (the other branches are
  cancelled; a late 2xx is ACKed and BYEd), failures relayed as the best status of the branches (§16.7).
- In a call: re-INVITE, UPDATE and INFO are relayed to the other leg (hold/resume, codec changes, session refresh),
  with their responses and ACKs; RFC 4028 session timers pass end to end and the engine ends a call whose session
  interval passes without a refresh. BYE ends both legs; CANCEL before the answer ends every branch.
- Media (``anchor`` given: the built-in relay or rtpengine, ``centrex.media.anchor``): one session per call, every SDP
  rewritten to it; an answered call without RTP either way for ``media_timeout`` seconds is hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from centrex.callflow import resolver
from centrex.callflow.cache import CallFlowCache
from centrex.callflow.snapshot import TenantSnapshot
from centrex.cdr import writer
from centrex.db.engine import Database
from centrex.db.models.sip import SipRegistration
from centrex.domain.ids import new_id
from centrex.engine.b2bua import trunks
from centrex.engine.b2bua.call import (
    Branch,
    Call,
    a_response,
    b_invite,
    copy_body,
    new_tag,
    session_interval,
    supports_timer,
)
from centrex.engine.b2bua.plan import (
    Plan,
    Stage,
    Target,
    best_status,
    group_stages,
    may_continue,
    order_members,
    outcome_of,
    trunk_stages,
)
from centrex.engine.b2bua.policy import NOT_YET, disposition_of, refusal, relayed_status, warning
from centrex.engine.b2bua.wire import WILDCARDS, Wire
from centrex.engine.registrar import Registrar
from centrex.media.anchor import LegName, MediaAnchor
from centrex.media.rtp import RelayError
from centrex.sip.dialog import Dialog, DialogError
from centrex.sip.message import Headers, ParseError, Request, Response, SipUri, parse_addresses, parse_uri
from centrex.sip.sdp import Direction, Origin, SdpError, SessionDescription, build_answer
from centrex.sip.transaction import (
    DEFAULT_TIMERS,
    Action,
    PassToTU,
    Terminated,
    TimeoutToTU,
    TimerConfig,
    Transaction,
    TransactionError,
    TransactionKey,
    TransactionTable,
    Transmit,
    TransportErrorToTU,
    build_cancel,
)
from centrex.sip.transaction._fields import tag
from centrex.sip.transport import Source
from centrex.sip.transport.base import reply

log = logging.getLogger("centrex.engine.b2bua")
METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "UPDATE", "INFO", "REFER"})
RELAYED = frozenset({"INVITE", "UPDATE", "INFO"})  # in-dialog requests passed to the other leg
TICK_SECONDS = 0.02  # the transaction timers' resolution (see _tick_loop)
LINGER_SECONDS = 32.0  # a call's state outlives its end this long (late retransmissions)
MAX_STEPS = 8  # call-flow steps one call may go through (forwarding chains)
TRUNK_RING_SECONDS = 180.0  # a trunk branch rings at most this long

ResponseHandler = Callable[[Response | None], None]
RUNNING: weakref.WeakSet[B2bua] = weakref.WeakSet()  # started engines of this process (live state for the API)


def for_database(db: Database) -> B2bua | None:
    """The B2BUA running on ``db`` in this process (None when SIP is off or not started)."""
    return next((b for b in list(RUNNING) if b.db is db and b.running), None)


def _now() -> float:
    return time.monotonic()


@dataclass(frozen=True)
class _Asked:
    """An in-dialog request the engine sent and its final (2xx) response."""

    request: Request
    response: Response


class ControlError(Exception):
    """A command on a call that cannot be carried out now (``status``: 409 state, 422 destination)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class B2bua:
    def __init__(
        self,
        db: Database,
        registrar: Registrar,
        wire: Wire,
        callflow: CallFlowCache,
        timers: TimerConfig = DEFAULT_TIMERS,
        anchor: MediaAnchor | None = None,
        media_ip: str = "",
        media_timeout: float = 0.0,
    ) -> None:
        self.db = db
        self.anchor = anchor
        self.media_ip = media_ip  # the built-in relay's address ('' or a wildcard: the SIP address towards the phone)
        self.media_timeout = media_timeout  # hang up an answered call after this long without media (0: never)
        self.registrar = registrar
        self.wire = wire
        self.callflow = callflow
        self.timers = timers
        self.trunks = trunks.TrunkIndex(db)
        self.table = TransactionTable(timers)
        self.routes: dict[TransactionKey, Source] = {}  # where a transaction's messages go
        self.owners: dict[TransactionKey, ResponseHandler] = {}  # who gets a client transaction's responses
        self.by_invite: dict[TransactionKey, Call] = {}  # A INVITE server transaction → call
        self.a_calls: dict[tuple[str, str], Call] = {}  # (A Call-ID, our To tag) → call
        self.b_calls: dict[str, tuple[Call, Branch]] = {}  # branch Call-ID → call, branch
        self.calls: set[Call] = set()  # calls not forgotten yet (ended ones linger)
        self.rotation: dict[str, int] = {}  # ring group → round-robin start
        self.idle_since: dict[str, float] = {}  # extension id → when it last finished a call (longest idle)
        self._reinvites: dict[tuple[str, int], Callable[[Request], None]] = {}  # (Call-ID, CSeq) → ACK relay
        self._cps: dict[str, tuple[float, float]] = {}  # tenant → (tokens, monotonic time) of the per-second cap
        self.running = False
        self._wake = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._timer_task = asyncio.get_running_loop().create_task(self._tick_loop())
        self.running = True
        RUNNING.add(self)

    async def stop(self) -> None:
        self.running = False
        RUNNING.discard(self)
        tasks = [t for t in (self._timer_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _tick_loop(self) -> None:
        """Fire due transaction timers. Every pass walks the transaction table, so passes are at least
        ``TICK_SECONDS`` apart (a burst of messages costs one pass, not one per message); timers fire that much late
        at most, far inside SIP's tolerances (T1 = 500 ms)."""
        while True:
            self._wake.clear()
            deadline = self.table.next_deadline()
            delay = 1.0 if deadline is None else min(1.0, max(0.0, deadline - _now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            for tx, actions in self.table.tick(_now()):
                self._run(tx, actions)
            self._check_media(_now())
            await asyncio.sleep(TICK_SECONDS)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _serial(self, call: Call, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after the call's earlier work (responses and requests of one call are handled in order)."""
        previous = call.work

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await work()
            except Exception:
                log.exception("call handling failed (Call-ID %s)", call.a_call_id)

        call.work = self._spawn(run())

    # ------------------------------------------------------------------------------------------------ actions
    def _run(self, tx: Transaction, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                dest = self.routes.get(tx.key)
                if dest is None:
                    continue
                if isinstance(action.message, Response):
                    self.wire.reply(action.message, dest)
                elif not self.wire.send(action.message, dest) and dest.transport != "udp":
                    # the peer's connection is gone (or we cannot open one): the transaction fails now (§17.1.4)
                    self._run(tx, tx.transport_error(_now()))
                    return
            elif isinstance(action, PassToTU):
                handler = self.owners.get(tx.key)
                if handler is not None and isinstance(action.message, Response):
                    handler(action.message)
            elif isinstance(action, TimeoutToTU | TransportErrorToTU):
                handler = self.owners.get(tx.key)
                if handler is not None:
                    handler(None)
            elif isinstance(action, Terminated):
                self.table.forget(tx)
                self.routes.pop(tx.key, None)
                self.owners.pop(tx.key, None)
        self._wake.set()

    def _server_tx(self, request: Request, source: Source) -> Transaction | None:
        """A new server transaction for ``request`` (None when it cannot make one: answered 400 statelessly)."""
        try:
            tx = self.table.new_server(request, reliable=source.transport != "udp")
        except TransactionError:
            self.wire.reply(reply(request, 400, "Bad Request"), source)
            return None
        self.routes[tx.key] = source
        self._run(tx, tx.receive_request(request, _now()))
        return tx

    def _respond(self, tx: Transaction | None, response: Response) -> None:
        if tx is None:  # the A side of an originated call: nothing to answer
            return
        send = getattr(tx, "send_response", None)
        if send is not None:
            with contextlib.suppress(TransactionError):
                self._run(tx, send(response, _now()))

    def send_request(self, request: Request, dest: Source, handler: ResponseHandler | None = None) -> None:
        """Send ``request`` to ``dest`` in a new client transaction; ``handler`` gets every response, and None on a
        timeout or transport error (used by the engine's own requests: keep-alive OPTIONS, trunk REGISTER)."""
        try:
            tx = self.table.new_client(request, reliable=dest.transport != "udp")
        except TransactionError:
            log.warning("could not send %s to %s:%d", request.method, dest.ip, dest.port)
            return
        self.routes[tx.key] = dest
        if handler is not None:
            self.owners[tx.key] = handler
        self._run(tx, tx.send_request(_now()))

    # ------------------------------------------------------------------------------------------------ entry points
    async def on_request(self, request: Request, source: Source) -> None:
        method = request.method
        if method == "ACK":
            self._ack(request)
            return
        existing = self.table.match_request(request)
        if existing is not None:  # a retransmission: the transaction resends its latest response
            self._run(existing, existing.receive_request(request, _now()))
            return
        if method == "CANCEL":
            self._cancel(request, source)
        elif tag(request.headers.get("To")):
            self._in_dialog(request, source)
        elif method == "INVITE":
            await self._invite(request, source)
        else:  # BYE / UPDATE / INFO outside a dialog
            tx = self._server_tx(request, source)
            if tx is not None:
                self._respond(tx, reply(request, 481, "Call/Transaction Does Not Exist"))

    def on_response(self, response: Response, source: Source) -> None:
        tx = self.table.match_response(response)
        if tx is not None:
            self._run(tx, tx.receive_response(response, _now()))
            return
        # A 2xx retransmitted after the INVITE transaction is gone: ACK it again (or BYE a late answer).
        found = self.b_calls.get(response.call_id or "")
        if found is None or not 200 <= response.status < 300:
            return
        _, branch = found
        if branch.ack is not None:
            self.wire.send(branch.ack, branch.dest)

    # ------------------------------------------------------------------------------------------------ INVITE
    async def _invite(self, request: Request, source: Source) -> None:
        tx = self._server_tx(request, source)
        if tx is None:
            return
        assert tx.is_invite and not tx.is_client
        call = Call(a_invite=request, a_source=source, a_tx=tx)  # type: ignore[arg-type]
        self.by_invite[tx.key] = call
        self.calls.add(call)
        try:
            await self._setup(call)
        except Exception:
            log.exception("call setup failed (Call-ID %s)", call.a_call_id)
            self._end_unanswered(call, 500, "Server Internal Error", "failed", 500, "system")

    async def _setup(self, call: Call) -> None:
        request, source = call.a_invite, call.a_source
        try:
            caller_addr = parse_addresses(request.headers.get_all("From"))[0]
            caller_uri = caller_addr.parsed_uri()
            ruri = parse_uri(request.uri)
        except (ParseError, IndexError):
            self._refuse(call, reply(request, 400, "Bad Request"))
            return
        if not isinstance(caller_uri, SipUri) or not isinstance(ruri, SipUri):
            self._refuse(call, reply(request, 416, "Unsupported URI Scheme"))
            return
        for trunk in await self.trunks.match(source.ip, source.port):
            owner = await self.trunks.number_owner(trunk, self._dialled(request, ruri))
            if owner is not None:
                await self._inbound(call, trunk, owner, caller_uri.user or "", caller_addr.display_name)
                return
        result = await self.registrar.authenticate(request, source, caller_uri.host, caller_uri.user or "")
        if result is None:  # the guard: no answer at all (and no more 100 Trying)
            assert call.a_tx is not None
            self.table.forget(call.a_tx)
            self.routes.pop(call.a_tx.key, None)
            self._forget(call)
            return
        if isinstance(result, Response):
            self._refuse(call, result)
            return
        caller = result
        if caller.suspended or not caller.enabled or caller.extension_id is None:
            self._refuse(call, reply(request, 403, "Forbidden"))
            return
        if call.ended:
            return  # cancelled while authenticating
        snap = await self.callflow.snapshot(caller.tenant_id)
        if snap is None or call.ended:
            if not call.ended:
                self._refuse(call, reply(request, 404, "Not Found"))
            return
        call.tenant_id, call.domain = caller.tenant_id, caller.domain
        from_ext = snap.extensions.get(caller.extension_id) or {}
        call.caller_extension_id = caller.extension_id
        call.caller_number = str(from_ext.get("number") or caller.user)
        call.caller_name = from_ext.get("name")
        call.caller_id = from_ext.get("external_caller_id_number")
        dialled = ruri.user or ""
        at = datetime.now(UTC)
        step = resolver.resolve_internal(snap, dialled, caller.extension_id, at, trace=False).step
        if step.get("kind") == "external":
            call.direction = "outbound"
            call.caller_id = step.get("caller_id") or call.caller_id
        planned = snap.dial_plan.get(dialled)
        callee_ext = (
            step.get("extension_id")
            if step.get("kind") == "ring_extension"
            else planned[1]
            if planned and planned[0] == "extension"
            else None
        )
        call.callee_label = dialled
        # outbound calls are filed under the calling extension (centrex.cdr.writer conventions)
        self._start_cdr(call, caller.extension_id if step.get("kind") == "external" else callee_ext, None, at)
        limited = self._over_limit(snap, call, step)
        if limited is not None:
            self._end_unanswered(call, 503, "Service Unavailable", "failed", 503, "system", limited)
            return
        await self._execute(call, snap, step)

    @staticmethod
    def _dialled(request: Request, ruri: SipUri) -> str:
        """The number a trunk delivers: the Request-URI user, else the To user."""
        if ruri.user:
            return ruri.user
        with contextlib.suppress(ParseError, IndexError):
            to_uri = parse_addresses(request.headers.get_all("To"))[0].parsed_uri()
            if isinstance(to_uri, SipUri) and to_uri.user:
                return to_uri.user
        return ""

    async def _inbound(
        self, call: Call, trunk: trunks.TrunkInfo, owner: tuple[str, str], caller: str, caller_name: str | None
    ) -> None:
        """A call from a trunk to one of the tenant's numbers (DID → inbound route)."""
        request = call.a_invite
        tenant_id, did = owner
        snap = await self.callflow.snapshot(tenant_id)
        if snap is None or call.ended:
            if not call.ended:
                self._refuse(call, reply(request, 404, "Not Found"))
            return
        call.tenant_id, call.direction, call.did, call.trunk_id = tenant_id, "inbound", did, trunk.id
        call.domain = await self._domain_of(snap)
        call.caller_number = caller[:64] or "anonymous"
        call.caller_name = (caller_name or "").strip('"')[:60] or None
        call.caller_id = call.caller_number
        call.callee_label = did
        at = datetime.now(UTC)
        step = resolver.resolve_inbound(snap, did, call.caller_number, at, trace=False).step
        self._start_cdr(call, step.get("extension_id"), trunk.id, at)
        limited = self._over_limit(snap, call, step)
        if limited is not None:
            self._end_unanswered(call, 503, "Service Unavailable", "failed", 503, "system", limited)
            return
        await self._execute(call, snap, step)

    async def _domain_of(self, snap: TenantSnapshot) -> str:
        from centrex.db.models.tenant import Tenant

        async with self.db.session() as session:
            domain = (
                await session.execute(select(Tenant.sip_domain).where(Tenant.id == snap.tenant_id))
            ).scalar_one_or_none()
        return str(domain or snap.tenant_code)

    def _over_limit(self, snap: TenantSnapshot, call: Call, step: dict[str, Any]) -> str | None:
        """The tenant's caps on new calls per second and on calls at once (emergency calls are never capped).
        Returns why the call is refused, or None. The per-second cap is a token bucket (burst: one second's worth,
        at least one call) kept per tenant in this engine."""
        if step.get("emergency"):
            return None
        tenant = snap.tenant_id
        if snap.max_concurrent_calls is not None:
            live = sum(1 for c in self.calls if c.tenant_id == tenant and not c.ended and c is not call)
            if live >= snap.max_concurrent_calls:
                return f"the tenant's limit of {snap.max_concurrent_calls} concurrent calls is reached"
        rate = snap.max_calls_per_second
        if rate is not None and rate > 0:
            now = time.monotonic()
            burst = max(1.0, rate)
            tokens, last = self._cps.get(tenant, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._cps[tenant] = (tokens, now)
                return f"the tenant's limit of {rate:g} new calls per second is exceeded"
            self._cps[tenant] = (tokens - 1.0, now)
        return None

    # ------------------------------------------------------------------------------------------------ call flow
    async def _execute(self, call: Call, snap: TenantSnapshot, step: dict[str, Any]) -> None:
        """Carry out one resolver step: build its plan and ring it, or answer the caller."""
        if call.ended or call.settled:
            return
        call.hops += 1
        kind = step.get("kind")
        fallbacks: dict[str, Any] = {}
        stages: list[Stage] = []
        if kind == "ring_extension":
            targets = await self._bindings(str(step["extension_id"]), str(step.get("number") or ""))
            fallbacks = {
                "busy": step.get("on_busy"),
                "no_answer": step.get("on_no_answer"),
                "unreachable": step.get("on_unreachable"),
            }
            if not targets:
                if fallbacks["unreachable"] and await self._fallback(call, snap, fallbacks["unreachable"]):
                    return
                self._end_unanswered(call, 480, "Temporarily Unavailable", "failed", 480, "system", "not registered")
                return
            stages = [Stage(targets, float(step.get("ring_timeout") or 20))]
        elif kind == "ring_group":
            stages = await self._group_stages(call, snap, step)
            fallbacks = dict.fromkeys(("busy", "no_answer", "unreachable", "failed"), step.get("on_no_answer"))
            prefix = str(step.get("caller_id_prefix") or "")
            if prefix:
                call.caller_name = f"{prefix}{call.caller_name or call.caller_number}"[:60]
            if not stages:
                if step.get("on_no_answer") and await self._fallback(call, snap, step["on_no_answer"]):
                    return
                self._end_unanswered(
                    call, 480, "Temporarily Unavailable", "failed", 480, "system", "no ring group member reachable"
                )
                return
        elif kind == "external":
            if call.direction == "internal":
                call.direction = "outbound"
            call.caller_id = step.get("caller_id") or call.caller_id
            stages = trunk_stages(step.get("trunks") or [], str(step.get("number") or ""))
        else:
            status, reason, text = refusal(step)
            self._end_unanswered(call, status, reason, disposition_of(status), status, "system", text)
            return
        call.plan = Plan(stages, str(kind))
        call.on_fail = (snap, fallbacks)
        if self.anchor is not None and call.media is None:
            try:
                call.media = await self.anchor.create_session(call.a_call_id, call.a_tag)
            except RelayError as exc:  # no free ports (or the relay is closing)
                log.warning("no media relay session for Call-ID %s: %s", call.a_call_id, exc)
                self._end_unanswered(call, 503, "Service Unavailable", "failed", 503, "system", "no media ports")
                return
            if call.ended:  # cancelled meanwhile
                self._close_media(call)
                return
        await self._next_stage(call)

    async def _fallback(self, call: Call, snap: TenantSnapshot, dest: dict[str, Any]) -> bool:
        """Follow a fallback destination (forwarding, no-answer destination); False when it cannot be taken."""
        if call.hops >= MAX_STEPS or call.ended or call.settled:
            return False
        step = resolver.follow(snap, dest, datetime.now(UTC), trace=False).step
        if step.get("kind") in NOT_YET:  # voicemail & co. need media (next issue): the caller hears why it failed
            return False
        await self._execute(call, snap, step)
        return True

    async def _group_stages(self, call: Call, snap: TenantSnapshot, step: dict[str, Any]) -> list[Stage]:
        group_id = str(step.get("ring_group_id") or "")
        strategy = str(step.get("strategy") or "ring_all")
        members = order_members(
            step.get("members") or [],
            strategy,
            rotation=self.rotation.get(group_id, 0),
            idle_since=self.idle_since,
        )
        if strategy == "round_robin":
            self.rotation[group_id] = self.rotation.get(group_id, 0) + 1
        targets_of: dict[int, list[Target]] = {}
        for i, member in enumerate(members):
            if member.get("type", "extension") == "extension":
                if member.get("dnd"):
                    continue
                targets_of[i] = await self._bindings(str(member["extension_id"]), str(member.get("number") or ""))
            else:
                number = str(member.get("number") or "")
                external = resolver.follow(snap, {"type": "external", "number": number}, datetime.now(UTC), trace=False)
                trunk_list = external.step.get("trunks") or [] if external.step.get("kind") == "external" else []
                if trunk_list:
                    first = trunk_list[0]
                    targets_of[i] = [
                        Target("trunk", number, trunk_id=str(first["trunk_id"]), number=str(first["dial"]))
                    ]
        return group_stages(members, strategy, targets_of, step.get("ring_time"))

    async def _bindings(self, extension_id: str, number: str) -> list[Target]:
        """Every live binding of an extension (most recent first), as targets to ring at once."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(
                        SipRegistration.contact_uri,
                        SipRegistration.source_ip,
                        SipRegistration.source_port,
                        SipRegistration.transport,
                    )
                    .where(
                        SipRegistration.extension_id == extension_id,
                        SipRegistration.expires_at > datetime.now(UTC),
                    )
                    .order_by(SipRegistration.expires_at.desc())
                )
            ).all()
        return [
            Target(
                "extension",
                number,
                extension_id=extension_id,
                dest=Source(row.transport or "udp", row.source_ip, int(row.source_port)),
                request_uri=row.contact_uri,
            )
            for row in rows
        ]

    async def _next_stage(self, call: Call) -> None:
        """Ring the plan's next stage; when none is left, the plan failed."""
        if call.ended or call.settled:
            return
        if not call.plan.stages:
            status = best_status(b.final or 480 for b in call.stage_branches) if call.stage_branches else 480
            await self._plan_failed(call, status)
            return
        stage = call.plan.stages.pop(0)
        call.stage, call.stage_branches = stage, []
        for target in stage.targets:
            branch = await self._place(call, target)
            if call.ended or call.settled:
                return
            if branch is not None:
                call.stage_branches.append(branch)
        if not call.pending():
            await self._stage_failed(call)
            return
        timeout = stage.timeout if stage.timeout is not None else TRUNK_RING_SECONDS
        call.ring_timer = asyncio.get_running_loop().call_later(timeout, self._ring_timeout, call, stage)

    async def _stage_failed(self, call: Call, timed_out: bool = False) -> None:
        if call.ended or call.settled:
            return
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None
        stage = call.stage
        status = None if timed_out else best_status(b.final or 480 for b in call.stage_branches)
        if stage is not None and call.plan.stages and may_continue(stage, status):
            await self._next_stage(call)
            return
        await self._plan_failed(call, status)

    async def _plan_failed(self, call: Call, status: int | None) -> None:
        """Every stage failed (``status`` None: nobody answered in time): follow the step's fallback or answer."""
        if call.ended or call.settled:
            return
        snap, fallbacks = call.on_fail if call.on_fail else (None, {})
        dest = fallbacks.get(outcome_of(status)) if snap is not None else None
        if dest and snap is not None and await self._fallback(call, snap, dest):
            return
        if status is None:
            self._end_unanswered(call, 480, "Temporarily Unavailable", "no_answer", 408, "system", "no answer")
            return
        code, reason = relayed_status(status, "")
        self._end_unanswered(call, code, reason, disposition_of(status), status, "callee")

    def _ring_timeout(self, call: Call, stage: Stage) -> None:
        call.ring_timer = None
        if call.settled or call.ended or call.stage is not stage:
            return
        for branch in call.pending():
            self._cancel_branch(branch)
        self._serial(call, lambda: self._stage_failed(call, timed_out=True))

    # ------------------------------------------------------------------------------------------------ branches
    async def _place(self, call: Call, target: Target) -> Branch | None:
        """Send the INVITE of one target; None when it cannot be placed (no route to the trunk, channels full)."""
        if target.kind == "extension":
            if target.dest is None or target.request_uri is None:
                return None
            dest, uri = target.dest, target.request_uri
            caller = call.caller_number
            caller_domain = callee_domain = call.domain
            callee = target.label
        else:
            snap, _ = call.on_fail
            row = snap.trunks.get(target.trunk_id or "") if snap is not None else None
            if row is None:
                return None
            if row.get("max_channels") is not None and self._trunk_channels(str(row["id"])) >= int(row["max_channels"]):
                log.info("trunk %s: all %s channels in use", row["id"], row["max_channels"])
                return None
            placed = await trunks.destination(str(row["host"]), int(row.get("port") or 5060), row.get("transport"))
            if placed is None or call.ended:
                return None
            dest = placed
            host = str(row["host"])
            port = int(row.get("port") or 5060)
            suffix = f";transport={dest.transport}" if dest.transport != "udp" else ""
            callee = target.number or target.label
            uri = f"sip:{callee}@{host}:{port}{suffix}"
            mode = row.get("caller_id_mode") or "passthrough"
            if mode == "fixed" and row.get("caller_id_number"):
                caller = str(row["caller_id_number"])
            elif mode == "extension":
                caller = call.caller_id or call.caller_number
            else:
                caller = call.caller_id or call.caller_number
            caller_domain = str(row.get("from_domain") or host)
            callee_domain = host
        try:
            body = await self._offer_for(call, dest)
        except SdpError as exc:
            reason = "Not Acceptable Here" if exc.status == 488 else "Bad Request"
            self._end_unanswered(call, exc.status, reason, "failed", exc.status, "system", f"SDP: {exc}")
            return None
        call_id = f"{secrets.token_hex(12)}@centrex"
        invite = b_invite(
            call.a_invite,
            request_uri=uri,
            via=self.wire.via(dest),
            contact=self.wire.contact(dest),
            caller=caller,
            caller_name=call.caller_name,
            caller_domain=caller_domain,
            callee=callee,
            callee_domain=callee_domain,
            call_id=call_id,
            body=body,
            asserted=target.kind == "trunk",
        )
        branch = Branch(target, dest, invite, len(call.branches) + 1)
        call.branches.append(branch)
        self.b_calls[call_id] = (call, branch)
        self.send_request(invite, dest, lambda response: self._on_branch(call, branch, response))
        return branch

    def _trunk_channels(self, trunk_id: str) -> int:
        """Calls that hold a channel of a trunk now (inbound from it, or a live branch to it)."""

        def holds(call: Call) -> bool:
            if call.ended:
                return False
            if call.trunk_id == trunk_id or (call.b is not None and call.b.target.trunk_id == trunk_id):
                return True
            return any(b.target.trunk_id == trunk_id and b.final is None and not b.cancelled for b in call.branches)

        return sum(1 for call in self.calls if holds(call))

    async def _offer_for(self, call: Call, dest: Source) -> bytes:
        """The caller's SDP as the phone at ``dest`` gets it (one rewrite per address)."""
        body = call.a_invite.body
        if call.media is None or not body:
            return body
        address = self._media_address(dest)
        if address not in call.offers:
            call.offers[address] = await self._rewrite(call, body, "a", dest, offer=True)
        return call.offers[address]

    def _on_branch(self, call: Call, branch: Branch, response: Response | None) -> None:
        self._serial(call, lambda: self._branch_response(call, branch, response))

    async def _branch_response(self, call: Call, branch: Branch, response: Response | None) -> None:
        if response is None:  # no answer at all from the callee (Timer B) or a transport error
            if branch.final is None:
                branch.final = 408
                await self._branch_done(call, branch)
            return
        status = response.status
        if status < 200:
            if status > 100 and not call.ended and not call.settled and not branch.cancelled:
                if not branch.ringing:
                    branch.ringing = True
                    self._ringing_event(call, branch)
                await self._relay_provisional(call, branch, response)
            return
        if status < 300:
            await self._branch_answered(call, branch, response)
            return
        if branch.final is not None:
            return
        retry = status in (401, 407) and branch.target.kind == "trunk" and not branch.auth_tried and not call.ended
        if retry and await self._authenticate_branch(call, branch, response):
            return
        branch.final = status
        await self._branch_done(call, branch)

    async def _authenticate_branch(self, call: Call, branch: Branch, challenge: Response) -> bool:
        """Answer a trunk's digest challenge: the same INVITE with credentials, CSeq + 1, a new branch."""
        from centrex.sip.auth_client import with_credentials

        creds = await trunks.credentials(self.db, branch.target.trunk_id or "")
        if creds is None or call.ended or branch.cancelled:
            return False
        try:
            invite = with_credentials(branch.invite, challenge, *creds)
        except Exception as exc:
            log.warning("trunk %s challenge not answered: %s", branch.target.trunk_id, exc)
            return False
        invite.headers.set("Via", self.wire.via(branch.dest))
        branch.auth_tried = True
        branch.invite = invite
        self.send_request(invite, branch.dest, lambda response: self._on_branch(call, branch, response))
        return True

    def _ringing_event(self, call: Call, branch: Branch) -> None:
        target = branch.target
        leg = {
            "leg": f"b{branch.index}",
            "ringing_extension_id": target.extension_id,
            "ringing_trunk_id": target.trunk_id,
            "ringing_number": target.number or target.label,
        }
        self._cdr(call, lambda cdr_id: writer.call_event(self.db, cdr_id, "call.ringing", **leg))

    async def _relay_provisional(self, call: Call, branch: Branch, response: Response) -> None:
        relayed = a_response(call, response.status, response.reason, self.wire.contact(call.a_source))
        if response.body and call.early_sdp_from in (None, branch):
            try:
                early = await self._rewrite(call, response.body, "b", call.a_source, offer=False)
                copy_body(response, relayed, early)
                call.early_sdp_from = branch
            except SdpError as exc:  # early media we cannot anchor: the provisional goes without it
                log.warning("callee's %d SDP dropped (Call-ID %s): %s", response.status, call.a_call_id, exc)
        elif response.status == 183 and call.early_sdp_from is not None:
            return  # another branch's early media is playing
        if call.ended or call.answered:
            return
        self._respond(call.a_tx, relayed)

    async def _branch_done(self, call: Call, branch: Branch) -> None:
        """A branch failed: when its stage has nothing pending, the stage failed."""
        if call.ended or call.settled or branch not in call.stage_branches:
            return
        if not call.pending():
            await self._stage_failed(call)

    async def _branch_answered(self, call: Call, branch: Branch, response: Response) -> None:
        if branch.dialog is not None:  # a retransmitted 2xx
            if branch.ack is not None:
                self.wire.send(branch.ack, branch.dest)
            return
        try:
            branch.dialog = Dialog.uac(branch.invite, response)
        except DialogError:
            log.warning("callee's 2xx cannot make a dialog (Call-ID %s)", branch.call_id)
            return
        branch.final = response.status
        if call.ended or call.settled:  # too late (cancelled, or another branch won): ACK, then BYE
            self._ack_branch(branch, b"", None)
            self._bye_branch(branch)
            return
        if call.transferring:
            await self._transfer_answered(call, branch, response)
            return
        try:
            body = await self._rewrite(call, response.body, "b", call.a_source, offer=not call.a_invite.body)
        except SdpError as exc:  # an answer (or late offer) the relay cannot use: drop the callee, 502 the caller
            self._ack_branch(branch, b"", None)
            self._bye_branch(branch)
            self._end_unanswered(call, 502, "Bad Gateway", "failed", 502, "callee", f"callee's SDP: {exc}")
            return
        if call.ended or call.settled:
            self._ack_branch(branch, b"", None)
            self._bye_branch(branch)
            return
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None
        call.answered = True
        call.answered_at = datetime.now(UTC)
        call.media_from = _now()
        call.b = branch
        for other in call.branches:
            if other is not branch:
                self._cancel_branch(other)
        if call.a_invite.body:
            self._ack_branch(branch, b"", None)
        else:
            call.b_ack_pending = True  # the answer to B's offer comes in A's ACK
        ok = a_response(call, 200, "OK", self.wire.contact(call.a_source))
        copy_body(response, ok, body)
        interval = session_interval(response) if supports_timer(call.a_invite) else None
        if interval is not None:
            ok.headers.set("Session-Expires", response.headers.get("Session-Expires") or str(interval))
            ok.headers.add("Require", "timer")
        try:
            call.a_dialog = Dialog.uas(call.a_invite, ok)
        except DialogError as exc:  # cannot happen with a well-formed INVITE; never leave a half-answered call
            log.error("no dialog for the 200 of Call-ID %s: %s", call.a_call_id, exc)
            call.answered, call.b = False, None
            self._bye_branch(branch)
            self._end_unanswered(call, 500, "Server Internal Error", "failed", 500, "system")
            return
        call.a_200 = ok
        call.a_sdp = ok.body
        self.a_calls[(call.a_call_id, call.a_tag)] = call
        self._respond(call.a_tx, ok)
        if call.a_source.transport == "udp":
            self._schedule_200(call, self.timers.t1, 0.0)
        self._watch_session(call, interval)
        target = branch.target
        at = datetime.now(UTC)
        self._cdr(
            call,
            lambda cdr_id: writer.answer(
                self.db, cdr_id, at, extension_id=target.extension_id, trunk_id=target.trunk_id
            ),
        )

    def _ack_branch(self, branch: Branch, body: bytes, content_type: str | None) -> None:
        assert branch.dialog is not None
        ack = branch.dialog.create_ack(
            branch.invite.cseq[0], via=self.wire.via(branch.dest), body=body, content_type=content_type
        )
        branch.ack = ack
        self.wire.send(ack, branch.dest)

    def _cancel_branch(self, branch: Branch) -> None:
        if branch.cancelled or branch.final is not None or branch.dialog is not None:
            return
        branch.cancelled = True
        self.send_request(build_cancel(branch.invite), branch.dest)

    def _schedule_200(self, call: Call, interval: float, spent: float) -> None:
        """§13.3.1.4: resend our 200 at T1, 2·T1 … up to T2 until A's ACK; give up (BYE both legs) after 64·T1."""

        def fire() -> None:
            if call.a_acked or call.a_200 is None or call.ended:
                return
            if spent + interval >= self.timers.transaction_timeout:
                log.warning("no ACK for the 200 of Call-ID %s: hanging up", call.a_call_id)
                self._hang_up(call, by="system", source_leg=None)
                return
            self.wire.reply(call.a_200, call.a_source)
            self._schedule_200(call, min(2 * interval, self.timers.t2), spent + interval)

        call.retransmit = asyncio.get_running_loop().call_later(interval, fire)

    # ------------------------------------------------------------------------------------------------ session timers
    def _watch_session(self, call: Call, interval: int | None) -> None:
        """RFC 4028 §10: with a session interval agreed, a session not refreshed in time is ended (BYE both legs)
        at interval − min(32, interval / 3) seconds after the last refresh."""
        if call.session_timer is not None:
            call.session_timer.cancel()
            call.session_timer = None
        if interval is None or call.ended:
            return
        call.session_interval = interval
        delay = max(1.0, interval - min(32.0, interval / 3))

        def expire() -> None:
            call.session_timer = None
            if not call.ended:
                log.info("session timer of Call-ID %s expired without a refresh: hanging up", call.a_call_id)
                self._hang_up(call, by="system", source_leg=None)

        call.session_timer = asyncio.get_running_loop().call_later(delay, expire)

    # ------------------------------------------------------------------------------------------------ in a dialog
    def _leg_of(self, request: Request) -> tuple[Call, LegName, Dialog] | None:
        call_id, to_tag = request.call_id or "", tag(request.headers.get("To")) or ""
        call = self.a_calls.get((call_id, to_tag))
        if call is not None and call.a_dialog is not None:
            return call, "a", call.a_dialog
        found = self.b_calls.get(call_id)
        if found is None:
            return None
        call, branch = found
        if branch is not call.b or branch.dialog is None or branch.dialog.local_tag != to_tag:
            return None
        return call, "b", branch.dialog

    def _in_dialog(self, request: Request, source: Source) -> None:
        tx = self._server_tx(request, source)
        if tx is None:
            return
        found = self._leg_of(request)
        if found is None:
            old = self.b_calls.get(request.call_id or "")
            if request.method == "BYE" and old is not None and old[1].dialog is not None and old[1].dialog.terminated:
                self._respond(tx, reply(request, 200, "OK"))  # a leg we already hung up (a transfer) says goodbye
                return
            self._respond(tx, reply(request, 481, "Call/Transaction Does Not Exist"))
            return
        call, leg, dialog = found
        status = dialog.receive_request(request)
        if status is not None:
            self._respond(tx, reply(request, status, "Call/Transaction Does Not Exist" if status == 481 else "Error"))
            return
        if request.method == "BYE":
            self._respond(tx, reply(request, 200, "OK"))
            self._hang_up(call, by="caller" if leg == "a" else "callee", source_leg=leg)
            return
        if request.method == "REFER" and not call.ended:
            self._serial(call, lambda: self._refer(call, leg, request, tx))
            return
        if request.method not in RELAYED or call.ended:
            response = reply(request, 501 if not call.ended else 481, "Not Implemented" if not call.ended else "Gone")
            response.headers.add("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, REFER")
            self._respond(tx, response)
            return
        self._serial(call, lambda: self._relay_request(call, leg, request, tx))

    # ------------------------------------------------------------------------------------------------ control
    async def hang_up(self, call: Call) -> None:
        """End a call on command (API): an answered one with BYE on both legs, a ringing one with 487 to the caller
        and CANCEL to its branches (CDR ``cancelled``, hung up by the system)."""
        if call.ended:
            raise ControlError(409, "the call has ended")
        if call.answered:
            self._hang_up(call, by="system", source_leg=None)
        else:
            self._end_unanswered(call, 487, "Request Terminated", "cancelled", 487, "system", "hung up by command")

    async def originate(
        self, tenant_id: str, extension_id: str, destination: str, *, ring_seconds: float = 30.0
    ) -> Call:
        """Click-to-call (RFC 3725 with the anchor): ring every phone of the extension with an INVITE without SDP;
        the first to answer gets an answer pointing at the anchor and is ACKed at once, then ``destination`` (dialled
        as that extension would dial it) is rung with the phone's offer, exactly like the new side of a transfer.
        Returns the call (its id is its CDR id); ``ControlError`` when it cannot start."""
        if self.anchor is None:
            raise ControlError(409, "originating a call needs media anchoring (the relay or rtpengine)")
        snap = await self.callflow.snapshot(tenant_id)
        ext = snap.extensions.get(extension_id) if snap is not None else None
        if snap is None or ext is None:
            raise ControlError(404, "no such extension")
        if not destination or len(destination) > 64:
            raise ControlError(422, "the destination must be a number of at most 64 characters")
        step = resolver.resolve_internal(snap, destination, extension_id, datetime.now(UTC), trace=False).step
        if step.get("kind") not in ("ring_extension", "ring_group", "external"):
            _, _, text = refusal(step)
            raise ControlError(422, f"{destination} cannot be rung: {text or step.get('kind')}")
        phones = await self._bindings(extension_id, str(ext.get("number") or ""))
        if not phones:
            raise ControlError(409, "the extension has no registered phone")
        domain = await self._domain_of(snap)
        number = str(ext.get("number") or "")
        call_id = f"{secrets.token_hex(12)}@centrex"
        # The A side as if the extension had dialled the destination (its offer is filled in when it answers).
        headers = Headers()
        headers.add("From", f"<sip:{number}@{domain}>;tag={new_tag()}")
        headers.add("To", f"<sip:{destination}@{domain}>")
        headers.add("Call-ID", call_id)
        headers.add("CSeq", "1 INVITE")
        synthetic = Request(headers=headers, method="INVITE", uri=f"sip:{destination}@{domain}")
        assert phones[0].dest is not None
        call = Call(a_invite=synthetic, a_source=phones[0].dest, a_tx=None)
        call.originated = True
        call.tenant_id, call.domain = tenant_id, domain
        call.caller_extension_id, call.caller_number, call.caller_name = extension_id, number, ext.get("name")
        call.caller_id = ext.get("external_caller_id_number")
        call.callee_label = destination
        if step.get("kind") == "external":
            call.direction = "outbound"
            call.caller_id = step.get("caller_id") or call.caller_id
        self.calls.add(call)
        planned = snap.dial_plan.get(destination)
        callee_ext = planned[1] if planned and planned[0] == "extension" else None
        self._start_cdr(call, extension_id if call.direction == "outbound" else callee_ext, None, datetime.now(UTC))
        try:
            call.media = await self.anchor.create_session(call_id, call.a_tag)
        except RelayError as exc:
            self._end_originated(call, 503, "failed")
            raise ControlError(409, f"no media ports: {exc}") from None
        invites: list[tuple[Request, Source]] = []
        for phone in phones:
            assert phone.dest is not None and phone.request_uri is not None
            ring = Headers()
            ring.add("Via", self.wire.via(phone.dest))
            ring.add("Max-Forwards", "70")
            ring.add("From", f'"{destination}" <sip:{destination}@{domain}>;tag={new_tag()}')
            ring.add("To", f"<sip:{number}@{domain}>")
            ring.add("Call-ID", f"{secrets.token_hex(12)}@centrex")
            ring.add("CSeq", "1 INVITE")
            ring.add("Contact", self.wire.contact(phone.dest))
            ring.add("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, REFER")
            ring.add("User-Agent", "Centrex")
            ring.add("Content-Length", "0")
            invite = Request(headers=ring, method="INVITE", uri=phone.request_uri)
            invites.append((invite, phone.dest))
        state: dict[str, Any] = {"pending": len(invites), "statuses": [], "won": False}

        def give_up() -> None:
            if not state["won"] and not call.ended:
                for invite, dest in invites:
                    self.send_request(build_cancel(invite), dest)
                self._end_originated(call, 408, "no_answer")

        timer = asyncio.get_running_loop().call_later(ring_seconds, give_up)
        for invite, dest in invites:

            def handler(response: Response | None, invite: Request = invite, dest: Source = dest) -> None:
                self._serial(
                    call,
                    lambda: self._originate_response(call, snap, step, invites, invite, dest, response, state, timer),
                )

            self.send_request(invite, dest, handler)
        return call

    async def _originate_response(
        self,
        call: Call,
        snap: TenantSnapshot,
        step: dict[str, Any],
        invites: list[tuple[Request, Source]],
        invite: Request,
        dest: Source,
        response: Response | None,
        state: dict[str, Any],
        timer: asyncio.TimerHandle,
    ) -> None:
        """A response from one of the extension's phones to the originate INVITE."""
        status = response.status if response is not None else 408
        if status < 200:
            return
        if status >= 300:
            state["pending"] -= 1
            state["statuses"].append(status)
            if state["pending"] <= 0 and not state["won"] and not call.ended:
                timer.cancel()
                best = best_status(state["statuses"])
                self._end_originated(call, best, disposition_of(best))
            return
        assert response is not None
        try:
            dialog = Dialog.uac(invite, response)
        except DialogError:
            return
        if state["won"] or call.ended:  # another phone answered first, or the call was given up: ACK, BYE
            self.wire.send(dialog.create_ack(invite.cseq[0], via=self.wire.via(dest)), dest)
            self._bye(dialog, dest)
            return
        state["won"] = True
        timer.cancel()
        for other, other_dest in invites:
            if other is not invite:
                self.send_request(build_cancel(other), other_dest)
        offer = response.body
        try:
            if not offer:
                raise SdpError("the phone answered without an SDP offer", status=488)
            parsed = SessionDescription.parse(offer)
            origin = Origin("centrex", secrets.randbelow(2**31), 1, "IN", "IP4", "127.0.0.1")
            # A stand-in answer "from the destination", pointed at the anchor: the phone sends its media there now;
            # the destination's real answer replaces its address when it answers.
            standin = build_answer(parsed, address="127.0.0.1", ports=[9] * len(parsed.media), origin=origin)
            answer = await self._rewrite(call, bytes(standin), "b", dest, offer=False)
        except SdpError as exc:
            log.warning("originate: the phone's offer is unusable (Call-ID %s): %s", invite.call_id, exc)
            self.wire.send(dialog.create_ack(invite.cseq[0], via=self.wire.via(dest)), dest)
            self._bye(dialog, dest)
            self._end_originated(call, 488, "failed")
            return
        self.wire.send(
            dialog.create_ack(invite.cseq[0], via=self.wire.via(dest), body=answer, content_type="application/sdp"),
            dest,
        )
        # The phone is the A side now: its offer goes to the destination, its BYE ends the call.
        call.a_dialog, call.a_source, call.a_tag = dialog, dest, dialog.local_tag
        call.a_sdp = answer
        call.a_invite.headers.set("Call-ID", dialog.call_id)
        call.a_invite.body = offer
        call.a_invite.headers.set("Content-Type", response.headers.get("Content-Type") or "application/sdp")
        call.answered, call.transferring, call.a_acked = True, True, True
        self.a_calls[(dialog.call_id, dialog.local_tag)] = call
        await self._execute(call, snap, step)

    def _end_originated(self, call: Call, status: int, disposition: str) -> None:
        """The extension's phone never took the originated call."""
        if call.ended:
            return
        call.ended = True
        call.stop_timers()
        self._close_media(call)
        self._end_cdr(
            call, disposition if disposition in ("busy", "no_answer", "failed") else "failed", status, "callee"
        )
        self._linger(call)

    async def hold(self, call: Call, leg: LegName, on: bool) -> None:
        """Put one side of an answered call on hold (``on``) or take it off: a re-INVITE to that phone with the SDP
        it last got from us, ``a=sendonly`` (hold: it should not send) or ``a=sendrecv`` (resume), a new ``o=``
        version; its answer re-points the anchor. Events ``call.held`` / ``call.resumed``."""
        if call.ended:
            raise ControlError(409, "the call has ended")
        if not call.answered or call.transferring or call.b is None:
            raise ControlError(409, "the call is not connected")
        if (leg in call.held_legs) == on:
            raise ControlError(409, "that side is already on hold" if on else "that side is not on hold")
        dialog, dest = self._other(call, "b" if leg == "a" else "a")
        base = call.a_sdp if leg == "a" else call.b.invite.body
        if dialog is None or dest is None or not base:
            raise ControlError(409, "that side has no media to hold")
        try:
            sd = SessionDescription.parse(base)
        except SdpError:
            raise ControlError(409, "that side has no usable SDP") from None
        for media in sd.media:
            if not media.rejected:
                media.direction = Direction.SENDONLY if on else Direction.SENDRECV
        sd.origin.session_version = max(sd.origin.session_version + 1, int(time.time()))
        body = bytes(sd)
        reinvite = await self._ask(dialog, dest, "INVITE", body, "application/sdp", "re-INVITE")
        response = reinvite.response
        self.wire.send(dialog.create_ack(reinvite.request.cseq[0], via=self.wire.via(dest)), dest)
        if response.body:
            with contextlib.suppress(SdpError):  # its answer: where it now sends and receives
                await self._rewrite(call, response.body, leg, dest, offer=False)
        if leg == "a":
            call.a_sdp = body
        if on:
            call.held_legs.add(leg)
        else:
            call.held_legs.discard(leg)
        call.held = bool(call.held_legs)
        event = "call.held" if on else "call.resumed"
        self._cdr(call, lambda cdr_id: writer.call_event(self.db, cdr_id, event, leg=leg, held_by="api"))

    async def send_dtmf(self, call: Call, digits: str, leg: LegName, *, duration_ms: int = 160) -> None:
        """Send ``digits`` to the phone on ``leg`` of an answered call as SIP INFO (``application/dtmf-relay``, the
        form phones and IVRs accept beside RFC 4733), one INFO per digit, each after the previous one's answer."""
        if call.ended:
            raise ControlError(409, "the call has ended")
        if not call.answered or call.transferring:
            raise ControlError(409, "the call is not connected")
        dialog, dest = self._other(call, "b" if leg == "a" else "a")
        if dialog is None or dest is None:
            raise ControlError(409, "that leg is not connected")
        for digit in digits:
            body = f"Signal={digit}\r\nDuration={duration_ms}\r\n".encode()
            await self._ask(dialog, dest, "INFO", body, "application/dtmf-relay", "DTMF INFO")

    async def _ask(
        self, dialog: Dialog, dest: Source, method: str, body: bytes, content_type: str, what: str
    ) -> _Asked:
        """Send an in-dialog request of the engine's own and wait for its final response (``ControlError`` when the
        dialog is gone, the phone does not answer or refuses)."""
        done: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()

        def settle(response: Response | None) -> None:
            if not done.done() and (response is None or response.status >= 200):  # 1xx: keep waiting
                done.set_result(response)

        try:
            request = dialog.create_request(method, via=self.wire.via(dest), body=body, content_type=content_type)
        except DialogError:
            raise ControlError(409, "the call has ended") from None
        self.send_request(request, dest, settle)
        response = await asyncio.wait_for(done, 40)
        if response is None or response.status >= 300:
            why = response.status if response is not None else "no answer"
            raise ControlError(409, f"the phone refused the {what} ({why})")
        return _Asked(request, response)

    async def transfer(self, call: Call, destination: str) -> None:
        """Blind transfer of an answered call: the caller's side stays, the answered leg is hung up and
        ``destination`` (dialled as the answering extension would dial it: extension, group, outside number) rings
        in its place. The caller keeps its media path (the anchor's port towards it does not change), so no
        re-INVITE goes to it. Needs the media anchored and the caller's offer; a failed transfer ends the call."""
        snap, step, transferor = await self._prepare_transfer(call, destination)
        await self._start_transfer(call, snap, step, destination, transferor)

    async def _prepare_transfer(
        self, call: Call, destination: str
    ) -> tuple[TenantSnapshot, dict[str, Any], str | None]:
        """Check that ``call`` can be transferred to ``destination`` (``ControlError`` when not): its step."""
        if call.ended:
            raise ControlError(409, "the call has ended")
        if not call.answered:
            raise ControlError(409, "the call is not answered yet")
        if call.transferring:
            raise ControlError(409, "a transfer of this call is in progress")
        if call.media is None or not call.a_invite.body:
            raise ControlError(409, "a transfer needs the media anchored and the caller's SDP offer")
        if not destination or len(destination) > 64:
            raise ControlError(422, "the destination must be a number of at most 64 characters")
        snap = await self.callflow.snapshot(call.tenant_id or "")
        if snap is None:
            raise ControlError(409, "the call's tenant is gone")
        transferor = call.b.target.extension_id if call.b is not None else None
        step = resolver.resolve_internal(
            snap, destination, transferor or call.caller_extension_id, datetime.now(UTC), trace=False
        ).step
        if step.get("kind") not in ("ring_extension", "ring_group", "external"):
            _, _, text = refusal(step)
            raise ControlError(422, f"{destination} cannot be rung: {text or step.get('kind')}")
        return snap, step, transferor

    async def _start_transfer(
        self, call: Call, snap: TenantSnapshot, step: dict[str, Any], destination: str, transferor: str | None
    ) -> None:
        if call.ended or call.transferring:
            return
        old = call.b
        call.transferring, call.b, call.hops, call.early_sdp_from = True, None, 0, None
        call.stage, call.stage_branches = None, []
        if old is not None:
            self._bye_branch(old)
        self._cdr(
            call,
            lambda cdr_id: writer.call_event(
                self.db, cdr_id, "call.transferred", destination=destination, transferred_by=transferor
            ),
        )
        await self._execute(call, snap, step)

    async def _transfer_answered(self, call: Call, branch: Branch, response: Response) -> None:
        """The transfer target answered: it becomes the B leg; the anchor now sends the caller's media to it."""
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None
        self._ack_branch(branch, b"", None)
        try:
            await self._rewrite(call, response.body, "b", call.a_source, offer=False)
        except SdpError as exc:
            log.warning("transfer target's SDP unusable (Call-ID %s): %s", call.a_call_id, exc)
            self._bye_branch(branch)
            self._hang_up(call, by="system", source_leg=None)
            return
        call.transferring, call.b, call.held = False, branch, False
        for other in call.branches:
            if other is not branch:
                self._cancel_branch(other)
        target = branch.target
        if call.originated and call.answered_at is None:
            call.answered_at = datetime.now(UTC)
            call.media_from = _now()
            at = call.answered_at
            self._cdr(
                call,
                lambda cdr_id: writer.answer(
                    self.db, cdr_id, at, extension_id=target.extension_id, trunk_id=target.trunk_id
                ),
            )
        self._cdr(
            call,
            lambda cdr_id: writer.call_event(
                self.db,
                cdr_id,
                "call.bridged",
                leg=f"b{branch.index}",
                bridged_extension_id=target.extension_id,
                bridged_trunk_id=target.trunk_id,
                bridged_number=target.number or target.label,
            ),
        )

    async def _refer(self, call: Call, leg: LegName, request: Request, tx: Transaction) -> None:
        """A phone's REFER (RFC 3515): the answering side transfers the caller (blind). 202, a NOTIFY with the
        result (message/sipfrag), then the same transfer as the API's. Attended transfer (Replaces) and a transfer
        by the calling side are refused with a Warning saying so."""
        refer_to = request.headers.get("Refer-To") or ""
        try:
            uri = parse_uri(parse_addresses([refer_to])[0].uri)
        except (ParseError, IndexError):
            self._respond(tx, reply(request, 400, "Bad Request (Refer-To)"))
            return
        if "replaces" in refer_to.lower():
            refused = reply(request, 501, "Not Implemented")
            refused.headers.add("Warning", warning("attended transfer (Replaces) is not supported yet"))
            self._respond(tx, refused)
            return
        if leg != "b":
            refused = reply(request, 403, "Forbidden")
            refused.headers.add("Warning", warning("only the answering side may transfer the call for now"))
            self._respond(tx, refused)
            return
        destination = uri.user if isinstance(uri, SipUri) and uri.user else ""
        try:
            snap, step, transferor = await self._prepare_transfer(call, destination)
        except ControlError as exc:
            refused = reply(request, 603 if exc.status == 409 else 403, "Decline" if exc.status == 409 else "Forbidden")
            refused.headers.add("Warning", warning(exc.message))
            self._respond(tx, refused)
            return
        self._respond(tx, reply(request, 202, "Accepted"))
        dialog, dest = self._other(call, "a")  # the referrer's dialog (leg b): NOTIFY before it is hung up
        if dialog is not None and dest is not None and not dialog.terminated:
            notify = dialog.create_request(
                "NOTIFY",
                via=self.wire.via(dest),
                headers=[("Event", "refer"), ("Subscription-State", "terminated;reason=noresource")],
                body=b"SIP/2.0 200 OK\r\n",
                content_type="message/sipfrag;version=2.0",
            )
            self.send_request(notify, dest)
        await self._start_transfer(call, snap, step, destination, transferor)

    async def _relay_request(self, call: Call, leg: LegName, request: Request, tx: Transaction) -> None:
        """Pass an in-dialog re-INVITE / UPDATE / INFO to the other leg and its responses back."""
        other_dialog, other_dest = self._other(call, leg)
        if other_dialog is None or other_dest is None or call.ended:
            self._respond(tx, reply(request, 481, "Call/Transaction Does Not Exist"))
            return
        offer = request.method in ("INVITE", "UPDATE") and bool(request.body)
        body = request.body
        if body and request.method != "INFO":
            try:
                body = await self._rewrite(call, body, leg, other_dest, offer=offer)
            except SdpError as exc:
                response = reply(request, exc.status, "Not Acceptable Here" if exc.status == 488 else "Bad Request")
                response.headers.add("Warning", warning(f"SDP: {exc}"))
                self._respond(tx, response)
                return
        extra = [
            (name, value)
            for name in ("Session-Expires", "Min-SE", "Supported", "Require", "Event", "Subject")
            for value in request.headers.get_all(name)
            if name != "Supported" or "timer" in value
        ]
        try:
            relayed = other_dialog.create_request(
                request.method,
                via=self.wire.via(other_dest),
                headers=extra,
                body=body,
                content_type=(request.headers.get("Content-Type") or "application/sdp") if body else None,
            )
        except DialogError:
            self._respond(tx, reply(request, 481, "Call/Transaction Does Not Exist"))
            return
        if request.method in ("INVITE", "UPDATE"):
            self._watch_session(call, session_interval(request) or call.session_interval)
            if offer:
                self._hold_event(call, leg, request.body)

        def on_response(response: Response | None) -> None:
            self._serial(call, lambda: self._relay_response(call, leg, request, tx, relayed, other_dest, response))

        self.send_request(relayed, other_dest, on_response)

    def _hold_event(self, call: Call, leg: LegName, offer: bytes) -> None:
        """``call.held`` / ``call.resumed`` when an offer puts the media on hold or takes it off (RFC 3264 §8.4:
        ``sendonly``/``inactive``, or the old ``c=0.0.0.0``)."""
        text = offer.lower()
        held = b"a=sendonly" in text or b"a=inactive" in text or b"c=in ip4 0.0.0.0" in text
        if held == call.held:
            return
        call.held = held
        event = "call.held" if held else "call.resumed"
        self._cdr(call, lambda cdr_id: writer.call_event(self.db, cdr_id, event, leg=leg, held_by=leg))

    async def _relay_response(
        self,
        call: Call,
        leg: LegName,
        request: Request,
        tx: Transaction,
        relayed: Request,
        other_dest: Source,
        response: Response | None,
    ) -> None:
        if response is None:
            self._respond(tx, reply(request, 408, "Request Timeout"))
            return
        if response.status == 100:
            return
        out = reply(request, response.status, response.reason)
        to = request.headers.get("To") or ""
        if "tag=" not in to:
            out.headers.set("To", to)
        origin = call.a_source if leg == "a" else (call.b.dest if call.b is not None else call.a_source)
        if request.method in ("INVITE", "UPDATE") and response.status >= 200:
            out.headers.add("Contact", self.wire.contact(origin))
        for name in ("Session-Expires", "Require", "Min-SE"):
            for value in response.headers.get_all(name):
                out.headers.add(name, value)
        body = response.body
        if body and request.method != "INFO":
            other_leg: LegName = "b" if leg == "a" else "a"
            try:
                body = await self._rewrite(call, body, other_leg, origin, offer=not request.body)
            except SdpError as exc:
                log.warning("SDP in the %d to a relayed %s unusable: %s", response.status, request.method, exc)
                body = b""
        copy_body(response, out, body)
        if request.method == "INVITE" and 200 <= response.status < 300:
            other_dialog, _ = self._other(call, leg)
            if other_dialog is not None:
                cseq_no = relayed.cseq[0]
                if request.body:  # offer in the re-INVITE: the answer came back; ACK the other leg now
                    ack = other_dialog.create_ack(cseq_no, via=self.wire.via(other_dest))
                    self.wire.send(ack, other_dest)
                else:  # the 2xx carried an offer: the other leg is ACKed with the answer in our ACK
                    self._reinvites[(request.call_id or "", request.cseq[0])] = lambda ack_in: self._relay_ack(
                        call, leg, ack_in, other_dialog, cseq_no, other_dest
                    )
            if session_interval(response) is not None:
                self._watch_session(call, session_interval(response))
        self._respond(tx, out)

    def _relay_ack(self, call: Call, leg: LegName, ack_in: Request, dialog: Dialog, cseq_no: int, dest: Source) -> None:
        async def run() -> None:
            body = ack_in.body
            if body:
                try:
                    body = await self._rewrite(call, body, leg, dest, offer=False)
                except SdpError:
                    body = b""
            ack = dialog.create_ack(
                cseq_no,
                via=self.wire.via(dest),
                body=body,
                content_type=(ack_in.headers.get("Content-Type") or "application/sdp") if body else None,
            )
            self.wire.send(ack, dest)

        self._serial(call, run)

    def _other(self, call: Call, leg: LegName) -> tuple[Dialog | None, Source | None]:
        if leg == "a":
            return (call.b.dialog, call.b.dest) if call.b is not None else (None, None)
        return call.a_dialog, call.a_source

    # ------------------------------------------------------------------------------------------------ ACK, CANCEL
    def _ack(self, request: Request) -> None:
        tx = self.table.match_request(request)
        if tx is not None:  # the ACK of a non-2xx final response: the transaction absorbs it
            self._run(tx, tx.receive_request(request, _now()))
            return
        relay = self._reinvites.pop((request.call_id or "", request.cseq[0] if request.cseq else 0), None)
        if relay is not None:
            relay(request)
            return
        call = self.a_calls.get((request.call_id or "", tag(request.headers.get("To")) or ""))
        if call is None or call.a_acked:
            return
        call.a_acked = True
        if call.retransmit is not None:
            call.retransmit.cancel()
            call.retransmit = None
        branch = call.b
        if call.b_ack_pending and branch is not None and branch.dialog is not None:
            call.b_ack_pending = False

            async def late_answer() -> None:
                try:
                    body = await self._rewrite(call, request.body, "a", branch.dest, offer=False)
                except SdpError as exc:  # the caller's answer to a late offer is unusable: end the call
                    log.warning("caller's SDP in ACK unusable (Call-ID %s): %s", call.a_call_id, exc)
                    self._ack_branch(branch, b"", None)
                    self._hang_up(call, by="system", source_leg=None)
                    return
                ctype = request.headers.get("Content-Type") or "application/sdp" if body else None
                self._ack_branch(branch, body, ctype)

            self._serial(call, late_answer)

    def _cancel(self, request: Request, source: Source) -> None:
        invite_tx = self.table.match_cancel(request)
        tx = self._server_tx(request, source)
        if tx is None:
            return
        call = self.by_invite.get(invite_tx.key) if invite_tx is not None else None
        if call is None:
            self._respond(tx, reply(request, 481, "Call/Transaction Does Not Exist"))
            return
        self._respond(tx, reply(request, 200, "OK"))
        if not call.answered and not call.ended:
            self._end_unanswered(call, 487, "Request Terminated", "cancelled", 487, "caller")

    # ------------------------------------------------------------------------------------------------ endings
    def _refuse(self, call: Call, response: Response) -> None:
        """A final answer before any CDR (bad request, authentication): the call is forgotten."""
        call.ended = True
        self._respond(call.a_tx, response)
        self._forget(call)

    def _end_unanswered(
        self,
        call: Call,
        status: int,
        reason: str,
        disposition: str,
        cause: int,
        by: str,
        text: str | None = None,
    ) -> None:
        if call.transferring and not call.ended:  # the transfer failed: the caller was answered, hang up
            log.info("transfer of Call-ID %s failed (%d %s): hanging up", call.a_call_id, status, text or reason)
            self._hang_up(call, by="system", source_leg=None)
            return
        if call.ended or call.answered:
            return
        call.ended = True
        call.stop_timers()
        response = a_response(call, status, reason)
        if text:
            response.headers.add("Warning", warning(text))
        self._respond(call.a_tx, response)
        for branch in call.branches:
            self._cancel_branch(branch)
        self._close_media(call)
        self._end_cdr(call, disposition, cause, by)
        self._linger(call)

    def _hang_up(self, call: Call, *, by: str, source_leg: str | None) -> None:
        """End an answered call: BYE on the leg(s) that did not hang up, CDR answered."""
        if call.ended:
            return
        call.ended = True
        call.stop_timers()
        for branch in call.branches:
            self._cancel_branch(branch)  # a transfer still ringing
        if source_leg != "a":
            self._bye_a(call)
        if source_leg != "b" and call.b is not None:
            self._bye_branch(call.b)
        if call.b is not None and call.b.target.extension_id:
            self.idle_since[call.b.target.extension_id] = time.monotonic()
        self._close_media(call)
        self._end_cdr(call, "answered", None, by)
        self._linger(call)

    def _bye_a(self, call: Call) -> None:
        self._bye(call.a_dialog, call.a_source)

    def _bye_branch(self, branch: Branch) -> None:
        self._bye(branch.dialog, branch.dest)

    def _bye(self, dialog: Dialog | None, dest: Source) -> None:
        if dialog is None or dialog.terminated:
            return
        try:
            bye = dialog.create_request("BYE", via=self.wire.via(dest))
        except DialogError:
            return
        dialog.terminate()
        self.send_request(bye, dest)

    def _linger(self, call: Call) -> None:
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self._forget, call)

    def _forget(self, call: Call) -> None:
        call.stop_timers()
        self._close_media(call)
        if call.a_tx is not None and self.by_invite.get(call.a_tx.key) is call:
            del self.by_invite[call.a_tx.key]
        self.a_calls.pop((call.a_call_id, call.a_tag), None)
        for branch in call.branches:
            self.b_calls.pop(branch.call_id, None)
        self.calls.discard(call)

    # ------------------------------------------------------------------------------------------------ media
    def _media_address(self, dest: Source) -> str:
        """The relay's address as the phone at ``dest`` should send to it."""
        return self.media_ip if self.media_ip and self.media_ip not in WILDCARDS else self.wire.host_for(dest)

    async def _rewrite(self, call: Call, body: bytes, from_leg: LegName, to: Source, *, offer: bool) -> bytes:
        """``body`` (SDP from the phone on ``from_leg``) as the phone at ``to`` gets it: pointed at the relay when
        the call is anchored, else unchanged. ``SdpError`` when it cannot be anchored."""
        if call.media is None or not body:
            return body
        return await call.media.rewrite(body, from_leg, self._media_address(to), offer=offer)

    def _close_media(self, call: Call) -> None:
        """Close the call's relay session (in the background); an answered call's counters go into its CDR."""
        session, call.media = call.media, None
        if session is None:
            return
        if not call.answered:
            self._spawn(session.close())
            return
        legs: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()

        async def stats_then_close() -> None:
            try:
                legs.set_result(await session.stats())
            except Exception as exc:
                legs.set_exception(exc)
            await session.close()

        async def record(cdr_id: str) -> None:
            for leg in await legs:  # queued now: the legs are written before the CDR's end, as before
                await writer.add_leg(self.db, cdr_id, leg)

        self._spawn(stats_then_close())
        self._cdr(call, record)

    def _check_media(self, now: float) -> None:
        """Hang up answered calls whose media stopped for ``media_timeout`` seconds (RTP and RTCP, both ways)."""
        if self.media_timeout <= 0:
            return
        for call in list(self.calls):
            if not call.answered or call.ended or call.media is None:
                continue
            idle = min(call.media.idle_seconds(now), now - call.media_from)
            if idle >= self.media_timeout:
                log.info("no media for %.0f s on Call-ID %s: hanging up", idle, call.a_call_id)
                self._hang_up(call, by="system", source_leg=None)

    # ------------------------------------------------------------------------------------------------ CDR
    def _cdr(self, call: Call, op: Callable[[str], Awaitable[object]]) -> None:
        """Run a CDR write after the call's earlier ones (start → answer → end, in order, in the background)."""
        previous = call.cdr_task

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            if call.cdr_id is None:
                return
            try:
                await op(call.cdr_id)
            except Exception:
                log.exception("CDR write failed (call %s)", call.cdr_id)

        call.cdr_task = self._spawn(run())

    def _start_cdr(self, call: Call, extension_id: str | None, trunk_id: str | None, at: datetime) -> None:
        assert call.tenant_id is not None
        tenant_id = call.tenant_id
        call.cdr_id = new_id("cdr")  # the call's id from now on (API, events), before the row is written

        async def start() -> None:
            try:
                await writer.start_call(
                    self.db,
                    tenant_id=tenant_id,
                    call_id=call.a_call_id[:255],
                    direction=call.direction,
                    caller_number=call.caller_number[:64],
                    caller_name=call.caller_name[:100] if call.caller_name else None,
                    callee_number=call.callee_label[:64],
                    did=call.did,
                    extension_id=extension_id,
                    trunk_id=trunk_id,
                    at=at,
                    cdr_id=call.cdr_id,
                )
            except Exception:
                call.cdr_id = None  # no record: the later writes of the call are skipped
                log.exception("CDR start failed (Call-ID %s)", call.a_call_id)

        call.cdr_task = self._spawn(start())

    def _end_cdr(self, call: Call, disposition: str, cause: int | None, by: str) -> None:
        at = datetime.now(UTC)
        legs = [_branch_leg(b) for b in call.branches]

        async def end(cdr_id: str) -> None:
            for leg in legs:
                await writer.add_leg(self.db, cdr_id, leg)
            await writer.end_call(self.db, cdr_id, at=at, disposition=disposition, hangup_cause=cause, hangup_by=by)

        self._cdr(call, end)


def _branch_leg(branch: Branch) -> dict[str, Any]:
    """A CDR leg for one B branch: whom it rang and how it ended."""
    target = branch.target
    return {
        "id": f"b{branch.index}",
        "kind": "sip",
        "target": target.kind,
        "number": target.label,
        "extension_id": target.extension_id,
        "trunk_id": target.trunk_id,
        "dialled": target.number,
        "destination": f"{branch.dest.transport}:{branch.dest.ip}:{branch.dest.port}",
        "status": branch.final,
        "cancelled": branch.cancelled,
        "answered": branch.dialog is not None and branch.final is not None and 200 <= branch.final < 300,
    }
