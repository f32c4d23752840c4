"""``B2bua``: drives the transactions of both legs (``centrex.sip.transaction``), the dialogs (``centrex.sip.dialog``)
and the CDR of each call.

- INVITE (new): proxy digest auth (407), caller checks, call-flow resolution, B leg to the callee's most recent live
  binding, ring timer (the callee extension's ``ring_timeout``); a retransmitted INVITE is absorbed by its server
  transaction (which resends the latest response); a re-INVITE in a call is refused (501).
- B responses: 180/183 relayed with their body, 2xx ACKed and relayed as our 200 (retransmitted until A's ACK,
  §13.3.1.4), failures relayed (486/603 as they are).
- CANCEL before the answer: 200, 487 to the INVITE, CANCEL to the B leg. BYE from either side: 200, BYE on the
  other leg. CDR: started after the resolution, answered at the 200, ended with the disposition and side.
- Media (``relay`` given): one relay session per call, made before the B leg is placed; every SDP is rewritten to
  the relay (``media.anchor``), the session is closed at every end and its counters go into the CDR's legs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from centrex.callflow import resolver
from centrex.callflow.cache import CallFlowCache
from centrex.callflow.snapshot import TenantSnapshot
from centrex.cdr import writer
from centrex.db.engine import Database
from centrex.db.models.sip import SipRegistration
from centrex.engine.b2bua.call import Call, a_response, b_invite, copy_body
from centrex.engine.b2bua.media import LegName, anchor, cdr_legs
from centrex.engine.b2bua.policy import disposition_of, refusal, relayed_status, warning
from centrex.engine.b2bua.wire import WILDCARDS, Wire
from centrex.engine.registrar import Registrar
from centrex.media.rtp import RelayError, RtpRelay
from centrex.sip.dialog import Dialog, DialogError
from centrex.sip.message import ParseError, Request, Response, SipUri, parse_addresses, parse_uri
from centrex.sip.sdp import SdpError
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
METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL"})
LINGER_SECONDS = 32.0  # a call's state outlives its end this long (late retransmissions)

ResponseHandler = Callable[[Response | None], None]


def _now() -> float:
    return time.monotonic()


class B2bua:
    def __init__(
        self,
        db: Database,
        registrar: Registrar,
        wire: Wire,
        callflow: CallFlowCache,
        timers: TimerConfig = DEFAULT_TIMERS,
        relay: RtpRelay | None = None,
    ) -> None:
        self.db = db
        self.relay = relay
        self.registrar = registrar
        self.wire = wire
        self.callflow = callflow
        self.timers = timers
        self.table = TransactionTable(timers)
        self.routes: dict[TransactionKey, Source] = {}  # where a transaction's messages go
        self.owners: dict[TransactionKey, ResponseHandler] = {}  # who gets a client transaction's responses
        self.by_invite: dict[TransactionKey, Call] = {}  # A INVITE server transaction → call
        self.a_calls: dict[tuple[str, str], Call] = {}  # (A Call-ID, our To tag) → call
        self.b_calls: dict[str, Call] = {}  # B Call-ID → call
        self._cps: dict[str, tuple[float, float]] = {}  # tenant → (tokens, monotonic time) of the per-second cap
        self._wake = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._timer_task = asyncio.get_running_loop().create_task(self._tick_loop())

    async def stop(self) -> None:
        tasks = [t for t in (self._timer_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _tick_loop(self) -> None:
        while True:
            self._wake.clear()
            deadline = self.table.next_deadline()
            delay = 1.0 if deadline is None else min(1.0, max(0.0, deadline - _now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            for tx, actions in self.table.tick(_now()):
                self._run(tx, actions)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------------------------------------ actions
    def _run(self, tx: Transaction, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                dest = self.routes.get(tx.key)
                if dest is None:
                    continue
                if isinstance(action.message, Response):
                    self.wire.reply(action.message, dest)
                else:
                    self.wire.send(action.message, dest)
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
            tx = self.table.new_server(request, reliable=source.transport == "tcp")
        except TransactionError:
            self.wire.reply(reply(request, 400, "Bad Request"), source)
            return None
        self.routes[tx.key] = source
        self._run(tx, tx.receive_request(request, _now()))
        return tx

    def _respond(self, tx: Transaction, response: Response) -> None:
        send = getattr(tx, "send_response", None)
        if send is not None:
            with contextlib.suppress(TransactionError):
                self._run(tx, send(response, _now()))

    def _send_request(self, request: Request, dest: Source, handler: ResponseHandler | None = None) -> None:
        try:
            tx = self.table.new_client(request, reliable=dest.transport == "tcp")
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
        if method == "INVITE":
            await self._invite(request, source)
        elif method == "CANCEL":
            self._cancel(request, source)
        elif method == "BYE":
            self._bye(request, source)

    def on_response(self, response: Response, source: Source) -> None:
        tx = self.table.match_response(response)
        if tx is not None:
            self._run(tx, tx.receive_response(response, _now()))
            return
        # A 2xx retransmitted after the INVITE transaction is gone: ACK it again.
        call = self.b_calls.get(response.call_id or "")
        if call is not None and 200 <= response.status < 300 and call.b_ack is not None and call.b_dest is not None:
            self.wire.send(call.b_ack, call.b_dest)

    # ------------------------------------------------------------------------------------------------ INVITE
    async def _invite(self, request: Request, source: Source) -> None:
        if tag(request.headers.get("To")):
            tx = self._server_tx(request, source)
            if tx is not None:
                known = (request.call_id or "", tag(request.headers.get("To")) or "") in self.a_calls
                response = reply(request, 501 if known else 481, "Not Implemented" if known else "Call Does Not Exist")
                if known:
                    response.headers.add("Warning", warning("re-INVITE is not supported yet"))
                self._respond(tx, response)
            return
        tx = self._server_tx(request, source)
        if tx is None:
            return
        assert tx.is_invite and not tx.is_client
        call = Call(a_invite=request, a_source=source, a_tx=tx)  # type: ignore[arg-type]
        self.by_invite[tx.key] = call
        try:
            await self._setup(call)
        except Exception:
            log.exception("call setup failed (Call-ID %s)", call.a_call_id)
            self._end_unanswered(call, 500, "Server Internal Error", "failed", 500, "system")

    async def _setup(self, call: Call) -> None:
        request, source = call.a_invite, call.a_source
        try:
            caller_uri = parse_addresses(request.headers.get_all("From"))[0].parsed_uri()
            ruri = parse_uri(request.uri)
        except (ParseError, IndexError):
            self._refuse(call, reply(request, 400, "Bad Request"))
            return
        if not isinstance(caller_uri, SipUri) or not isinstance(ruri, SipUri):
            self._refuse(call, reply(request, 416, "Unsupported URI Scheme"))
            return
        dialled = ruri.user or ""
        result = await self.registrar.authenticate(request, source, caller_uri.host, caller_uri.user or "")
        if result is None:  # the guard: no answer at all (and no more 100 Trying)
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
        caller_number = str(from_ext.get("number") or caller.user)
        caller_name = from_ext.get("name")
        at = datetime.now(UTC)
        step = resolver.resolve_internal(snap, dialled, caller.extension_id, at, trace=False).step
        ringing = step.get("kind") == "ring_extension"
        planned = snap.dial_plan.get(dialled)
        callee_ext = (
            step.get("extension_id") if ringing else planned[1] if planned and planned[0] == "extension" else None
        )
        self._start_cdr(call, caller_number, caller_name, dialled, callee_ext, at)
        limited = self._over_limit(snap, call, step)
        if limited is not None:
            self._end_unanswered(call, 503, "Service Unavailable", "failed", 503, "system", limited)
            return
        if not ringing:
            status, reason, text = refusal(step)
            self._end_unanswered(call, status, reason, disposition_of(status), status, "system", text)
            return
        dest, contact_uri = await self._binding(str(step["extension_id"]))
        if call.ended:
            return
        if dest is None or contact_uri is None:
            self._end_unanswered(call, 480, "Temporarily Unavailable", "failed", 480, "system", "not registered")
            return
        body: bytes | None = None
        if self.relay is not None:
            try:
                call.media = await self.relay.create_session(f"{call.a_call_id}/{call.a_tag}")
            except RelayError as exc:  # no free ports (or the relay is closing)
                log.warning("no media relay session for Call-ID %s: %s", call.a_call_id, exc)
                self._end_unanswered(call, 503, "Service Unavailable", "failed", 503, "system", "no media ports")
                return
            if call.ended:  # cancelled meanwhile
                self._close_media(call)
                return
            try:
                body = self._sdp_for(call, request, "a", dest)
            except SdpError as exc:
                reason = "Not Acceptable Here" if exc.status == 488 else "Bad Request"
                self._end_unanswered(call, exc.status, reason, "failed", exc.status, "system", f"SDP: {exc}")
                return
        self._place_b_leg(call, dest, contact_uri, caller_number, caller_name, str(step.get("number") or dialled), body)
        timeout = float(step.get("ring_timeout") or 20)
        call.ring_timer = asyncio.get_running_loop().call_later(timeout, self._ring_timeout, call)

    def _over_limit(self, snap: TenantSnapshot, call: Call, step: dict[str, Any]) -> str | None:
        """The tenant's caps on new calls per second and on calls at once (emergency calls are never capped).
        Returns why the call is refused, or None. The per-second cap is a token bucket (burst: one second's worth,
        at least one call) kept per tenant in this engine."""
        if step.get("emergency"):
            return None
        tenant = snap.tenant_id
        if snap.max_concurrent_calls is not None:
            live = {id(c) for c in (*self.a_calls.values(), *self.b_calls.values()) if c.tenant_id == tenant}
            live.discard(id(call))
            if len(live) >= snap.max_concurrent_calls:
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

    async def _binding(self, extension_id: str) -> tuple[Source | None, str | None]:
        """The callee's most recent live binding: where to send (its source address) and its Contact URI."""
        async with self.db.session() as session:
            row = (
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
                    .limit(1)
                )
            ).one_or_none()
        if row is None:
            return None, None
        return Source(row.transport or "udp", row.source_ip, int(row.source_port)), row.contact_uri

    def _place_b_leg(
        self,
        call: Call,
        dest: Source,
        contact_uri: str,
        caller: str,
        caller_name: str | None,
        callee: str,
        body: bytes | None = None,
    ) -> None:
        call_id = f"{secrets.token_hex(12)}@centrex"
        call.b_dest = dest
        call.b_invite = b_invite(
            call.a_invite,
            request_uri=contact_uri,
            via=self.wire.via(dest),
            contact=self.wire.contact(dest),
            caller=caller,
            caller_name=caller_name,
            callee=callee,
            domain=call.domain,
            call_id=call_id,
            body=body,
        )
        self.b_calls[call_id] = call
        self._send_request(call.b_invite, dest, lambda response: self._b_response(call, response))
        call.b_tx = self.table.clients.get(TransactionKey.client(call.b_invite))

    # ------------------------------------------------------------------------------------------------ B leg
    def _b_response(self, call: Call, response: Response | None) -> None:
        if response is None:  # no answer at all from the callee (Timer B) or a transport error
            self._end_unanswered(call, 480, "Temporarily Unavailable", "failed", 408, "system", "callee unreachable")
            return
        status = response.status
        if status < 200:
            if status > 100 and not call.ended and not call.answered:
                relayed = a_response(call, status, response.reason, self.wire.contact(call.a_source))
                try:
                    early = self._sdp_for(call, response, "b", call.a_source)
                except SdpError as exc:  # early media we cannot anchor: the provisional goes without it
                    log.warning("callee's %d SDP dropped (Call-ID %s): %s", status, call.a_call_id, exc)
                    early = b""
                copy_body(response, relayed, early)
                self._respond(call.a_tx, relayed)
            return
        if status < 300:
            self._b_answered(call, response)
            return
        if call.ended:
            return
        code, reason = relayed_status(status, response.reason)
        self._end_unanswered(call, code, reason, disposition_of(status), status, "callee")

    def _b_answered(self, call: Call, response: Response) -> None:
        assert call.b_invite is not None and call.b_dest is not None
        if call.b_dialog is not None:  # a retransmitted 2xx
            if call.b_ack is not None:
                self.wire.send(call.b_ack, call.b_dest)
            return
        try:
            call.b_dialog = Dialog.uac(call.b_invite, response)
        except DialogError:
            log.warning("callee's 2xx cannot make a dialog (Call-ID %s)", call.b_invite.call_id)
            return
        if call.ended:  # answered while we gave up on it (CANCEL crossed the 200): ACK, then BYE
            self._ack_b(call, b"", None)
            self._bye_leg(call, "b")
            return
        try:
            body = self._sdp_for(call, response, "b", call.a_source)
        except SdpError as exc:  # an answer (or late offer) the relay cannot use: drop the callee, 502 the caller
            self._ack_b(call, b"", None)
            self._bye_leg(call, "b")
            self._end_unanswered(call, 502, "Bad Gateway", "failed", 502, "callee", f"callee's SDP: {exc}")
            return
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None
        call.answered = True
        if call.a_invite.body:
            self._ack_b(call, b"", None)
        else:
            call.b_ack_pending = True  # the answer to B's offer comes in A's ACK
        ok = a_response(call, 200, "OK", self.wire.contact(call.a_source))
        copy_body(response, ok, body)
        call.a_dialog = Dialog.uas(call.a_invite, ok)
        call.a_200 = ok
        self.a_calls[(call.a_call_id, call.a_tag)] = call
        self._respond(call.a_tx, ok)
        if call.a_source.transport != "tcp":
            self._schedule_200(call, self.timers.t1, 0.0)
        self._cdr(call, lambda cdr_id: writer.answer(self.db, cdr_id, datetime.now(UTC)))

    def _ack_b(self, call: Call, body: bytes, content_type: str | None) -> None:
        assert call.b_dialog is not None and call.b_dest is not None and call.b_invite is not None
        ack = call.b_dialog.create_ack(
            call.b_invite.cseq[0], via=self.wire.via(call.b_dest), body=body, content_type=content_type
        )
        call.b_ack = ack
        call.b_ack_pending = False
        self.wire.send(ack, call.b_dest)

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

    def _cancel_b(self, call: Call) -> None:
        if call.b_invite is None or call.b_dest is None or call.b_cancelled or call.b_dialog is not None:
            return
        call.b_cancelled = True
        self._send_request(build_cancel(call.b_invite), call.b_dest)

    def _ring_timeout(self, call: Call) -> None:
        call.ring_timer = None
        if not call.answered and not call.ended:
            self._end_unanswered(call, 480, "Temporarily Unavailable", "no_answer", 408, "system", "no answer")

    # ------------------------------------------------------------------------------------------------ ACK, CANCEL, BYE
    def _ack(self, request: Request) -> None:
        tx = self.table.match_request(request)
        if tx is not None:  # the ACK of a non-2xx final response: the transaction absorbs it
            self._run(tx, tx.receive_request(request, _now()))
            return
        call = self.a_calls.get((request.call_id or "", tag(request.headers.get("To")) or ""))
        if call is None or call.a_acked:
            return
        call.a_acked = True
        if call.retransmit is not None:
            call.retransmit.cancel()
            call.retransmit = None
        if call.b_ack_pending and call.b_dialog is not None and call.b_dest is not None:
            try:
                body = self._sdp_for(call, request, "a", call.b_dest)
            except SdpError as exc:  # the caller's answer to a late offer is unusable: end the call
                log.warning("caller's SDP in ACK unusable (Call-ID %s): %s", call.a_call_id, exc)
                self._ack_b(call, b"", None)
                self._hang_up(call, by="system", source_leg=None)
                return
            self._ack_b(call, body, request.headers.get("Content-Type") or "application/sdp" if body else None)

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

    def _bye(self, request: Request, source: Source) -> None:
        tx = self._server_tx(request, source)
        if tx is None:
            return
        call_id, to_tag = request.call_id or "", tag(request.headers.get("To")) or ""
        leg = "a"
        call = self.a_calls.get((call_id, to_tag))
        dialog = call.a_dialog if call is not None else None
        if call is None:
            leg = "b"
            call = self.b_calls.get(call_id)
            dialog = call.b_dialog if call is not None else None
            if dialog is not None and dialog.local_tag != to_tag:
                dialog = None
        if call is None or dialog is None:
            self._respond(tx, reply(request, 481, "Call/Transaction Does Not Exist"))
            return
        status = dialog.receive_request(request)
        if status is not None:
            self._respond(tx, reply(request, status, "Call/Transaction Does Not Exist" if status == 481 else "Error"))
            return
        self._respond(tx, reply(request, 200, "OK"))
        self._hang_up(call, by="caller" if leg == "a" else "callee", source_leg=leg)

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
        if call.ended or call.answered:
            return
        call.ended = True
        call.stop_timers()
        response = a_response(call, status, reason)
        if text:
            response.headers.add("Warning", warning(text))
        self._respond(call.a_tx, response)
        self._cancel_b(call)
        self._close_media(call)
        self._end_cdr(call, disposition, cause, by)
        self._linger(call)

    def _hang_up(self, call: Call, *, by: str, source_leg: str | None) -> None:
        """End an answered call: BYE on the leg(s) that did not hang up, CDR answered."""
        if call.ended:
            return
        call.ended = True
        call.stop_timers()
        for leg in ("a", "b"):
            if leg != source_leg:
                self._bye_leg(call, leg)
        self._close_media(call)
        self._end_cdr(call, "answered", None, by)
        self._linger(call)

    def _bye_leg(self, call: Call, leg: str) -> None:
        dialog = call.a_dialog if leg == "a" else call.b_dialog
        dest = call.a_source if leg == "a" else call.b_dest
        if dialog is None or dest is None or dialog.terminated:
            return
        try:
            bye = dialog.create_request("BYE", via=self.wire.via(dest))
        except DialogError:
            return
        dialog.terminate()
        self._send_request(bye, dest)

    def _linger(self, call: Call) -> None:
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self._forget, call)

    def _forget(self, call: Call) -> None:
        call.stop_timers()
        self._close_media(call)
        if self.by_invite.get(call.a_tx.key) is call:
            del self.by_invite[call.a_tx.key]
        self.a_calls.pop((call.a_call_id, call.a_tag), None)
        if call.b_invite is not None:
            self.b_calls.pop(call.b_invite.call_id or "", None)

    # ------------------------------------------------------------------------------------------------ media
    def _media_address(self, dest: Source) -> str:
        """The relay's address as the phone at ``dest`` should send to it."""
        assert self.relay is not None
        return self.relay.ip if self.relay.ip not in WILDCARDS else self.wire.host_for(dest)

    def _sdp_for(self, call: Call, message: Request | Response, from_leg: LegName, to: Source) -> bytes:
        """The body of ``message`` (from the phone on ``from_leg``) as the other phone (at ``to``) gets it: pointed
        at the relay when the call is anchored, else unchanged. ``SdpError`` when it cannot be anchored."""
        if call.media is None or not message.body:
            return message.body
        return anchor(call.media, message.body, from_leg, self._media_address(to))

    def _close_media(self, call: Call) -> None:
        """Close the call's relay session (in the background); an answered call's counters go into its CDR."""
        session, call.media = call.media, None
        if session is None:
            return
        if call.answered:
            legs = cdr_legs(session.stats())

            async def record(cdr_id: str) -> None:
                for leg in legs:
                    await writer.add_leg(self.db, cdr_id, leg)

            self._cdr(call, record)
        self._spawn(session.close())

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

    def _start_cdr(
        self, call: Call, caller: str, caller_name: str | None, callee: str, extension_id: str | None, at: datetime
    ) -> None:
        assert call.tenant_id is not None
        tenant_id = call.tenant_id

        async def start() -> None:
            try:
                call.cdr_id = await writer.start_call(
                    self.db,
                    tenant_id=tenant_id,
                    call_id=call.a_call_id[:255],
                    direction="internal",
                    caller_number=caller[:64],
                    caller_name=caller_name[:100] if caller_name else None,
                    callee_number=callee[:64],
                    did=None,
                    extension_id=extension_id,
                    trunk_id=None,
                    at=at,
                )
            except Exception:
                log.exception("CDR start failed (Call-ID %s)", call.a_call_id)

        call.cdr_task = self._spawn(start())

    def _end_cdr(self, call: Call, disposition: str, cause: int | None, by: str) -> None:
        at = datetime.now(UTC)
        self._cdr(
            call,
            lambda cdr_id: writer.end_call(
                self.db, cdr_id, at=at, disposition=disposition, hangup_cause=cause, hangup_by=by
            ),
        )
