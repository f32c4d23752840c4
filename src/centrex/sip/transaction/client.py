"""Client transactions (RFC 3261 §17.1, with the RFC 6026 Accepted state for INVITE): they send a request,
retransmit it on unreliable transports, and hand the responses to the TU.

Usage::

    tx = InviteClientTransaction(invite, reliable=False)
    actions = tx.send_request(now)          # [Transmit(invite)]
    actions = tx.tick(now)                  # when now >= tx.next_deadline()
    actions = tx.receive_response(resp, now)

The transition tables below say which state an event leads to; an event missing from a table is absorbed.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from centrex.sip.message.headers import Headers
from centrex.sip.message.model import Request, Response
from centrex.sip.transaction._fields import cseq, top_via_raw
from centrex.sip.transaction.actions import Action, PassToTU, TimeoutToTU, Transmit, TransportErrorToTU
from centrex.sip.transaction.base import State, Transaction, TransactionError
from centrex.sip.transaction.timers import DEFAULT_TIMERS, TimerConfig

# Events: the class of a received response ("1xx", "2xx", "3xx-6xx"), a timer, or a transport error.
# §17.1.1.2, Figure 5, as corrected by RFC 6026 §7.2 (a 2xx leads to Accepted, not Terminated).
INVITE_CLIENT_TRANSITIONS: dict[tuple[State, str], State] = {
    (State.CALLING, "1xx"): State.PROCEEDING,
    (State.CALLING, "2xx"): State.ACCEPTED,
    (State.CALLING, "3xx-6xx"): State.COMPLETED,
    (State.CALLING, "timer B"): State.TERMINATED,
    (State.CALLING, "transport error"): State.TERMINATED,
    (State.PROCEEDING, "1xx"): State.PROCEEDING,
    (State.PROCEEDING, "2xx"): State.ACCEPTED,
    (State.PROCEEDING, "3xx-6xx"): State.COMPLETED,
    (State.PROCEEDING, "transport error"): State.TERMINATED,
    (State.COMPLETED, "3xx-6xx"): State.COMPLETED,  # a retransmitted final response: the ACK is sent again
    (State.COMPLETED, "timer D"): State.TERMINATED,
    (State.ACCEPTED, "2xx"): State.ACCEPTED,  # every 2xx goes to the TU, which ACKs it (RFC 6026 §7.2)
    (State.ACCEPTED, "timer M"): State.TERMINATED,
}

# §17.1.2.2, Figure 6.
NON_INVITE_CLIENT_TRANSITIONS: dict[tuple[State, str], State] = {
    (State.TRYING, "1xx"): State.PROCEEDING,
    (State.TRYING, "final"): State.COMPLETED,
    (State.TRYING, "timer F"): State.TERMINATED,
    (State.TRYING, "transport error"): State.TERMINATED,
    (State.PROCEEDING, "1xx"): State.PROCEEDING,
    (State.PROCEEDING, "final"): State.COMPLETED,
    (State.PROCEEDING, "timer F"): State.TERMINATED,
    (State.PROCEEDING, "transport error"): State.TERMINATED,
    (State.COMPLETED, "timer K"): State.TERMINATED,
}


def _status_class(response: Response) -> str:
    if response.status < 200:
        return "1xx"
    return "2xx" if response.status < 300 else "3xx-6xx"


def build_ack(request: Request, response: Response) -> Request:
    """The ACK for a non-2xx final response to ``request`` (§17.1.1.3): the INVITE's Request-URI, Call-ID, From,
    CSeq number, top Via and Route header fields, and the response's To (with its tag)."""
    headers = Headers()
    via = top_via_raw(request.headers)
    if via is not None:
        headers.add("Via", via)
    for route in request.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", request.headers.get("Max-Forwards") or "70")
    for name in ("From", "Call-ID"):
        field = request.headers.get(name)
        if field is not None:
            headers.add(name, field)
    to = response.headers.get("To") or request.headers.get("To")
    if to is not None:
        headers.add("To", to)
    numbered = cseq(request.headers)
    headers.add("CSeq", f"{numbered[0] if numbered else 0} ACK")
    headers.add("Content-Length", "0")
    return Request(headers=headers, method="ACK", uri=request.uri, version=request.version)


def build_cancel(request: Request) -> Request:
    """The CANCEL for a pending ``request`` (§9.1): its Request-URI, Call-ID, From, To, CSeq number, top Via (same
    branch, so that it meets the same server transactions) and Route header fields."""
    headers = Headers()
    via = top_via_raw(request.headers)
    if via is not None:
        headers.add("Via", via)
    for route in request.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", request.headers.get("Max-Forwards") or "70")
    for name in ("From", "To", "Call-ID"):
        field = request.headers.get(name)
        if field is not None:
            headers.add(name, field)
    numbered = cseq(request.headers)
    headers.add("CSeq", f"{numbered[0] if numbered else 0} CANCEL")
    headers.add("Content-Length", "0")
    return Request(headers=headers, method="CANCEL", uri=request.uri, version=request.version)


