"""Server transactions (RFC 3261 §17.2, with the RFC 6026 Accepted state for INVITE): they pass a request to the
TU once, absorb its retransmissions (answering them with the latest response), and retransmit a non-2xx final
response to INVITE until the ACK comes.

Usage::

    tx = InviteServerTransaction(invite, reliable=False)
    actions = tx.receive_request(invite, now)   # [PassToTU(invite)]; also every retransmission and the ACK
    actions = tx.send_response(resp, now)       # from the TU
    actions = tx.tick(now)                      # when now >= tx.next_deadline()

The transition tables below say which state an event leads to; an event missing from a table is absorbed.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from centrex.sip.message.headers import Headers
from centrex.sip.message.model import Request, Response
from centrex.sip.transaction.actions import Action, PassToTU, TimeoutToTU, Transmit, TransportErrorToTU
from centrex.sip.transaction.base import State, Transaction, TransactionError
from centrex.sip.transaction.timers import DEFAULT_TIMERS, TimerConfig

# Events: a request from the network ("request", "ACK"), a response from the TU ("1xx", "2xx", "3xx-6xx"), a timer,
# a transport error. §17.2.1, Figure 7, as corrected by RFC 6026 §7.1 (a 2xx leads to Accepted).
INVITE_SERVER_TRANSITIONS: dict[tuple[State, str], State] = {
    (State.PROCEEDING, "request"): State.PROCEEDING,  # retransmission: resend the latest provisional response
    (State.PROCEEDING, "timer Trying"): State.PROCEEDING,  # 100 (Trying) after 200 ms of TU silence
    (State.PROCEEDING, "1xx"): State.PROCEEDING,
    (State.PROCEEDING, "2xx"): State.ACCEPTED,
    (State.PROCEEDING, "3xx-6xx"): State.COMPLETED,
    (State.PROCEEDING, "transport error"): State.TERMINATED,
    (State.COMPLETED, "request"): State.COMPLETED,  # resend the final response
    (State.COMPLETED, "timer G"): State.COMPLETED,
    (State.COMPLETED, "ACK"): State.CONFIRMED,
    (State.COMPLETED, "timer H"): State.TERMINATED,
    (State.COMPLETED, "transport error"): State.TERMINATED,
    (State.CONFIRMED, "timer I"): State.TERMINATED,
    (State.ACCEPTED, "2xx"): State.ACCEPTED,  # the TU retransmits its 2xx itself (§13.3.1.4)
    (State.ACCEPTED, "ACK"): State.ACCEPTED,  # passed to the TU
    (State.ACCEPTED, "transport error"): State.ACCEPTED,  # reported; the TU owns the 2xx
    (State.ACCEPTED, "timer L"): State.TERMINATED,
}

# §17.2.2, Figure 8.
NON_INVITE_SERVER_TRANSITIONS: dict[tuple[State, str], State] = {
    (State.TRYING, "1xx"): State.PROCEEDING,
    (State.TRYING, "final"): State.COMPLETED,
    (State.TRYING, "transport error"): State.TERMINATED,
    (State.PROCEEDING, "request"): State.PROCEEDING,
    (State.PROCEEDING, "1xx"): State.PROCEEDING,
    (State.PROCEEDING, "final"): State.COMPLETED,
    (State.PROCEEDING, "transport error"): State.TERMINATED,
    (State.COMPLETED, "request"): State.COMPLETED,
    (State.COMPLETED, "transport error"): State.TERMINATED,
    (State.COMPLETED, "timer J"): State.TERMINATED,
}

_COPIED_TO_RESPONSE = ("Via", "From", "To", "Call-ID", "CSeq", "Timestamp")


def make_response(request: Request, status: int, reason: str) -> Response:
    """A stateless answer to ``request`` (§8.2.6.1): its Via, From, To, Call-ID, CSeq and Timestamp copied."""
    headers = Headers()
    for header in request.headers:
        if header.key in {name.lower() for name in _COPIED_TO_RESPONSE}:
            headers.add(header.name, header.value)
    headers.add("Content-Length", "0")
    return Response(headers=headers, status=status, reason=reason, version=request.version)


class ServerTransaction(Transaction):
    """Common part: the first ``receive_request`` passes the request up; later ones are retransmissions (or ACK)."""

    is_client = False
    TRANSITIONS: ClassVar[dict[tuple[State, str], State]]

    def __init__(self, request: Request, *, reliable: bool = False, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        super().__init__(request, reliable=reliable, timers=timers)
        self._received = False
        self.provisional: Response | None = None  # the latest provisional response from the TU
        self.final: Response | None = None

    def receive_request(self, request: Request, now: float) -> list[Action]:
        """The request that created the transaction (first call), a retransmission of it, or the ACK."""
        actions = self.tick(now)
        if self.terminated:
            return actions
        if not self._received:
            if request.method == "ACK":
                raise TransactionError("a server transaction starts with its request, not an ACK")
            self._received = True
            self._on_start(self._now)
            return [*actions, PassToTU(request)]
        event = "ACK" if request.method == "ACK" else "request"
        return actions + self._step(event, self._now, request)

    def send_response(self, response: Response, now: float) -> list[Action]:
        """A response from the TU."""
        if not self._received:
            raise TransactionError("no request to answer yet")
        actions = self.tick(now)
        if self.terminated:
            return actions
        return actions + self._step(self._event_of(response), self._now, response)

    def transport_error(self, now: float) -> list[Action]:
        actions = self.tick(now)
        if self.terminated or not self._received:
            return actions
        return actions + self._step("transport error", self._now, None)

    def _on_timer(self, name: str, now: float) -> list[Action]:
        return self._step(f"timer {name}", now, None)

    def _step(self, event: str, now: float, message: Request | Response | None) -> list[Action]:
        target = self.TRANSITIONS.get((self.state, event))
        if target is None:
            return []  # absorbed
        previous, self.state = self.state, target
        return self._enter(previous, event, now, message)

    @abstractmethod
    def _event_of(self, response: Response) -> str: ...

    def _on_start(self, now: float) -> None:
        pass

    @abstractmethod
    def _enter(self, previous: State, event: str, now: float, message: Request | Response | None) -> list[Action]: ...

    def _latest(self) -> list[Action]:
        response = self.final or self.provisional
        return [Transmit(response)] if response is not None else []


class InviteServerTransaction(ServerTransaction):
    """§17.2.1 with RFC 6026: Proceeding → Completed → Confirmed | Accepted → Terminated; Timers G, H, I, L and
    the 200 ms 100 (Trying) timer."""

    is_invite = True
    TRANSITIONS = INVITE_SERVER_TRANSITIONS
    _TIMER_ORDER: ClassVar[dict[str, int]] = {**Transaction._TIMER_ORDER, "Trying": 3}

    def __init__(self, request: Request, *, reliable: bool = False, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        if request.method != "INVITE":
            raise TransactionError("an INVITE server transaction needs an INVITE")
        super().__init__(request, reliable=reliable, timers=timers)
        self.state = State.PROCEEDING

    def _event_of(self, response: Response) -> str:
        if response.status < 200:
            return "1xx"
        return "2xx" if response.status < 300 else "3xx-6xx"

    def _on_start(self, now: float) -> None:
        self._start_timer("Trying", now, self.timers.trying_delay)

    def _enter(self, previous: State, event: str, now: float, message: Request | Response | None) -> list[Action]:
        if event == "timer Trying":
            self.provisional = make_response(self.request, 100, "Trying")
            return [Transmit(self.provisional)]
        if event == "timer G":
            # §17.2.1: retransmit, doubling the interval up to T2.
            self._start_timer("G", now, min(2 * self._intervals["G"], self.timers.t2))
            return self._latest()
        if event == "timer H":
            return [TimeoutToTU("H"), *self._terminate()]
        if event in ("timer I", "timer L"):
            return self._terminate()
        if event == "transport error":
            if self.state is State.ACCEPTED:
                return [TransportErrorToTU()]
            return [TransportErrorToTU(), *self._terminate()]
        if event == "request":
            return self._latest()
        if event == "ACK":
            if self.state is State.ACCEPTED:
                assert isinstance(message, Request)
                return [PassToTU(message)]
            # Completed → Confirmed: stop retransmitting, absorb further ACKs for T4 (§17.2.1).
            self._stop_timers("G", "H")
            return self._wait_then_terminate("I", now, 0.0 if self.reliable else self.timers.t4)
        assert isinstance(message, Response)
        self._stop_timers("Trying")
        if event == "1xx":
            self.provisional = message
            return [Transmit(message)]
        self.final = message
        if event == "2xx":
            if previous is not State.ACCEPTED:
                self._start_timer("L", now, self.timers.transaction_timeout)
            return [Transmit(message)]
        if not self.reliable:
            self._start_timer("G", now, self.timers.t1)
        self._start_timer("H", now, self.timers.transaction_timeout)
        return [Transmit(message)]


class NonInviteServerTransaction(ServerTransaction):
    """§17.2.2: Trying → Proceeding → Completed → Terminated; Timer J."""

    is_invite = False
    TRANSITIONS = NON_INVITE_SERVER_TRANSITIONS

    def __init__(self, request: Request, *, reliable: bool = False, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} does not make a non-INVITE server transaction")
        super().__init__(request, reliable=reliable, timers=timers)
        self.state = State.TRYING

    def _event_of(self, response: Response) -> str:
        return "1xx" if response.status < 200 else "final"

    def _enter(self, previous: State, event: str, now: float, message: Request | Response | None) -> list[Action]:
        if event == "timer J":
            return self._terminate()
        if event == "transport error":
            return [TransportErrorToTU(), *self._terminate()]
        if event == "request":
            return self._latest()
        assert isinstance(message, Response)
        if event == "1xx":
            self.provisional = message
            return [Transmit(message)]
        self.final = message
        return [
            Transmit(message),
            *self._wait_then_terminate("J", now, 0.0 if self.reliable else self.timers.transaction_timeout),
        ]
