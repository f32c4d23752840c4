"""What the four transaction state machines share: the transaction key (RFC 3261 §17.1.3, §17.2.3), the timer
bookkeeping behind ``next_deadline()``/``tick(now)``, and the clock rule.

The clock is whatever float the driver passes as ``now`` (seconds). Every method first fires the timers that are due
by ``now`` (so a driver that is late with ``tick`` gets the same result as a punctual one), and ``now`` never goes
backwards: an earlier value is read as the latest one seen. Once Terminated, a transaction emits nothing more.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from centrex.sip.message.model import Request, Response
from centrex.sip.transaction._fields import MAGIC_COOKIE, addr_uri, cseq, tag, top_via, top_via_raw
from centrex.sip.transaction.actions import Action, Terminated
from centrex.sip.transaction.timers import DEFAULT_TIMERS, TimerConfig


class TransactionError(ValueError):
    """A request that cannot start a transaction (no Via branch, no CSeq), or a TU call out of order."""


class State(StrEnum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"  # RFC 6026 §7.1, §7.2
    TERMINATED = "Terminated"


def new_branch() -> str:
    """A fresh RFC 3261 branch: the magic cookie and 128 random bits (§8.1.1.7)."""
    return MAGIC_COOKIE + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class TransactionKey:
    """Identifies a transaction. Client side (§17.1.3): ``branch`` + CSeq method, ``sent_by`` empty. Server side
    (§17.2.3): ``branch`` + ``sent_by`` of the top Via + method, ACK counted as INVITE. For a request without the
    magic cookie (RFC 2543 peers) ``branch`` is a synthetic value made of the fields §17.2.3 compares."""

    branch: str
    method: str
    sent_by: str = ""

    @classmethod
    def client(cls, message: Request | Response) -> TransactionKey:
        """The key of the client transaction that sent ``message`` (a request) or that a response belongs to."""
        via = top_via(message.headers)
        numbered = cseq(message.headers)
        if via is None or via.branch is None or numbered is None:
            raise TransactionError("no Via branch or CSeq")
        method = numbered[1]
        if isinstance(message, Request) and message.method != method:
            raise TransactionError("CSeq method differs from the request method")
        return cls(via.branch, method)

    @classmethod
    def server(cls, request: Request) -> TransactionKey:
        """The key of the server transaction ``request`` belongs to (an ACK belongs to its INVITE's)."""
        via = top_via(request.headers)
        numbered = cseq(request.headers)
        if via is None or numbered is None:
            raise TransactionError("no Via or CSeq")
        method = "INVITE" if request.method == "ACK" else request.method
        if via.branch is not None and via.branch.startswith(MAGIC_COOKIE):
            return cls(via.branch, method, via.sent_by)
        # §17.2.3, RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number and top Via identify it. The To tag
        # is left out so that the ACK (which carries the tag of our response) meets its INVITE.
        parts = (
            addr_uri(request.uri),
            tag(request.headers.get("From")) or "",
            request.headers.get("Call-ID") or "",
            str(numbered[0]),
            " ".join((top_via_raw(request.headers) or "").split()),
        )
        return cls("rfc2543|" + "|".join(parts), method, via.sent_by)


_NEVER = float("inf")


class Transaction(ABC):
    """Base of the four state machines: ``key``, ``state``, ``request``, ``reliable`` and the timers."""

    is_invite: ClassVar[bool]
    is_client: ClassVar[bool]
    # Timers that end the transaction fire before a retransmission timer due at the same instant.
    _TIMER_ORDER: ClassVar[dict[str, int]] = {"B": 0, "F": 0, "H": 0, "L": 0, "M": 0, "D": 1, "I": 1, "J": 1, "K": 1}

    def __init__(self, request: Request, *, reliable: bool = False, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.key = TransactionKey.client(request) if self.is_client else TransactionKey.server(request)
        self.state: State = State.TRYING
        self._now = -_NEVER
        self._deadlines: dict[str, float] = {}
        self._intervals: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key.method} {self.key.branch} {self.state.value}>"

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do (``None``: nothing scheduled)."""
        return min(self._deadlines.values(), default=None)

    def tick(self, now: float) -> list[Action]:
        """Fire every timer due by ``now``, earliest first."""
        now = self._clock(now)
        actions: list[Action] = []
        while not self.terminated and self._deadlines:
            name, deadline = min(self._deadlines.items(), key=lambda item: (item[1], self._TIMER_ORDER.get(item[0], 2)))
            if deadline > now:
                break
            del self._deadlines[name]
            actions.extend(self._on_timer(name, now))
        return actions

    @abstractmethod
    def transport_error(self, now: float) -> list[Action]:
        """The transport failed to send one of our messages (§17.1.4, §17.2.4)."""

    # -- for the subclasses ---------------------------------------------------------------------------------------

    def _clock(self, now: float) -> float:
        self._now = max(self._now, now)
        return self._now

    def _start_timer(self, name: str, now: float, interval: float) -> None:
        self._intervals[name] = interval
        self._deadlines[name] = now + interval

    def _stop_timers(self, *names: str) -> None:
        for name in names:
            self._deadlines.pop(name, None)

    def _wait_then_terminate(self, name: str, now: float, interval: float) -> list[Action]:
        """Start a wait timer (D, I, J, K) or, when it is zero as on reliable transports, terminate right away."""
        if interval <= 0:
            return self._terminate()
        self._start_timer(name, now, interval)
        return []

    def _terminate(self) -> list[Action]:
        self.state = State.TERMINATED
        self._deadlines.clear()
        return [Terminated()]

    @abstractmethod
    def _on_timer(self, name: str, now: float) -> list[Action]: ...