class ClientTransaction(Transaction):
    """Common part of the client transactions: ``send_request`` once, then responses, timers, transport errors."""

    is_client = True
    TRANSITIONS: ClassVar[dict[tuple[State, str], State]]

    def __init__(self, request: Request, *, reliable: bool = False, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        super().__init__(request, reliable=reliable, timers=timers)
        self._sent = False

    def send_request(self, now: float) -> list[Action]:
        """Send the request: the transaction starts here (§17.1.1.2, §17.1.2.2)."""
        if self._sent:
            raise TransactionError("the request was already sent")
        self._sent = True
        now = self._clock(now)
        self._on_start(now)
        return [Transmit(self.request)]

    def receive_response(self, response: Response, now: float) -> list[Action]:
        """A response that matched this transaction (see ``TransactionTable``)."""
        actions = self.tick(now)
        if self.terminated or not self._sent:
            return actions
        return actions + self._step(self._event_of(response), self._now, response)

    def transport_error(self, now: float) -> list[Action]:
        actions = self.tick(now)
        if self.terminated or not self._sent:
            return actions
        return actions + self._step("transport error", self._now, None)

    def _on_timer(self, name: str, now: float) -> list[Action]:
        return self._step(f"timer {name}", now, None)

    def _step(self, event: str, now: float, response: Response | None) -> list[Action]:
        target = self.TRANSITIONS.get((self.state, event))
        if target is None:
            return []  # absorbed
        previous, self.state = self.state, target
        return self._enter(previous, event, now, response)

    @abstractmethod
    def _event_of(self, response: Response) -> str: ...

    @abstractmethod
    def _on_start(self, now: float) -> None: ...

    @abstractmethod
    def _enter(self, previous: State, event: str, now: float, response: Response | None) -> list[Action]: ...


class InviteClientTransaction(ClientTransaction):
    """§17.1.1 with RFC 6026: Calling → Proceeding → Completed | Accepted → Terminated; Timers A, B, D, M."""

    is_invite = True
    TRANSITIONS = INVITE_CLIENT_TRANSITIONS

    def __init__(self, request: Request, *, reliable: bool = False, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        if request.method != "INVITE":
            raise TransactionError("an INVITE client transaction needs an INVITE")
        super().__init__(request, reliable=reliable, timers=timers)
        self.state = State.CALLING
        self.ack: Request | None = None

    def _event_of(self, response: Response) -> str:
        return _status_class(response)

    def _on_start(self, now: float) -> None:
        if not self.reliable:
            self._start_timer("A", now, self.timers.t1)
        self._start_timer("B", now, self.timers.transaction_timeout)

    def _on_timer(self, name: str, now: float) -> list[Action]:
        if name == "A" and self.state is State.CALLING:
            # §17.1.1.2: retransmit, and double the interval (no T2 cap for INVITE).
            self._start_timer("A", now, 2 * self._intervals["A"])
            return [Transmit(self.request)]
        return super()._on_timer(name, now)

    def _enter(self, previous: State, event: str, now: float, response: Response | None) -> list[Action]:
        if event == "timer B":
            return [TimeoutToTU("B"), *self._terminate()]
        if event == "transport error":
            return [TransportErrorToTU(), *self._terminate()]
        if event in ("timer D", "timer M"):
            return self._terminate()
        assert response is not None
        if self.state is State.PROCEEDING:
            self._stop_timers("A", "B")
            return [PassToTU(response)]
        if self.state is State.ACCEPTED:
            self._stop_timers("A", "B")
            if previous is not State.ACCEPTED:
                self._start_timer("M", now, self.timers.transaction_timeout)
            return [PassToTU(response)]
        # Completed: ACK every (re)transmission of the final response; only the first goes to the TU.
        if previous is State.COMPLETED:
            assert self.ack is not None
            return [Transmit(self.ack)]
        self._stop_timers("A", "B")
        self.ack = build_ack(self.request, response)
        actions: list[Action] = [Transmit(self.ack), PassToTU(response)]
        return actions + self._wait_then_terminate("D", now, 0.0 if self.reliable else self.timers.timer_d)


class NonInviteClientTransaction(ClientTransaction):
    """§17.1.2: Trying → Proceeding → Completed → Terminated; Timers E, F, K."""

    is_invite = False
    TRANSITIONS = NON_INVITE_CLIENT_TRANSITIONS

    def __init__(self, request: Request, *, reliable: bool = False, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} does not make a non-INVITE client transaction")
        super().__init__(request, reliable=reliable, timers=timers)
        self.state = State.TRYING

    def _event_of(self, response: Response) -> str:
        return "1xx" if response.status < 200 else "final"

    def _on_start(self, now: float) -> None:
        if not self.reliable:
            self._start_timer("E", now, self.timers.t1)
        self._start_timer("F", now, self.timers.transaction_timeout)

    def _on_timer(self, name: str, now: float) -> list[Action]:
        if name == "E" and self.state in (State.TRYING, State.PROCEEDING):
            # §17.1.2.2: doubling up to T2 in Trying, every T2 in Proceeding.
            interval = (
                self.timers.t2 if self.state is State.PROCEEDING else min(2 * self._intervals["E"], self.timers.t2)
            )
            self._start_timer("E", now, interval)
            return [Transmit(self.request)]
        return super()._on_timer(name, now)

    def _enter(self, previous: State, event: str, now: float, response: Response | None) -> list[Action]:
        if event == "timer F":
            return [TimeoutToTU("F"), *self._terminate()]
        if event == "transport error":
            return [TransportErrorToTU(), *self._terminate()]
        if event == "timer K":
            return self._terminate()
        assert response is not None
        if self.state is State.PROCEEDING:
            return [PassToTU(response)]
        self._stop_timers("E", "F")
        actions: list[Action] = [PassToTU(response)]
        return actions + self._wait_then_terminate("K", now, 0.0 if self.reliable else self.timers.t4)
